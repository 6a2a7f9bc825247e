/**
 * `optimal`: the true minimum of Eq. 7 under the model (harmonybatch design §3).
 *
 * - Up to `exactMaxApps` applications (default 12): over ALL set partitions of the apps. Every
 *   non-empty subset is priced once (its cheapest feasible configuration over the full grid, see
 *   optimal-search.ts), then a subset dynamic program picks the partition: O(2^n) group searches +
 *   O(3^n) steps.
 * - Above that: the exact optimum over partitions into groups of consecutive apps in SLO order
 *   (the paper's restriction), by interval dynamic programming over the O(n²) runs.
 *
 * Both are exact for what they search. The plan reports which one ran in `algorithm`
 * ('optimal' or 'optimal-contiguous').
 */
import { HetserveError, badField } from '../../model/errors.ts';
import type { FunctionConfig, Plan } from '../../model/plan.ts';
import type { ServerlessProfile } from '../../model/profile.ts';
import type { FunctionChoice, GroupEvaluation } from '../../predict/predictor.ts';
import { equivalentTimeoutPair } from '../../predict/batching.ts';
import { finishPlan, groupInput, preparePlanning, vcpuGrid } from './context.ts';
import { GroupSearch, type SearchStats } from './optimal-search.ts';
import { MAX_SET_PARTITION_ITEMS, bestContiguousPartition, bestSetPartition } from './subset-dp.ts';
import { registerPlanner } from './registry.ts';
import type {
  ConfigGrid,
  PlanContext,
  PlannedGroup,
  ServerlessPlanOptions,
  ServerlessPlanner,
} from './types.ts';
import { nowMs } from './clock.ts';

/** Default largest app count searched over all set partitions. */
export const DEFAULT_EXACT_MAX_APPS = 12;

export interface OptimalPlanOptions extends ServerlessPlanOptions {
  /**
   * Search space. 'all-partitions': every set partition (throws E_INVALID_OPTION above
   * `exactMaxApps`); 'contiguous': groups of consecutive apps in SLO order; 'auto' (default):
   * 'all-partitions' when the app count is ≤ `exactMaxApps`, else 'contiguous'.
   */
  partitions?: 'auto' | 'all-partitions' | 'contiguous';
  /** Largest app count for the all-partitions search, 1..16. Default 12 (4095 subsets, 531 441 DP steps). */
  exactMaxApps?: number;
}

/** What the search did, for benchmarks and tests. */
export interface OptimalResult {
  plan: Plan;
  /** The search space that ran. */
  partitions: 'all-partitions' | 'contiguous';
  stats: SearchStats;
}

function resolveMode(ctx: PlanContext, options: OptimalPlanOptions): 'all-partitions' | 'contiguous' {
  const limit = options.exactMaxApps ?? DEFAULT_EXACT_MAX_APPS;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SET_PARTITION_ITEMS) {
    throw badField(
      'E_INVALID_OPTION',
      'exactMaxApps',
      limit,
      `must be an integer in 1..${MAX_SET_PARTITION_ITEMS}`,
    );
  }
  const mode = options.partitions ?? 'auto';
  const n = ctx.apps.length;
  if (mode === 'auto') return n <= limit ? 'all-partitions' : 'contiguous';
  if (mode === 'all-partitions') {
    if (n > limit) {
      throw badField(
        'E_INVALID_OPTION',
        'partitions',
        mode,
        `searches at most exactMaxApps = ${limit} apps (have ${n})`,
        {
          hint: "use partitions 'contiguous' or raise exactMaxApps (≤ 16)",
        },
      );
    }
    return mode;
  }
  if (mode === 'contiguous') return mode;
  throw badField('E_INVALID_OPTION', 'partitions', mode, "must be 'auto', 'all-partitions' or 'contiguous'");
}

/** Thrown by `optimalOnContext` when its deadline passes before the search ends. */
export class OptimalDeadlineError extends Error {
  constructor(readonly partitions: 'all-partitions' | 'contiguous') {
    super(`optimal (${partitions}): deadline passed before the search finished`);
    this.name = 'OptimalDeadlineError';
  }
}

/**
 * The exact optimum on a prepared context (used by `auto` to share validation). `deadline` is a
 * `nowMs()` instant; when it passes the search stops with `OptimalDeadlineError`.
 */
