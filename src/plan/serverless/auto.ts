/**
 * `auto` (the default algorithm): the cheapest plan among `harmony` and the exact optimum that fits
 * in a time budget. Harmony always runs first (milliseconds); then the exact optimum over
 * SLO-contiguous groups (O(n²) groups); then, when the app count is ≤ `exactMaxApps` (default 12),
 * the exact optimum over all set partitions. A search still running when the budget is spent is
 * dropped. The plan with the lowest total cost per request under the model wins (ties keep
 * harmony), so `auto` is never worse than `harmony` under the same model.
 *
 * The plan's `algorithm` is 'auto:<winner>' ('auto:harmony', 'auto:optimal',
 * 'auto:optimal-contiguous').
 */
import type { Plan } from '../../model/plan.ts';
import type { ServerlessProfile } from '../../model/profile.ts';
import { badField } from '../../model/errors.ts';
import { finishPlan, preparePlanning } from './context.ts';
import { runHarmony } from './harmony.ts';
import {
  DEFAULT_EXACT_MAX_APPS,
  OptimalDeadlineError,
  optimalOnContext,
  type OptimalPlanOptions,
} from './optimal.ts';
import { registerPlanner } from './registry.ts';
import type { PlanContext, ServerlessPlanner } from './types.ts';
import { nowMs } from './clock.ts';

/** Default time budget of `auto`, ms (the `optimal` 12-app target). */
export const DEFAULT_AUTO_BUDGET_MS = 2000;

export interface AutoPlanOptions extends OptimalPlanOptions {
  /**
   * Wall-clock budget, ms, for the whole call (validation included). Harmony always completes; an
   * exact search still running when the budget runs out is abandoned. Default 2000.
   */
  timeBudgetMs?: number;
}

export interface AutoCandidate {
  algorithm: string;
  /** Total cost per request; undefined when the search did not finish in time. */
  totalCostPerRequest?: number;
  ms: number;
  status: 'done' | 'timed-out';
}

export interface AutoResult {
  plan: Plan;
  /** What was tried, in order. */
  candidates: AutoCandidate[];
}

/** `auto` on a prepared context. */
export function autoOnContext(ctx: PlanContext, options: AutoPlanOptions = {}): AutoResult {
  const budget = options.timeBudgetMs ?? DEFAULT_AUTO_BUDGET_MS;
  if (typeof budget !== 'number' || !(budget > 0)) {
    throw badField('E_INVALID_OPTION', 'timeBudgetMs', budget, 'must be a number > 0 (ms)');
  }
  const deadline = ctx.startedAt + budget;
  const candidates: AutoCandidate[] = [];
  let t0 = nowMs();
  let best = finishPlan(ctx, 'harmony', runHarmony(ctx).groups);
  candidates.push({
    algorithm: 'harmony',
    totalCostPerRequest: best.totalCostPerRequest,
    ms: nowMs() - t0,
    status: 'done',
  });
  // Contiguous first: it is cheap (O(n²) groups) and leaves a good plan if the exponential search
  // then runs out of time.
  const modes: Array<'all-partitions' | 'contiguous'> = [];
  const wantsExact = (options.partitions ?? 'auto') !== 'contiguous';
  if (options.partitions !== 'all-partitions') modes.push('contiguous');
  if (wantsExact && ctx.apps.length <= (options.exactMaxApps ?? DEFAULT_EXACT_MAX_APPS))
    modes.push('all-partitions');
  for (const partitions of modes) {
    t0 = nowMs();
    try {
      const r = optimalOnContext(ctx, { ...options, partitions }, deadline);
      candidates.push({
        algorithm: r.plan.algorithm,
        totalCostPerRequest: r.plan.totalCostPerRequest,
        ms: nowMs() - t0,
        status: 'done',
      });
      if (r.plan.totalCostPerRequest < best.totalCostPerRequest) best = r.plan;
    } catch (e) {
      if (!(e instanceof OptimalDeadlineError)) throw e;
      candidates.push({
        algorithm: partitions === 'contiguous' ? 'optimal-contiguous' : 'optimal',
        ms: nowMs() - t0,
        status: 'timed-out',
      });
    }
  }
  const plan: Plan = {
    ...best,
    algorithm: `auto:${best.algorithm}`,
    planningMs: nowMs() - ctx.startedAt,
  };
  return { plan, candidates };
}

/** `plan(apps, profile, { algorithm: 'auto' })` without the registry. */
export function planAuto(
  apps: readonly unknown[],
  profile: ServerlessProfile,
  options: AutoPlanOptions = {},
): Plan {
  return autoOnContext(preparePlanning(apps, profile, options), options).plan;
}

export const autoPlanner: ServerlessPlanner = {
  name: 'auto',
  description:
    'best of harmony and the exact optimum (all partitions ≤ 12 apps, else contiguous) within a time budget',
  plan: (apps, profile, options) => planAuto(apps, profile, options),
};

registerPlanner(autoPlanner);
