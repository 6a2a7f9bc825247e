/**
 * Cheapest feasible configuration of ONE group over the full grid (harmonybatch design §3): every
 * function (CPU vCPU × batch, GPU memory × batch) of the `ConfigGrid`, with the paper's timeout
 * rule t^w = s^w − L_max, checked against constraints (8)–(10) by `Predictor.evaluate`, which stays
 * the single source of truth for "feasible" and "cost".
 *
 * Speed: the memory rules, latencies and full-batch costs do not depend on the group, so they are
 * computed once per grid point and the points are sorted by cost. For a group, the scan walks them
 * cheapest first and stops at the first feasible one (exact, because a feasible point's cost is its
 * full-batch cost in both the 'paper' full-batch and the 'prototype' models). Before calling the
 * predictor it discards points cheaply:
 *   - L_max > min SLO (constraint 10 fails for the tightest app);
 *   - in 'paper' mode, Eq. 9 with T^X(L) = T^X(SLOs) − L: Eq. 5 iterated is shift-equivariant (all
 *     timeouts move together by −L), so one T^X per group answers every point; the test is loosened
 *     by 1e-6 so float noise can only send a point on to the exact check, never drop a feasible one;
 *   - in 'prototype' mode, Eq. 9 with T^X recomputed for the point's L (its formula is not
 *     shift-equivariant), without the predictor's allocations.
 * With the 'expected' cost model the cost depends on the group, so every feasible point is
 * evaluated and the minimum kept.
 */
import type { FunctionChoice, GroupEvaluation, GroupInput, Predictor } from '../../predict/predictor.ts';
import { equivalentTimeout } from '../../predict/batching.ts';
import { cpuMaxBatch } from '../../predict/latency.ts';
import { surelyFillsPaper } from '../../predict/predictor.ts';
import { planCache } from './plan-cache.ts';
import type { ConfigGrid } from './types.ts';

/** One grid point whose memory rules hold. */
export interface GridPoint {
  fn: FunctionChoice;
  batch: number;
  /** Maximum latency L_max of a batch, s. */
  latMax: number;
  /** Cost per request when batches are full (the ordering key). */
  fullBatchCost: number;
}

/** Points of the grid that can exist (memory rules, profiled batch sizes), cheapest first. */
export function gridPoints(predictor: Predictor, grid: ConfigGrid): GridPoint[] {
  const out: GridPoint[] = [];
  const p = predictor.profile;
  if (p.cpu) {
    const bMax = Math.min(grid.cpuBatchMax, cpuMaxBatch(p));
    for (const vcpu of grid.cpuVcpus) {
      for (let b = 1; b <= bMax; b++) push({ kind: 'cpu', vcpu }, b);
    }
  }
  if (p.gpu) {
    for (const m of grid.gpuMemoriesGb) {
      for (let b = 1; b <= grid.gpuBatchMax; b++) push({ kind: 'gpu', gpuMemoryGb: m }, b);
    }
  }
  // Ties: GPU before CPU, then smaller resources, then larger batch (design §13's tie rules).
  out.sort(
    (x, y) =>
      x.fullBatchCost - y.fullBatchCost ||
      (x.fn.kind === y.fn.kind ? 0 : x.fn.kind === 'gpu' ? -1 : 1) ||
      resourceOf(x.fn) - resourceOf(y.fn) ||
      y.batch - x.batch,
  );
  return out;

  function push(fn: FunctionChoice, batch: number) {
    const res = predictor.resources(fn, batch);
    if (!res) return;
    const latMax = predictor.maxLatency(fn, batch);
    const fullBatchCost = predictor.batchCostPerRequest(fn, res, batch);
    if (!Number.isFinite(latMax) || !Number.isFinite(fullBatchCost)) return;
    out.push({ fn, batch, latMax, fullBatchCost });
  }
}

function resourceOf(fn: FunctionChoice): number {
  return fn.kind === 'cpu' ? fn.vcpu : fn.gpuMemoryGb;
}

/** Counters for benchmarks and tests. */
export interface SearchStats {
  groups: number;
  /** Grid points looked at (after the cheap filters run). */
  scanned: number;
  /** Calls to `Predictor.evaluate`. */
  evaluations: number;
}