export function optimalOnContext(
  ctx: PlanContext,
  options: OptimalPlanOptions = {},
  deadline = Infinity,
): OptimalResult {
  const mode = resolveMode(ctx, options);
  let sinceCheck = 0;
  // Checking the clock every 64 groups costs nothing measurable and bounds the overrun to ~1 ms.
  const checkDeadline = () => {
    if (++sinceCheck >= 64) {
      sinceCheck = 0;
      if (nowMs() > deadline) throw new OptimalDeadlineError(mode);
    }
  };
  const search = groupSearchFor(ctx);
  const before = { ...search.stats };
  const apps = ctx.apps;
  const n = apps.length;
  const totalRate = apps.reduce((s, a) => s + a.rps, 0);
  const groups: PlannedGroup[] = [];
  if (n > 0) {
    if (mode === 'all-partitions') {
      const size = 1 << n;
      const cost = new Float64Array(size).fill(Infinity);
      // Per subset: its evaluation, or the grid point to evaluate if the subset is chosen (see
      // GroupSearch.bestOrPoint: most of the 2^n subsets are priced without one).
      const evals = new Array<GroupEvaluation | number | null>(size).fill(null);
      // Each subset's total rate and T^X of its SLOs extend those of the subset without its
      // highest app: the same additions and Eq. 5 steps, in the same order, that
      // equivalentTimeout folds over the SLO-sorted members (so the values are identical).
      const rateOf = new Float64Array(size);
      const teqOf = new Float64Array(size);
      const paper = ctx.predictor.compat === 'paper';
      const slos: number[] = [];
      const rates: number[] = [];
      const group = { slos, rates };
      let mask = 1;
      // The current subset's members, built only when the search needs them (one closure).
      const members = () => {
        slos.length = 0;
        rates.length = 0;
        for (let i = 0; i < n; i++) {
          if (mask & (1 << i)) {
            slos.push(apps[i].slo);
            rates.push(apps[i].rps);
          }
        }
        return group;
      };
      for (; mask < size; mask++) {
        checkDeadline();
        const high = 31 - Math.clz32(mask);
        const rest = mask ^ (1 << high);
        const a = apps[high];
        if (rest === 0) {
          rateOf[mask] = a.rps;
          teqOf[mask] = a.slo;
        } else {
          rateOf[mask] = rateOf[rest] + a.rps;
          teqOf[mask] = paper ? equivalentTimeoutPair(teqOf[rest], rateOf[rest], a.slo, a.rps) : 0;
        }
        const low = 31 - Math.clz32(mask & -mask);
        const count = popcount(mask);
        const rate = rateOf[mask];
        const ev = search.bestOrPoint(members, count, apps[low].slo, a.slo, rate, paper ? teqOf[mask] : 0);
        if (typeof ev === 'number') {
          evals[mask] = ev;
          // The evaluation's cost and rate: its full-batch cost and the same sum of rates.
          cost[mask] = (search.points[ev].fullBatchCost * rate) / totalRate;
        } else if (ev) {
          evals[mask] = ev;
          cost[mask] = (ev.costPerRequest * ev.rate) / totalRate;
        }
      }
      const r = bestSetPartition(n, cost);
      if (!Number.isFinite(r.cost)) throw noPlan(ctx);
      for (const chosen of r.groups) {
        const chosenApps = apps.filter((_, i) => chosen & (1 << i));
        const ev = evals[chosen]!;
        const evaluation =
          typeof ev === 'number'
            ? ctx.predictor.evaluate(groupInput(chosenApps), search.points[ev].fn, search.points[ev].batch)
            : ev;
        groups.push({ apps: chosenApps, evaluation });
      }
    } else {
      // Keep only each run's (function, batch): O(n²) full evaluations with per-app arrays would
      // cost O(n³) memory; the chosen runs are re-evaluated at the end.
      const chosen = new Map<number, [FunctionChoice, number]>();
      const r = bestContiguousPartition(n, (i, j) => {
        checkDeadline();
        const ev = search.best(groupInput(apps.slice(i, j)));
        if (!ev || !ev.function) return Infinity;
        chosen.set(i * (n + 1) + j, [choiceOf(ev.function), ev.batchSize]);
        return (ev.costPerRequest * ev.rate) / totalRate;
      });
      if (!Number.isFinite(r.cost)) throw noPlan(ctx);
      for (const [i, j] of r.groups) {
        const [fn, b] = chosen.get(i * (n + 1) + j)!;
        const members = apps.slice(i, j);
        groups.push({ apps: members, evaluation: ctx.predictor.evaluate(groupInput(members), fn, b) });
      }
    }
  }
  // Groups in SLO order of their tightest app, like every other planner's output.
  groups.sort((x, y) => x.apps[0].slo - y.apps[0].slo || (x.apps[0].name < y.apps[0].name ? -1 : 1));
  const plan = finishPlan(ctx, mode === 'all-partitions' ? 'optimal' : 'optimal-contiguous', groups);
  const stats = {
    groups: search.stats.groups - before.groups,
    scanned: search.stats.scanned - before.scanned,
    evaluations: search.stats.evaluations - before.evaluations,
  };
  return { plan, partitions: mode, stats };
}

