/**
 * Ribbon-like baseline of the cluster planner (kairos design §6.6): Bayesian optimisation over
 * count vectors, counting how many configurations it had to try online (reuses the serverless
 * planner's seeded GP/EI optimiser, src/optimize/gp.ts). A module of its own: `allocate`
 * imports it only when asked for it (`bayesian`), which keeps ml-matrix out of a cold start.
 */
import { bayesOpt } from '../../optimize/gp.ts';
import type { EnumerationPool } from './enumerate.ts';

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
