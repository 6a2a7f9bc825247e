/**
 * `mbs`: the MBS+ baseline (harmonybatch design §7). For k = 1..n it splits the total traffic into k
 * equal slices, walking the apps in SLO order and cutting an app across two groups when its traffic
 * straddles a boundary; each group is provisioned by Bayesian optimisation (gp.ts), separately on
 * CPU (vCPU × batch 1..4) and on GPU (GPU memory × batch 1..32), keeping the cheaper; the cheapest k
 * wins. Every evaluation goes through `Predictor.evaluate`, so the constraints and costs are the
 * same as every other planner's.
 *
 * Paper-correct by default: a group whose optimiser found no feasible point makes that k
 * infeasible. Under compat 'prototype' the prototype's quirk applies instead: the best point's
 * function is used with batch 1 and timeout 0 even if that breaks the SLO (the plan then shows a
 * negative slack).
 *
 * An app split across groups appears in each of them; the group's `appRps` says how much of its
 * traffic each group serves.
 */
import type { App } from '../../model/app.ts';
import { HetserveError, badField } from '../../model/errors.ts';
import type { Plan } from '../../model/plan.ts';
import type { ServerlessProfile } from '../../model/profile.ts';
import { cpuMaxBatch } from '../../predict/latency.ts';
import { type FunctionChoice, type GroupEvaluation } from '../../predict/predictor.ts';
import { finishPlan, groupInput, preparePlanning } from './context.ts';
import { bayesOpt, type BayesOptOptions } from '../../optimize/gp.ts';
import { registerPlanner } from './registry.ts';
import type { PlanContext, PlannedGroup, ServerlessPlanOptions, ServerlessPlanner } from './types.ts';
import { nowMs } from './clock.ts';

export interface MbsPlanOptions extends ServerlessPlanOptions {
  /** Random points per optimisation before the surrogate is used. Default 5. */
  initPoints?: number;
  /** Surrogate-guided evaluations per optimisation. Default 10. */
  iterations?: number;
  /** Largest number of groups k tried. Default: the number of apps (k = 1..n, as MBS does). */
  maxGroups?: number;
  /**
   * Stop trying larger k once this many ms have passed (k = 1 always runs). Default: no limit.
   * With a limit the result depends on the machine's speed; without one it depends only on `seed`.
   */
  timeBudgetMs?: number;
}

/** One split: the pieces of apps each group serves, in SLO order. */
export type TrafficSplit = App[][];

/**
 * Split the SLO-ordered apps into k groups of (nearly) equal traffic R/k. An app whose rate
 * straddles a boundary is cut into pieces (same name, partial rate). Pieces smaller than
 * `tolerance` are not created: the remainder joins the current group instead. Returns fewer than k
 * groups only when there are fewer apps' worth of traffic pieces than that (never for k ≤ n).
 */
export function evenTrafficSplit(apps: readonly App[], k: number, tolerance?: number): TrafficSplit {
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`evenTrafficSplit: k must be an integer >= 1 (got ${k})`);
  const total = apps.reduce((s, a) => s + a.rps, 0);
  const tol = tolerance ?? total * 1e-9;
  const share = total / k;
  const groups: App[][] = [[]];
  let room = share;
  for (const a of apps) {
    let left = a.rps;
    while (left > tol) {
      if (room <= tol && groups.length < k) {
        groups.push([]);
        room = share;
      }
      let take = groups.length === k ? left : Math.min(left, room);
      if (left - take <= tol) take = left;
      groups[groups.length - 1].push({ ...a, rps: take });
      left -= take;
      room -= take;
    }
  }
  return groups.filter((g) => g.length > 0);
}

interface KindSearch {
  fn: (x: number[]) => FunctionChoice;
  bounds: Array<[number, number]>;
  project: (x: number[]) => number[];
  /** Grid points [index, batch] of functions that can exist (memory rules hold). */
  domain: number[][];
}

