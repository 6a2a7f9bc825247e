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
import type { FunctionChoice, GroupEvaluation, GroupInput, Predictor } from '../../predict/index.ts';
import { cpuMaxBatch, equivalentTimeout } from '../../predict/index.ts';
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

/** Finds the cheapest feasible configuration of a group; reuse one instance for many groups. */
export class GroupSearch {
  readonly predictor: Predictor;
  readonly points: readonly GridPoint[];
  readonly stats: SearchStats = { groups: 0, scanned: 0, evaluations: 0 };
  private readonly latMax: Float64Array;
  private readonly batch: Int32Array;
  private readonly minLatMax: number;
  private readonly scratch: number[] = [];

  constructor(predictor: Predictor, grid: ConfigGrid) {
    this.predictor = predictor;
    this.points = gridPoints(predictor, grid);
    this.latMax = Float64Array.from(this.points, (p) => p.latMax);
    this.batch = Int32Array.from(this.points, (p) => p.batch);
    this.minLatMax = this.points.reduce((m, p) => Math.min(m, p.latMax), Infinity);
  }

  /** The cheapest feasible evaluation of `group` (SLO-sorted apps), or null if none exists. */
  best(group: GroupInput): GroupEvaluation | null {
    const st = this.stats;
    st.groups++;
    const n = group.slos.length;
    if (n === 0) return null;
    let minSlo = Infinity;
    let rate = 0;
    for (let i = 0; i < n; i++) {
      if (group.slos[i] < minSlo) minSlo = group.slos[i];
      rate += group.rates[i];
    }
    if (minSlo < this.minLatMax) return null;
    const pr = this.predictor;
    const paper = pr.compat === 'paper';
    const exhaustive = paper && pr.costModel === 'expected';
    // T^X at L = 0 (timeouts = SLOs); T^X(L) = base − L in 'paper' mode.
    const base = paper ? equivalentTimeout(group.slos, group.rates, 'paper') : 0;
    let best: GroupEvaluation | null = null;
    const { latMax, batch, points } = this;
    const scratch = this.scratch;
    for (let k = 0; k < points.length; k++) {
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
}
