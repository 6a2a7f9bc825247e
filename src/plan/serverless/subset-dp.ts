/**
 * Exact partition search used by the `optimal` planner (harmonybatch design §3, Eq. 7):
 * given the cost of every candidate group, find the partition of the applications with the lowest
 * total. Two shapes:
 *
 * - `bestSetPartition`: over ALL set partitions (Bell number many), by dynamic programming over
 *   subsets in O(3^n). Group costs are indexed by bit mask.
 * - `bestContiguousPartition`: over partitions into runs of consecutive items (the SLO-ordered
 *   groups of the paper), by interval dynamic programming in O(n^2) group evaluations.
 *
 * Costs are additive across groups; `Infinity` marks an infeasible group. Both functions are pure.
 */

/** Largest n `bestSetPartition` accepts: 3^16 ≈ 43 M steps and a 2^16 table stay well under a second. */
export const MAX_SET_PARTITION_ITEMS = 16;

export interface PartitionResult {
  /** Sum of the chosen groups' costs (Infinity when no partition is feasible). */
  cost: number;
  /** The chosen groups: bit masks for `bestSetPartition`, ordered by their lowest member. */
  groups: number[];
}

/**
 * Minimum-cost set partition of items 0..n−1. `groupCost[mask]` is the cost of the group whose
 * members are the set bits of `mask` (index 0 is ignored). Ties keep the first partition found when
 * enumerating, for each remaining set, the group of its lowest item with submasks in decreasing
 * order, so the result is deterministic.
 */
export function bestSetPartition(n: number, groupCost: ArrayLike<number>): PartitionResult {
  if (!Number.isInteger(n) || n < 0 || n > MAX_SET_PARTITION_ITEMS) {
    throw new RangeError(
      `bestSetPartition: n must be an integer in 0..${MAX_SET_PARTITION_ITEMS} (got ${n})`,
    );
  }
  const size = 1 << n;
  if (groupCost.length < size) {
    throw new RangeError(`bestSetPartition: groupCost needs ${size} entries (got ${groupCost.length})`);
  }
  const best = new Float64Array(size);
  const choice = new Int32Array(size);
  for (let s = 1; s < size; s++) {
    // The group holding the lowest item of s is chosen first, so each partition is seen once.
    const low = s & -s;
    const rest = s ^ low;
    let bestCost = Infinity;
    let bestGroup = 0;
    for (let sub = rest; ; sub = (sub - 1) & rest) {
      const g = sub | low;
      const c = groupCost[g];
      if (c < bestCost) {
        const total = c + best[s ^ g];
        if (total < bestCost) {
          bestCost = total;
          bestGroup = g;
        }
      }
      if (sub === 0) break;
    }
    best[s] = bestCost;
    choice[s] = bestGroup;
  }
  const full = size - 1;
  if (n === 0) return { cost: 0, groups: [] };
  if (!Number.isFinite(best[full])) return { cost: Infinity, groups: [] };
  const groups: number[] = [];
  for (let s = full; s !== 0; s ^= choice[s]) groups.push(choice[s]);
  return { cost: best[full], groups };
}

export interface ContiguousResult {
  cost: number;
  /** The chosen runs as [start, end) index pairs, in order. */
  groups: Array<[number, number]>;
}

/**
 * Minimum-cost partition of items 0..n−1 into runs of consecutive items. `runCost(i, j)` is the cost
 * of the run [i, j) (Infinity if infeasible). It is called exactly once for every 0 ≤ i < j ≤ n, in
 * the order i = 0..n−1 and, for each i, j = i+1..n, so a caller can grow a run rightwards
 * incrementally (e.g. the iterated equivalent timeout).
 */
export function bestContiguousPartition(
  n: number,
  runCost: (i: number, j: number) => number,
): ContiguousResult {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`bestContiguousPartition: bad n ${n}`);
  // cost[i * (n + 1) + j]: n ≤ a few thousand in practice, so the square table is small.
  const stride = n + 1;
  const cost = new Float64Array(stride * stride).fill(Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j <= n; j++) cost[i * stride + j] = runCost(i, j);
  }
  const best = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let j = 1; j <= n; j++) {
    for (let i = 0; i < j; i++) {
      const total = best[i] + cost[i * stride + j];
      if (total < best[j]) {
        best[j] = total;
        cut[j] = i;
      }
    }
  }
  if (!Number.isFinite(best[n])) return { cost: Infinity, groups: [] };
  const groups: Array<[number, number]> = [];
  for (let j = n; j > 0; j = cut[j]) groups.push([cut[j], j]);
  groups.reverse();
  return { cost: best[n], groups };
}