/**
 * The group-independent part of a search, built once per model and grid (plan-cache.ts): the
 * points cheapest first, and per batch size b the points of that b by ascending L_max with the
 * prefix minimum of their position in the cheapest-first order.
 */
interface SearchTables {
  points: GridPoint[];
  latMax: Float64Array;
  batch: Int32Array;
  minLatMax: number;
  byBatch: { b: number; lat: Float64Array; firstRank: Int32Array }[];
}

function searchTables(predictor: Predictor, grid: ConfigGrid): SearchTables {
  const cache = planCache(predictor, grid);
  if (cache.groupSearch) return cache.groupSearch as SearchTables;
  const points = gridPoints(predictor, grid);
  const ranks = new Map<number, number[]>();
  points.forEach((p, k) => {
    let list = ranks.get(p.batch);
    if (!list) ranks.set(p.batch, (list = []));
    list.push(k);
  });
  const byBatch = [...ranks]
    .sort((x, y) => x[0] - y[0])
    .map(([b, list]) => {
      list.sort((x, y) => points[x].latMax - points[y].latMax || x - y);
      const lat = Float64Array.from(list, (k) => points[k].latMax);
      const firstRank = new Int32Array(list.length);
      let m = Infinity;
      list.forEach((k, i) => (firstRank[i] = m = Math.min(m, k)));
      return { b, lat, firstRank };
    });
  const t: SearchTables = {
    points,
    latMax: Float64Array.from(points, (p) => p.latMax),
    batch: Int32Array.from(points, (p) => p.batch),
    minLatMax: points.reduce((m, p) => Math.min(m, p.latMax), Infinity),
    byBatch,
  };
  cache.groupSearch = t;
  return t;
}

/** Finds the cheapest feasible configuration of a group; reuse one instance for many groups. */
export class GroupSearch {
  readonly predictor: Predictor;
  readonly points: readonly GridPoint[];
  readonly stats: SearchStats = { groups: 0, scanned: 0, evaluations: 0 };
  private readonly tables: SearchTables;
  private readonly scratch: number[] = [];

  constructor(predictor: Predictor, grid: ConfigGrid) {
    this.predictor = predictor;
    this.tables = searchTables(predictor, grid);
    this.points = this.tables.points;
  }

  /** The cheapest feasible evaluation of `group` (SLO-sorted apps), or null if none exists. */
  best(group: GroupInput): GroupEvaluation | null {
    const n = group.slos.length;
    if (n === 0) {
      this.stats.groups++;
      return null;
    }
    let minSlo = Infinity;
    let rate = 0;
    for (let i = 0; i < n; i++) {
      if (group.slos[i] < minSlo) minSlo = group.slos[i];
      rate += group.rates[i];
    }
    if (minSlo < this.tables.minLatMax) {
      this.stats.groups++;
      return null;
    }
    // T^X at L = 0 (timeouts = SLOs); T^X(L) = base − L in 'paper' mode.
    const base = this.predictor.compat === 'paper' ? equivalentTimeout(group.slos, group.rates, 'paper') : 0;
    return this.bestOf(group, minSlo, rate, base);
  }