function kindSearches(ctx: PlanContext): KindSearch[] {
  const out: KindSearch[] = [];
  const p = ctx.profile;
  const g = ctx.grid;
  const round = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));
  if (p.cpu && g.cpuVcpus.length > 0) {
    const bMax = Math.min(g.cpuBatchMax, cpuMaxBatch(p));
    const last = g.cpuVcpus.length - 1;
    // x = [index into the vCPU grid, batch]: the optimiser works on grid indices.
    out.push({
      fn: (x) => ({ kind: 'cpu', vcpu: g.cpuVcpus[x[0]] }),
      bounds: [
        [0, last],
        [1, bMax],
      ],
      project: (x) => [round(x[0], 0, last), round(x[1], 1, bMax)],
      domain: [],
    });
  }
  if (p.gpu && g.gpuMemoriesGb.length > 0) {
    const last = g.gpuMemoriesGb.length - 1;
    out.push({
      fn: (x) => ({ kind: 'gpu', gpuMemoryGb: g.gpuMemoriesGb[x[0]] }),
      bounds: [
        [0, last],
        [1, g.gpuBatchMax],
      ],
      project: (x) => [round(x[0], 0, last), round(x[1], 1, g.gpuBatchMax)],
      domain: [],
    });
  }
  for (const s of out) {
    for (let i = s.bounds[0][0]; i <= s.bounds[0][1]; i++) {
      for (let b = s.bounds[1][0]; b <= s.bounds[1][1]; b++) {
        if (ctx.predictor.resources(s.fn([i, b]), b)) s.domain.push([i, b]);
      }
    }
  }
  return out.filter((s) => s.domain.length > 0);
}

/** Provision one group by Bayesian optimisation per function kind; null when nothing feasible was found. */
function provisionGroup(
  ctx: PlanContext,
  searches: KindSearch[],
  apps: App[],
  bo: BayesOptOptions,
  seed: number,
): GroupEvaluation | null {
  const group = groupInput(apps);
  const pr = ctx.predictor;
  let best: GroupEvaluation | null = null;
  let fallback: GroupEvaluation | null = null;
  searches.forEach((s, kindIdx) => {
    const seen = new Map<string, GroupEvaluation>();
    const evalAt = (x: number[]) => {
      const key = `${x[0]},${x[1]}`;
      let ev = seen.get(key);
      if (!ev) {
        ev = pr.evaluate(group, s.fn(x), x[1]);
        seen.set(key, ev);
      }
      return ev;
    };
    const r = bayesOpt(
      (x) => {
        const ev = evalAt(x);
        return ev.feasible ? -ev.costPerRequest : -Infinity;
      },
      s.bounds,
      { ...bo, project: s.project, domain: s.domain, seed: (seed * 31 + kindIdx) | 0 },
    );
    if (Number.isFinite(r.best.y)) {
      const ev = evalAt(r.best.x);
      if (!best || ev.costPerRequest < best.costPerRequest) best = ev;
    } else if (pr.compat === 'prototype') {
      // The prototype's quirk: batch 1, timeout 0 on the best point's function, SLO unchecked.
      const fn = s.fn(r.best.x);
      const ev = pr.evaluate(group, fn, 1, { timeouts: apps.map(() => 0) });
      if (Number.isFinite(ev.costPerRequest) && (!fallback || ev.costPerRequest < fallback.costPerRequest)) {
        fallback = ev;
      }
    }
  });
  return best ?? fallback;
}

export interface MbsResult {
  plan: Plan;
  /** Number of groups of the chosen split. */
  k: number;
  /** Total cost per request of every k tried (Infinity: some group had no feasible point). */
  costByK: number[];
  /** Bayesian-optimisation runs made. */
  optimisations: number;
}

