/**
 * What planning derives from the model alone, computed once and reused by every later plan of the
 * same profile object, price table object, GPU overhead and grid: the configuration tables, the
 * lowest reachable latency and the knees r* per SLO. `plan()` builds a fresh Predictor per call,
 * so caching on the predictor would never hit; the profile and the bundled price tables are
 * long-lived objects. Profiles and price tables are treated as immutable once planned with.
 */
import type { PriceTable } from '../../model/prices.ts';
import type { ServerlessProfile } from '../../model/profile.ts';
import type { Predictor } from '../../predict/predictor.ts';
import type { ConfigGrid } from './types.ts';

/** Per (profile, prices, overhead, grid): lazily filled slots (see tables.ts, context.ts, harmony.ts). */
export interface PlanCache {
  /** Owned by tables.ts. */
  tables?: unknown;
  /** Owned by provision.ts (compat 'prototype' GPU tables). */
  prototypeGpu?: unknown;
  /** Owned by optimal-search.ts (the sorted grid points). */
  groupSearch?: unknown;
  /** Lowest maximum latency over the grid (context.ts). */
  lowestLatency?: number;
  /** Knee r* per `${compat}|${costModel}|${upper bound}|${slo}` (harmony.ts). */
  knees: Map<string, number>;
}

const byProfile = new WeakMap<ServerlessProfile, WeakMap<PriceTable, Map<string, PlanCache>>>();
/** Content key of a grid array, memoised on the array (the default arrays are shared module constants). */
const arrayKeys = new WeakMap<readonly number[], string>();
/** The last lookup per predictor: the planners ask many times per plan. */
const byPredictor = new WeakMap<Predictor, { grid: ConfigGrid; cache: PlanCache }>();

function arrayKey(xs: readonly number[]): string {
  let k = arrayKeys.get(xs);
  if (k === undefined) {
    k = xs.join(',');
    arrayKeys.set(xs, k);
  }
  return k;
}

/** The cache entry of a predictor's model and a grid. */
export function planCache(predictor: Predictor, grid: ConfigGrid): PlanCache {
  const last = byPredictor.get(predictor);
  if (last && last.grid === grid) return last.cache;
  let byPrices = byProfile.get(predictor.profile);
  if (!byPrices) byProfile.set(predictor.profile, (byPrices = new WeakMap()));
  let entries = byPrices.get(predictor.prices);
  if (!entries) byPrices.set(predictor.prices, (entries = new Map()));
  const key = `${predictor.gpuMaxOverhead}|${arrayKey(grid.cpuVcpus)}|${grid.cpuBatchMax}|${arrayKey(grid.gpuMemoriesGb)}|${grid.gpuBatchMax}`;
  let cache = entries.get(key);
  if (!cache) entries.set(key, (cache = { knees: new Map() }));
  byPredictor.set(predictor, { grid, cache });
  return cache;
}