  /**
   * `best(group)` with the group's smallest SLO, total rate and (compat 'paper') T^X of its SLOs
   * already known (the exact search derives them from smaller subsets): each must be the value
   * `best` computes itself.
   */
  bestOf(group: GroupInput, minSlo: number, rate: number, base: number): GroupEvaluation | null {
    const st = this.stats;
    st.groups++;
    const n = group.slos.length;
    const { latMax, batch, points, minLatMax } = this.tables;
    if (n === 0 || minSlo < minLatMax) return null;
    const pr = this.predictor;
    const paper = pr.compat === 'paper';
    const exhaustive = paper && pr.costModel === 'expected';
    let best: GroupEvaluation | null = null;
    const scratch = this.scratch;
    // 'paper', full batch: the scan below evaluates, first, the cheapest point that passes its
    // filters. Those filters are monotone in L_max for a given b (IEEE arithmetic is monotone), so
    // that point is found per b by binary search, then the cheapest over b. The scan resumes after
    // it only when the predictor finds it infeasible (float noise at a boundary).
    let start = 0;
    if (paper && !exhaustive) {
      const first = this.firstCandidate(minSlo, rate, base);
      if (first < 0) return null;
      st.scanned++;
      st.evaluations++;
      const ev = pr.evaluate(group, points[first].fn, batch[first]);
      if (ev.feasible) return ev;
      start = first + 1;
    }
    for (let k = start; k < points.length; k++) {
      const l = latMax[k];
      if (l > minSlo) continue;
      const b = batch[k];
      if (b > 1) {
        if (paper) {
          if (rate * (base - l) < b - 1 - 1e-6) continue;
        } else {
          // Prototype formula: not shift-equivariant, so T^X is recomputed for this L (without
          // the predictor's per-call allocations); Eq. 9 as the prototype checks it.
          for (let i = 0; i < n; i++) scratch[i] = group.slos[i] - l;
          scratch.length = n;
          if (!(1 + rate * equivalentTimeout(scratch, group.rates, 'prototype') > b - 1e-9)) continue;
        }
      }
      st.scanned++;
      st.evaluations++;
      const ev = pr.evaluate(group, points[k].fn, b);
      if (!ev.feasible) continue;
      if (!exhaustive) return ev;
      if (!best || ev.costPerRequest < best.costPerRequest) best = ev;
    }
    return best;
  }

  /**
   * `bestOf` without building the group's evaluation when it is not needed: in compat 'paper' with
   * full-batch costs, the position in `points` of the configuration `bestOf` would evaluate and
   * return, when `surelyFillsPaper` shows it feasible (its cost is then its `fullBatchCost`, and
   * evaluating it later gives `bestOf`'s evaluation); otherwise `bestOf`'s result. `group` is
   * called only then; `maxSlo` and `n` are the group's largest SLO and size.
   */
  bestOrPoint(
    group: () => GroupInput,
    n: number,
    minSlo: number,
    maxSlo: number,
    rate: number,
    base: number,
  ): GroupEvaluation | number | null {
    const pr = this.predictor;
    if (pr.compat === 'paper' && pr.costModel === 'full-batch' && n > 0) {
      const { latMax, batch, minLatMax } = this.tables;
      if (minSlo < minLatMax) {
        this.stats.groups++;
        return null;
      }
      const first = this.firstCandidate(minSlo, rate, base);
      if (first < 0) {
        this.stats.groups++;
        return null;
      }
      if (surelyFillsPaper(rate, base, latMax[first], batch[first], n, maxSlo)) {
        this.stats.groups++;
        this.stats.scanned++;
        return first;
      }
    }
    return this.bestOf(group(), minSlo, rate, base);
  }

  /** Position of the cheapest point passing the 'paper' filters of the scan, or −1. */
  private firstCandidate(minSlo: number, rate: number, base: number): number {
    let bestRank = Infinity;
    const lowest = this.tables.minLatMax;
    const byBatch = this.tables.byBatch;
    // From the largest b that the lowest L_max lets pass Eq. 9 downwards: larger batches hold the
    // cheaper points, so the best rank drops early and most smaller b are skipped by their minimum.
    let top = byBatch.length - 1;
    while (top >= 0 && byBatch[top].b > 1 && rate * (base - lowest) < byBatch[top].b - 1 - 1e-6) top--;
    for (let i = top; i >= 0; i--) {
      const { b, lat, firstRank } = byBatch[i];
      // Nothing of this b comes before the best so far, or nothing of it passes.
      if (firstRank[lat.length - 1] >= bestRank) continue;
      const l0 = lat[0];
      if (l0 > minSlo || (b > 1 && rate * (base - l0) < b - 1 - 1e-6)) continue;
      // Largest prefix of `lat` whose points pass (the same expressions as the scan's filters).
      let lo = 0;
      let hi = lat.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const l = lat[mid];
        const pass = !(l > minSlo) && (b === 1 || !(rate * (base - l) < b - 1 - 1e-6));
        if (pass) lo = mid + 1;
        else hi = mid;
      }
      if (lo > 0 && firstRank[lo - 1] < bestRank) bestRank = firstRank[lo - 1];
    }
    return bestRank === Infinity ? -1 : bestRank;
  }
}
