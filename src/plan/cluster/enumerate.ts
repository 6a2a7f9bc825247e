/**
 * Enumeration and ranking of configurations under a budget (design §4.4), not blind:
 * - each type's count loop stops where the remaining budget ends (budget pruning), so only
 *   affordable tuples are visited;
 * - optional dominance pruning skips a configuration when one more instance of a type it already
 *   uses still fits (the bound never decreases when a used type's count grows, so the bigger
 *   configuration is at least as good);
 * - the top K are kept in a bounded heap (memory O(K), not O(#configurations)).
 * Order: score descending, ties by enumeration order (itertools.product order: first type outermost),
 * which is what the prototype's stable sort gives.
 */
import { badField } from '../../model/errors.ts';

export interface EnumerationPool {
  /** Type names, in the order counts are reported. */
  readonly types: readonly string[];
  readonly prices: readonly number[];
  /** Largest count tried per type (inclusive). */
  readonly maxCounts: readonly number[];
  /** Index of the base type; every configuration has ≥ 1 of it. */
  readonly baseIndex: number;
}

export interface RankOptions {
  /** Hourly budget (USD); a configuration is feasible when Σ price·count ≤ budget, unrounded. */
  budget: number;
  /** Score to rank by (higher is better), e.g. a compiled bound. */
  score: (counts: Int32Array) => number;
  /** Keep only the best `top` (default: all feasible configurations). */
  top?: number;
  /** `'prune'` skips dominated configurations (see module comment). Default `'keep'`. */
  dominance?: 'keep' | 'prune';
}

export interface RankedConfig {
  readonly counts: number[];
  /** Unrounded Σ price·count. */
  readonly cost: number;
  readonly score: number;
  /** Position in enumeration order (tie-break). */
  readonly order: number;
}

export interface Ranking {
  readonly ranked: RankedConfig[];
  /** Feasible configurations scored (after dominance pruning). */
  readonly scored: number;
  /** Tuples of the full Cartesian product (what a blind enumeration would visit). */
  readonly productSize: number;
}

const better = (a: RankedConfig, b: RankedConfig): boolean =>
  a.score > b.score || (a.score === b.score && a.order < b.order);

export function rankConfigurations(pool: EnumerationPool, opts: RankOptions): Ranking {
  const T = pool.types.length;
  const { prices, maxCounts, baseIndex } = pool;
  const budget = opts.budget;
  const top = opts.top ?? Infinity;
  if (!(top >= 1)) throw badField('E_INVALID_OPTION', 'top', top, 'must be ≥ 1');
  const prune = opts.dominance === 'prune';
  // Mixed-radix weights give each tuple its position in the full product (the tie-break).
  const radix = new Array<number>(T);
  let productSize = 1;
  for (let i = T - 1; i >= 0; i--) {
    radix[i] = productSize;
    productSize *= maxCounts[i] + 1;
  }
  const counts = new Int32Array(T);
  const heap: RankedConfig[] = []; // min-heap by `better` (worst on top) when bounded
  let scored = 0;
  const push = (cost: number, order: number): void => {
    const score = opts.score(counts);
    scored++;
    const item: RankedConfig = { counts: Array.from(counts), cost, score, order };
    if (heap.length < top) {
      heap.push(item);
      if (top !== Infinity) siftUp(heap, heap.length - 1);
    } else if (better(item, heap[0])) {
      heap[0] = item;
      siftDown(heap, 0);
    }
  };
  // Cost is summed left to right over the whole tuple at each leaf so that the feasibility test
  // sees exactly Σ price·count as the prototype computes it.
  const leafCost = (): number => {
    let c = 0;
    for (let i = 0; i < T; i++) c += prices[i] * counts[i];
    return c;
  };
  const rec = (i: number, partial: number, order: number): void => {
    if (i === T) {
      if (counts[baseIndex] < 1) return;
      const cost = leafCost();
      if (cost > budget) return;
      if (prune) {
        for (let t = 0; t < T; t++) {
          if (counts[t] > 0 && counts[t] < maxCounts[t] && cost + prices[t] <= budget) return;
        }
      }
      push(cost, order);
      return;
    }
    // Budget pruning with a small slack; the exact test happens at the leaf.
    const room = Math.floor((budget - partial) / prices[i] + 1e-9);
    const hi = Math.min(maxCounts[i], room);
    for (let n = 0; n <= hi; n++) {
      counts[i] = n;
      rec(i + 1, partial + prices[i] * n, order + n * radix[i]);
    }
    counts[i] = 0;
  };
  rec(0, 0, 0);
  const ranked = heap.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
  return { ranked, scored, productSize };
}

function siftUp(h: RankedConfig[], i: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!better(h[p], h[i])) break;
    [h[p], h[i]] = [h[i], h[p]];
    i = p;
  }
}

function siftDown(h: RankedConfig[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let w = i;
    if (l < h.length && better(h[w], h[l])) w = l;
    if (r < h.length && better(h[w], h[r])) w = r;
    if (w === i) return;
    [h[w], h[i]] = [h[i], h[w]];
    i = w;
  }
}
