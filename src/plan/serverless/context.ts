/** Shared planning plumbing: input validation, the default grid, plan assembly. */
import { AppSchema, type App } from '../../model/app.ts';
import { HetserveError, badField } from '../../model/errors.ts';
import type { Plan, PlanGroup } from '../../model/plan.ts';
import type { ServerlessProfile } from '../../model/profile.ts';
import { parseWith } from '../../model/validate.ts';
import { cpuMaxBatch } from '../../predict/latency.ts';
import { Predictor, type FunctionChoice, type GroupInput } from '../../predict/predictor.ts';
import { planCache } from './plan-cache.ts';
import type { ConfigGrid, PlanContext, PlannedGroup, ServerlessPlanOptions } from './types.ts';
import { outsideRange, planWarnings } from './warnings.ts';
import { nowMs } from './clock.ts';

/** vCPU grid lo, lo+step, … ≤ hi as exact two-decimal numbers (the prototype rounds them; RAM rounding depends on it). */
export function vcpuGrid(lo = 0.05, hi = 16, step = 0.05): number[] {
  const out: number[] = [];
  const n = Math.floor((hi - lo) / step + 1e-9);
  for (let k = 0; k <= n; k++) out.push(Math.round((lo + k * step) * 100) / 100);
  return out;
}

const DEFAULT_CPU_VCPUS = vcpuGrid();
const DEFAULT_GPU_MEMS = Array.from({ length: 24 }, (_, i) => i + 1);

/** The paper's search space: vCPU 0.05..16 step 0.05 × b 1..4; GPU 1..24 GB × b 1..32. */
export function defaultGrid(overrides: Partial<ConfigGrid> = {}): ConfigGrid {
  const g: ConfigGrid = {
    cpuVcpus: overrides.cpuVcpus ? [...overrides.cpuVcpus].sort((a, b) => a - b) : DEFAULT_CPU_VCPUS,
    cpuBatchMax: overrides.cpuBatchMax ?? 4,
    gpuMemoriesGb: overrides.gpuMemoriesGb
      ? [...overrides.gpuMemoriesGb].sort((a, b) => a - b)
      : DEFAULT_GPU_MEMS,
    gpuBatchMax: overrides.gpuBatchMax ?? 32,
  };
  const check = (field: string, ok: boolean, value: unknown, why: string) => {
    if (!ok) throw badField('E_INVALID_OPTION', field, value, why);
  };
  check(
    'grid.cpuVcpus',
    g.cpuVcpus.every((v) => Number.isFinite(v) && v > 0),
    g.cpuVcpus,
    'must be positive numbers',
  );
  check(
    'grid.cpuBatchMax',
    Number.isInteger(g.cpuBatchMax) && g.cpuBatchMax >= 1,
    g.cpuBatchMax,
    'must be an integer >= 1',
  );
  check(
    'grid.gpuMemoriesGb',
    g.gpuMemoriesGb.every((v) => Number.isInteger(v) && v >= 1),
    g.gpuMemoriesGb,
    'must be integers >= 1',
  );
  check(
    'grid.gpuBatchMax',
    Number.isInteger(g.gpuBatchMax) && g.gpuBatchMax >= 1,
    g.gpuBatchMax,
    'must be an integer >= 1',
  );
  return g;
}

/** GroupInput (SLOs, rates) of SLO-sorted apps. */
export function groupInput(apps: readonly App[]): GroupInput {
  return { slos: apps.map((a) => a.slo), rates: apps.map((a) => a.rps) };
}

/**
 * Lowest maximum latency any configuration of the grid reaches (batch 1 is always fastest),
 * or Infinity when the profile allows none.
 */
export function lowestLatency(predictor: Predictor, grid: ConfigGrid): number {
  const cache = planCache(predictor, grid);
  if (cache.lowestLatency !== undefined) return cache.lowestLatency;
  let best = Infinity;
  const p = predictor.profile;
  if (p.cpu && cpuMaxBatch(p) >= 1) {
    for (const c of grid.cpuVcpus) {
      const fn: FunctionChoice = { kind: 'cpu', vcpu: c };
      if (predictor.resources(fn, 1)) best = Math.min(best, predictor.maxLatency(fn, 1));
    }
  }
  if (p.gpu) {
    for (const m of grid.gpuMemoriesGb) {
      const fn: FunctionChoice = { kind: 'gpu', gpuMemoryGb: m };
      if (predictor.resources(fn, 1)) best = Math.min(best, predictor.maxLatency(fn, 1));
    }
  }
  cache.lowestLatency = best;
  return best;
}

/**
 * Validate apps and options and build the planning context. Errors: E_APPS_EMPTY,
 * E_APP_INVALID (field + value), E_APP_DUPLICATE, E_SLO_UNREACHABLE (app + lowest latency reachable).
 * Apps with rate 0 are left out (listed in `excluded`).
 */
