/**
 * Baselines of the cluster planner (kairos design §6.6):
 * - homogeneous: the best all-base-type configuration within the budget, also scaled up to the whole
 *   budget as the paper does (throughput × budget / cost);
 * - Ribbon-like Bayesian optimisation: bayesian.ts (its own module so that allocations without it
 *   do not load the GP's matrix library);
 * - the exhaustive oracle through the `ClusterOracle` interface (the simulator implements it).
 */
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