/**
 * The grid searched: the context's, except that under compat 'prototype' with the default vCPU list
 * the prototype Harmony's CPU grid (0.05..16.95 vCPU) is used, so that every configuration the
 * prototype's harmony can pick is searched too and `optimal` ≤ `harmony` holds in that mode.
 */
export function optimalGrid(ctx: PlanContext): ConfigGrid {
  if (ctx.predictor.compat !== 'prototype' || ctx.options.grid?.cpuVcpus) return ctx.grid;
  if (ctx.profile.cpu?.fitRange && !ctx.options.extrapolate) return ctx.grid;
  return { ...ctx.grid, cpuVcpus: PROTOTYPE_VCPUS };
}
const PROTOTYPE_VCPUS = vcpuGrid(0.05, 16.95);

// One sorted grid per planning context: `auto` runs the contiguous and the all-partitions search
// on the same context, and building the grid is most of a small search's time.
const searches = new WeakMap<PlanContext, GroupSearch>();
function groupSearchFor(ctx: PlanContext): GroupSearch {
  let s = searches.get(ctx);
  if (!s) {
    s = new GroupSearch(ctx.predictor, optimalGrid(ctx));
    searches.set(ctx, s);
  }
  return s;
}

function popcount(x: number): number {
  let c = 0;
  for (; x !== 0; x &= x - 1) c++;
  return c;
}

function choiceOf(f: FunctionConfig): FunctionChoice {
  return f.kind === 'cpu' ? { kind: 'cpu', vcpu: f.vcpu } : { kind: 'gpu', gpuMemoryGb: f.gpuMemoryGb };
}

/** No partition is feasible although every SLO is above the fastest latency (e.g. memory rules). */
function noPlan(ctx: PlanContext): HetserveError {
  const search = groupSearchFor(ctx);
  const stuck = ctx.apps.find((a) => !search.best(groupInput([a]))) ?? ctx.apps[0];
  return new HetserveError(
    'E_SLO_UNREACHABLE',
    `app ${JSON.stringify(stuck.name)}: no configuration of ${ctx.profile.name} on the grid meets its SLO ${stuck.slo} s`,
    { field: 'slo', value: stuck.slo, app: stuck.name },
  );
}

/** `plan(apps, profile, { algorithm: 'optimal' })` without the registry. */
export function planOptimal(
  apps: readonly unknown[],
  profile: ServerlessProfile,
  options: OptimalPlanOptions = {},
): Plan {
  return optimalOnContext(preparePlanning(apps, profile, options), options).plan;
}

export const optimalPlanner: ServerlessPlanner = {
  name: 'optimal',
  description:
    'exact minimum of Eq. 7 under the model: all set partitions up to 12 apps, consecutive SLO-ordered groups above',
  plan: (apps, profile, options) => planOptimal(apps, profile, options),
};

/**
 * The contiguous search under its own name: the name an optimal plan records when it searched
 * SLO-consecutive groups only (by `partitions: 'contiguous'`, or above `exactMaxApps` apps), so
 * that reading a plan's `algorithm` back (re-planning, a gateway config) runs what made it.
 */
export const optimalContiguousPlanner: ServerlessPlanner = {
  name: 'optimal-contiguous',
  description:
    'the exact minimum over consecutive SLO-ordered groups only (optimal with partitions contiguous)',
  plan: (apps, profile, options) => planOptimal(apps, profile, { ...options, partitions: 'contiguous' }),
};

registerPlanner(optimalPlanner);
registerPlanner(optimalContiguousPlanner);
