/**
 * Picking one configuration among the top-ranked ones by similarity (design §5.2, §7.1).
 *
 * Rule (exact): take the first `k` configurations of the ranking (default 5; fewer if fewer exist),
 * as instance-count vectors. For each, sum its distance to the other k − 1 (L1 by default: Σ|Δcount|;
 * L2: Euclidean). Choose the medoid, the one with the smallest sum. Ties: higher score (upper bound
 * or LP, whatever ranked them), then lower cost, then earlier rank.
 */
import { badField } from '../../model/errors.ts';

export interface SimilarityCandidate {
  readonly counts: readonly number[];
  readonly score: number;
  readonly cost: number;
}

export interface SimilarityOptions {
  /** How many top-ranked configurations to compare. Default 5. */
  k?: number;
  /** Distance between count vectors. Default `'l1'`. */
  distance?: 'l1' | 'l2';
  /**
   * Scores within this relative difference count as equal in the tie-break (default 0: exact). For
   * LP estimates, whose last digits are the solver's rounding.
   */
  scoreTolerance?: number;
}

export interface SimilarityChoice {
  /** Index into the candidate list (0 = top-1). */
  readonly index: number;
  /** Sum of distances of each of the first k candidates to the others. */
  readonly totalDistance: readonly number[];
}

export function selectBySimilarity(
  ranked: readonly SimilarityCandidate[],
  opts: SimilarityOptions = {},
): SimilarityChoice {
  const k0 = opts.k ?? 5;
  if (!Number.isInteger(k0) || k0 < 1)
    throw badField('E_INVALID_OPTION', 'similarityK', k0, 'must be an integer ≥ 1');
  if (ranked.length === 0)
    throw badField('E_INVALID_INPUT', 'ranked', [], 'no configurations to choose from');
  const k = Math.min(k0, ranked.length);
  const dist = (a: readonly number[], b: readonly number[]): number => {
    let s = 0;
    for (let i = 0; i < a.length; i++) {
      const d = a[i] - b[i];
      s += opts.distance === 'l2' ? d * d : Math.abs(d);
    }
    return opts.distance === 'l2' ? Math.sqrt(s) : s;
  };
  const total = new Array<number>(k).fill(0);
  for (let i = 0; i < k; i++)
    for (let j = i + 1; j < k; j++) {
      const d = dist(ranked[i].counts, ranked[j].counts);
      total[i] += d;
      total[j] += d;
    }
  const tol = opts.scoreTolerance ?? 0;
  const sameScore = (x: number, y: number): boolean =>
    x === y || Math.abs(x - y) <= tol * Math.max(Math.abs(x), Math.abs(y));
  let best = 0;
  for (let i = 1; i < k; i++) {
    const a = ranked[i];
    const b = ranked[best];
    const tied = sameScore(a.score, b.score);
    if (
      total[i] < total[best] ||
      (total[i] === total[best] && ((!tied && a.score > b.score) || (tied && a.cost < b.cost)))
    ) {
      best = i;
    }
  }
  return { index: best, totalDistance: total };
}
