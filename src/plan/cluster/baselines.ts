/**
 * Baselines of the cluster planner (kairos design §6.6):
 * - homogeneous: the best all-base-type configuration within the budget, also scaled up to the whole
 *   budget as the paper does (throughput × budget / cost);
 * - Ribbon-like Bayesian optimisation over count vectors, counting how many configurations it had to
 *   try online (reuses the serverless planner's seeded GP/EI optimiser, src/plan/serverless/gp.ts);
 * - the exhaustive oracle through the `ClusterOracle` interface (the simulator implements it).
 */
import { bayesOpt } from '../serverless/gp.ts';
import type { EnumerationPool } from './enumerate.ts';
import type { ClusterOracle, InstanceCounts, OracleResult } from './oracle.ts';

export interface HomogeneousBaseline {
  readonly counts: number[];
  readonly cost: number;
  /** Throughput estimate of the configuration itself (n × base-type rate). */
  readonly qps: number;
  /** `qps` scaled by budget / cost (paper practice: favours the homogeneous case). */
  readonly scaledToBudgetQps: number;
}

/**
 * Best homogeneous configuration: as many base instances as the budget and max count allow.
 * `qpsOf(counts)` is the estimate used for the heterogeneous configurations (bound or LP), so the
 * comparison is like for like. Returns null when not even one base instance fits.
 */
export function homogeneousBaseline(
  pool: EnumerationPool,
  budget: number,
  qpsOf: (counts: number[]) => number,
): HomogeneousBaseline | null {
  const b = pool.baseIndex;
  const price = pool.prices[b];
  let n = Math.min(pool.maxCounts[b], Math.floor(budget / price + 1e-9));
  while (n > 0 && price * n > budget) n--;
  if (n < 1) return null;
  const counts = pool.types.map((_, i) => (i === b ? n : 0));
  const cost = price * n;
  const qps = qpsOf(counts);
  return { counts, cost, qps, scaledToBudgetQps: (qps * budget) / cost };
}

export interface BayesianSearchOptions {
  /** Random configurations tried first. Default 5. */
  initPoints?: number;
  /** Surrogate-guided trials after those. Default 25. */
  iterations?: number;
  /** Seed; the same seed gives the same search. Default 1. */
  seed?: number;
}

export interface BayesianSearchResult {
  /** Best configuration found (null if no feasible configuration was tried). */
  readonly best: { counts: number[]; qps: number } | null;
  /** Evaluations made (each one is an online trial in Ribbon's setting). */
  readonly trials: number;
  /** Distinct feasible configurations among them (re-trying one costs nothing new). */
  readonly distinctConfigs: number;
  /** Trial number (1-based) at which the best configuration was first tried. */
  readonly trialsToBest: number;
}

/**
 * Ribbon-like search: Bayesian optimisation (GP + expected improvement) over the box of counts,
 * each proposal repaired to an affordable integer configuration (see `repair`). `measure`
 * stands for an online measurement (the oracle's allowable QPS when one exists, else an estimate).
 */
export function bayesianSearch(
  pool: EnumerationPool,
  budget: number,
  measure: (counts: number[]) => number,
  opts: BayesianSearchOptions = {},
): BayesianSearchResult {
  const costOf = (c: number[]): number => c.reduce((s, n, i) => s + n * pool.prices[i], 0);
  const feasible = (c: number[]): boolean => c[pool.baseIndex] >= 1 && costOf(c) <= budget;
  // Most of the count box lies over budget; like Ribbon, search only affordable configurations by
  // repairing each proposal: round, ensure one base instance, then drop the instance of the type
  // filling the largest share of its range until the budget holds.
  const repair = (x: number[]): number[] => {
    const c = x.map((v, i) => Math.max(0, Math.min(pool.maxCounts[i], Math.round(v))));
    if (c[pool.baseIndex] < 1) c[pool.baseIndex] = 1;
    while (costOf(c) > budget) {
      let w = -1;
      for (let i = 0; i < c.length; i++) {
        const floor = i === pool.baseIndex ? 1 : 0;
        if (c[i] > floor && (w < 0 || c[i] / pool.maxCounts[i] > c[w] / pool.maxCounts[w])) w = i;
      }
      if (w < 0) break;
      c[w]--;
    }
    return c;
  };
  const seen = new Map<string, number>();
  const r = bayesOpt(
    (x) => {
      if (!feasible(x)) return -Infinity;
      const key = x.join(',');
      let y = seen.get(key);
      if (y === undefined) {
        y = measure(x);
        seen.set(key, y);
      }
      return y;
    },
    pool.maxCounts.map((m) => [0, m] as const),
    {
      initPoints: opts.initPoints ?? 5,
      iterations: opts.iterations ?? 25,
      seed: opts.seed ?? 1,
      project: repair,
    },
  );
  const ok = Number.isFinite(r.best.y);
  const bestKey = r.best.x.join(',');
  return {
    best: ok ? { counts: r.best.x, qps: r.best.y } : null,
    trials: r.history.length,
    distinctConfigs: seen.size,
    trialsToBest: ok ? r.history.findIndex((s) => s.x.join(',') === bestKey) + 1 : 0,
  };
}

export interface OracleRanking {
  readonly oracle: string;
  /** Configurations with their allowable QPS, best first (ties keep the given order). */
  readonly ranked: { counts: number[]; result: OracleResult }[];
}

/** Rank configurations by the oracle's allowable throughput (exhaustive offline search). */
export async function oracleBaseline(
  oracle: ClusterOracle,
  pool: EnumerationPool,
  configs: readonly number[][],
  qosMs: number,
  percentile: number,
  onProgress?: (done: number, total: number) => void,
): Promise<OracleRanking> {
  const named: InstanceCounts[] = configs.map((c) => Object.fromEntries(pool.types.map((t, i) => [t, c[i]])));
  const results = await oracle.evaluate(
    { configs: named, qosMs, percentile, baseType: pool.types[pool.baseIndex] },
    onProgress,
  );
  const ranked = configs
    .map((counts, i) => ({ counts, result: results[i], i }))
    .sort((a, b) => b.result.allowableQps - a.result.allowableQps || a.i - b.i)
    .map(({ counts, result }) => ({ counts, result }));
  return { oracle: oracle.name, ranked };
}