/** MBS on a prepared context. */
export function mbsOnContext(ctx: PlanContext, options: MbsPlanOptions = {}): MbsResult {
  const n = ctx.apps.length;
  const maxGroups = options.maxGroups ?? n;
  if (!Number.isInteger(maxGroups) || maxGroups < 1) {
    throw badField('E_INVALID_OPTION', 'maxGroups', maxGroups, 'must be an integer >= 1');
  }
  const budget = options.timeBudgetMs ?? Infinity;
  if (!(budget > 0)) throw badField('E_INVALID_OPTION', 'timeBudgetMs', budget, 'must be a number > 0');
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw badField('E_INVALID_OPTION', 'seed', seed, 'must be an integer');
  const bo: BayesOptOptions = { initPoints: options.initPoints ?? 5, iterations: options.iterations ?? 10 };
  for (const f of ['initPoints', 'iterations'] as const) {
    const v = bo[f]!;
    if (!Number.isInteger(v) || v < (f === 'initPoints' ? 1 : 0)) {
      throw badField('E_INVALID_OPTION', f, v, `must be an integer >= ${f === 'initPoints' ? 1 : 0}`);
    }
  }
  const searches = kindSearches(ctx);
  const totalRate = ctx.apps.reduce((s, a) => s + a.rps, 0);
  const started = nowMs();
  const costByK: number[] = [];
  let best: { k: number; cost: number; groups: PlannedGroup[] } | null = null;
  let optimisations = 0;
  // Prototype: the 0.01 req/s slack of its partitioning; paper: only float noise.
  const tolerance = ctx.predictor.compat === 'prototype' ? 0.01 : undefined;
  for (let k = 1; k <= Math.min(n, maxGroups); k++) {
    if (k > 1 && nowMs() - started > budget) break;
    const split = evenTrafficSplit(ctx.apps, k, tolerance);
    const groups: PlannedGroup[] = [];
    let cost = 0;
    for (const [g, apps] of split.entries()) {
      optimisations += searches.length;
      const ev = provisionGroup(ctx, searches, apps, bo, seed * 1_000_003 + k * 1009 + g);
      if (!ev) {
        cost = Infinity;
        break;
      }
      groups.push({ apps, evaluation: ev });
      cost += (ev.costPerRequest * ev.rate) / totalRate;
    }
    costByK.push(cost);
    if (Number.isFinite(cost) && (!best || cost < best.cost)) best = { k, cost, groups };
  }
  if (n > 0 && !best) {
    throw new HetserveError(
      'E_SLO_UNREACHABLE',
      `mbs: Bayesian optimisation found no feasible configuration for some group at every k = 1..${costByK.length}`,
      {
        field: 'apps',
        value: ctx.apps.map((a) => a.name),
        hint: 'try more iterations, or another algorithm',
      },
    );
  }
  const plan = finishPlan(ctx, 'mbs', best?.groups ?? []);
  // Record the per-app share of split apps (the plan's timeouts are keyed by name).
  plan.groups.forEach((pg, i) => {
    const apps = best!.groups[i].apps;
    const full = new Map(ctx.apps.map((a) => [a.name, a.rps]));
    if (apps.some((a) => a.rps !== full.get(a.name))) {
      pg.appRps = Object.fromEntries(apps.map((a) => [a.name, a.rps]));
    }
  });
  return { plan, k: best?.k ?? 0, costByK, optimisations };
}

/** `plan(apps, profile, { algorithm: 'mbs' })` without the registry. */
export function planMbs(
  apps: readonly unknown[],
  profile: ServerlessProfile,
  options: MbsPlanOptions = {},
): Plan {
  return mbsOnContext(preparePlanning(apps, profile, options), options).plan;
}

export const mbsPlanner: ServerlessPlanner = {
  name: 'mbs',
  description:
    'MBS+ baseline: even traffic split into k groups, each provisioned by seeded Bayesian optimisation',
  plan: (apps, profile, options) => planMbs(apps, profile, options),
};

registerPlanner(mbsPlanner);