export function preparePlanning(
  apps: readonly unknown[],
  profile: ServerlessProfile,
  options: ServerlessPlanOptions = {},
): PlanContext {
  const startedAt = nowMs();
  if (!Array.isArray(apps) || apps.length === 0) {
    throw new HetserveError('E_APPS_EMPTY', 'apps: no applications given', { field: 'apps', value: apps });
  }
  const parsed: App[] = apps.map((a, i) => parseWith(AppSchema, a, 'E_APP_INVALID', `apps[${i}]`));
  const seen = new Set<string>();
  for (const [i, a] of parsed.entries()) {
    if (seen.has(a.name)) {
      throw badField('E_APP_DUPLICATE', `apps[${i}].name`, a.name, 'duplicate application name');
    }
    seen.add(a.name);
  }
  const excluded = parsed
    .filter((a) => a.rps === 0)
    .map((a) => ({ app: a.name, reason: 'rate is 0 req/s: nothing to serve' }));
  const active = parsed.filter((a) => a.rps > 0).sort((x, y) => x.slo - y.slo || (x.name < y.name ? -1 : 1));
  const predictor = new Predictor(profile, {
    prices: options.prices,
    compat: options.compat,
    gpuMaxOverhead: options.gpuMaxOverhead,
    costModel: options.costModel,
  });
  const grid = withinFitRange(defaultGrid(options.grid), profile, options.extrapolate ?? false);
  if (active.length > 0) {
    const lowest = lowestLatency(predictor, grid);
    const tight = active[0];
    if (tight.slo < lowest) {
      throw new HetserveError(
        'E_SLO_UNREACHABLE',
        `app ${JSON.stringify(tight.name)}: SLO ${tight.slo} s is below the lowest latency any ${profile.name} configuration reaches (${lowest.toFixed(4)} s)`,
        { field: 'slo', value: tight.slo, app: tight.name, lowestLatency: lowest },
      );
    }
  }
  return { apps: active, inputApps: parsed, excluded, profile, predictor, grid, options, startedAt };
}

/**
 * The vCPU grid cut to the profile's `cpu.fitRange` (the curves are measurements there, guesses
 * outside), unless `extrapolate`. A range narrower than the grid's step keeps its two ends.
 */
export function withinFitRange(
  grid: ConfigGrid,
  profile: ServerlessProfile,
  extrapolate: boolean,
): ConfigGrid {
  const range = profile.cpu?.fitRange;
  if (!range || extrapolate) return grid;
  const inside = grid.cpuVcpus.filter((v) => !outsideRange(v, range));
  return { ...grid, cpuVcpus: inside.length > 0 ? inside : [...new Set(range)] };
}

/** Turn an evaluated group into the Plan's group record. */
export function toPlanGroup(group: PlannedGroup, totalRate: number): PlanGroup {
  const ev = group.evaluation;
  if (!ev.function) throw new HetserveError('E_INTERNAL', 'planned group has no function');
  const timeouts: Record<string, number> = {};
  const slack: Record<string, number> = {};
  group.apps.forEach((a, i) => {
    timeouts[a.name] = Math.max(0, ev.timeouts[i]);
    slack[a.name] = ev.slack[i];
  });
  const share = totalRate > 0 ? ev.rate / totalRate : 0;
  return {
    apps: group.apps.map((a) => a.name),
    function: ev.function,
    batchSize: ev.batchSize,
    timeouts,
    costPerRequest: ev.costPerRequest,
    trafficShare: Math.min(1, share),
    weightedCost: ev.costPerRequest * share,
    rps: ev.rate,
    latency: { avg: ev.latency.avg, max: ev.latency.max },
    slack,
  };
}

/** Assemble the Plan: groups in SLO order, total = Σ cost × traffic share, caveats in `warnings`. */
export function finishPlan(ctx: PlanContext, algorithm: string, groups: PlannedGroup[]): Plan {
  const totalRate = ctx.apps.reduce((s, a) => s + a.rps, 0);
  const planGroups = groups.map((g) => {
    const pg = toPlanGroup(g, totalRate);
    const expected = ctx.predictor.expectedCost(g.evaluation);
    return Number.isFinite(expected) ? { ...pg, expectedCostPerRequest: expected } : pg;
  });
  const warnings = planWarnings(ctx.profile, planGroups);
  return {
    kind: 'serverless-plan',
    algorithm,
    model: ctx.profile.name,
    priceTable: ctx.predictor.prices.name,
    currency: ctx.predictor.prices.currency,
    compat: ctx.predictor.compat,
    totalCostPerRequest: planGroups.reduce((s, g) => s + g.weightedCost, 0),
    groups: planGroups,
    excluded: ctx.excluded,
    apps: ctx.inputApps.map((a) => ({
      name: a.name,
      slo: a.slo,
      rps: a.rps,
    })),
    planningMs: nowMs() - ctx.startedAt,
    // Absent when empty so that plans of profiles without caveats are unchanged.
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
