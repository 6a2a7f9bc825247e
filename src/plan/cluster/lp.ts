/**
 * LP throughput estimate of a configuration (beyond Kairos): route every query size optimally.
 *
 *   maximise λ
 *   s.t.  Σ_t x[t,b] = P(b)·λ                      for every size b    (the rate splits by the size mix)
 *         Σ_b x[t,b] · L_t(b) / 1000 ≤ n_t          for every type t    (busy time ≤ instance count)
 *         x[t,b] ≥ 0, and x[t,b] = 0 unless b ≤ limit_t   (type t meets QoS at size b)
 *
 * x[t,b] is the rate (QPS) of size-b queries sent to type t, L_t(b) the mean latency in ms. This is
 * a fluid model: it ignores queueing, so it is an estimate of the best routing, not a guarantee.
 * Solved with HiGHS (`highs`, WebAssembly). Because the Kairos routing (one size threshold, see
 * bound.ts 'per-type') is one feasible x, the LP is ≥ that bound on the same data; `fluidBoundQps`
 * gives a closed-form upper bound of the LP (weak duality).
 */
import type highsModule from 'highs';
import { HetserveError } from '../../model/errors.ts';
import type { LatencyTable } from '../../predict/latency-table.ts';
import type { QuerySizeDistribution } from '../../workload/query-sizes.ts';

// The package's typings are CommonJS-flavoured (the loader is `.default`), while its ESM build
// default-exports the loader itself: accept both.
type Loader = (typeof highsModule)['default'];
type Highs = Awaited<ReturnType<Loader>>;
let highsPromise: Promise<Highs> | undefined;

/**
 * Load the HiGHS WebAssembly module once per process. The package (168 kB of JS, 3.5 MB of wasm)
 * is imported on the first call only, so callers that skip the LP never pay for it; call this
 * early (without awaiting) to overlap the wasm compile with other work.
 */
export function loadLpSolver(): Promise<Highs> {
  highsPromise ??= import('highs').then(({ default: mod }) => {
    const load = typeof mod === 'function' ? (mod as unknown as Loader) : mod.default;
    return load();
  });
  return highsPromise;
}

/** Data an LP estimate needs, aligned with a pool's type order. */
export interface LpData {
  readonly types: readonly string[];
  /** Probability of each profiled size index (sizes rounded up onto the grid). */
  readonly mass: Float64Array;
  /** latency[t][i]: mean ms of type t at profiled size index i. */
  readonly latencyMs: readonly Float64Array[];
  /** Largest servable size index per type (-1: none). */
  readonly limitIndex: readonly number[];
}

/**
 * Prepare LP data from a latency table. `limits[t]` is the largest size type t may serve (the same
 * limits the bound uses; the base type's is the profile's largest size).
 */
export function lpData(
  table: LatencyTable,
  sizes: QuerySizeDistribution,
  types: readonly string[],
  limits: readonly number[],
): LpData {
  const n = table.batchSizes.length;
  const mass = new Float64Array(n);
  sizes.sizes.forEach((s, i) => (mass[table.sizeIndex(s)] += sizes.probabilities[i]));
  const limitIndex = limits.map((v) => {
    let k = -1;
    for (let i = 0; i < n && table.batchSizes[i] <= v; i++) k = i;
    return k;
  });
  return { types, mass, latencyMs: types.map((t) => table.meanRow(t)), limitIndex };
}

export interface LpEstimate {
  /** Optimal total rate λ (QPS). */
  readonly qps: number;
  /** Rate routed to each type (QPS), by type name. */
  readonly ratePerType: Readonly<Record<string, number>>;
}

/**
 * A persistent HiGHS model of the LP for one `LpData`: the constraint matrix is built once and each
 * configuration only changes the busy-time right-hand sides (n_t; 0 for an unused type forces its
 * rates to 0), so HiGHS re-solves from the previous basis. Call `dispose()` when done (HiGHS
 * memory lives in WebAssembly and is not garbage-collected).
 */
export interface LpEstimator {
  estimate(counts: ArrayLike<number>): LpEstimate;
  dispose(): void;
}

export function createLpEstimator(highs: Highs, data: LpData): LpEstimator {
  const T = data.types.length;
  const n = data.mass.length;
  // Rows: one equality per size with mass, then one busy-time row per type.
  const sizeRow = new Int32Array(n).fill(-1);
  let rows = 0;
  for (let i = 0; i < n; i++) if (data.mass[i] > 0) sizeRow[i] = rows++;
  const busyRow = Array.from({ length: T }, (_, t) => rows + t);
  const numRows = rows + T;
  // Columns: λ first, then x[t,i] for every size type t may serve.
  const starts: number[] = [0];
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    if (sizeRow[i] < 0) continue;
    indices.push(sizeRow[i]);
    values.push(-data.mass[i]);
  }
  starts.push(indices.length);
  const colType: number[] = [-1];
  for (let t = 0; t < T; t++) {
    for (let i = 0; i <= data.limitIndex[t]; i++) {
      if (sizeRow[i] < 0) continue;
      indices.push(sizeRow[i], busyRow[t]);
      values.push(1, data.latencyMs[t][i] / 1000);
      starts.push(indices.length);
      colType.push(t);
    }
  }
  const numCols = colType.length;
  const inf = highs.infinity;
  const model = highs.createModel({
    numCols,
    numRows,
    sense: highs.constants.objectiveSense.maximize,
    colCost: colType.map((t) => (t < 0 ? 1 : 0)),
    colLower: new Array<number>(numCols).fill(0),
    colUpper: new Array<number>(numCols).fill(inf),
    rowLower: [...new Array<number>(rows).fill(0), ...new Array<number>(T).fill(-inf)],
    rowUpper: [...new Array<number>(rows).fill(0), ...new Array<number>(T).fill(0)],
    matrix: { format: 'csc', numRows, numCols, starts, indices, values },
  });
  model.options.set({ output_flag: false, presolve: 'off', solver: 'simplex' });
  return {
    estimate(counts) {
      for (let t = 0; t < T; t++) model.changeRowBounds(busyRow[t], -inf, counts[t] > 0 ? counts[t] : 0);
      model.run();
      const status = model.getModelStatus();
      if (status !== highs.constants.modelStatus.optimal) {
        throw new HetserveError('E_INTERNAL', `LP estimate: HiGHS ended with model status ${status}`, {
          status,
        });
      }
      const x = model.getSolution().colValue;
      const ratePerType: Record<string, number> = {};
      for (let c = 1; c < numCols; c++) {
        if (x[c] === 0 && !(counts[colType[c]] > 0)) continue;
        const key = data.types[colType[c]];
        ratePerType[key] = (ratePerType[key] ?? 0) + x[c];
      }
      return { qps: model.getObjectiveValue(), ratePerType };
    },
    dispose() {
      model.dispose();
    },
  };
}

/** Solve the LP for one configuration (counts in `data.types` order); builds and frees a model. */
export function lpEstimate(highs: Highs, data: LpData, counts: ArrayLike<number>): LpEstimate {
  const e = createLpEstimator(highs, data);
  try {
    return e.estimate(counts);
  } finally {
    e.dispose();
  }
}

/**
 * A closed-form upper bound of the LP by weak duality: for any weights y_t ≥ 0,
 * λ ≤ Σ_t n_t·y_t / Σ_b P(b)·min_{t used, b ≤ limit_t} y_t·L_t(b)/1000. Uses the best of y = 1 (every
 * query on its fastest allowed type, busy time pooled) and y_t = 1 / (type t's mean latency at its
 * limit, the "skew" weighting). 0 when some size has no allowed used type (the LP is then 0 too).
 */
export function fluidBoundQps(data: LpData, counts: ArrayLike<number>): number {
  const T = data.types.length;
  for (let i = 0; i < data.mass.length; i++) {
    if (data.mass[i] > 0 && !data.types.some((_, t) => counts[t] > 0 && i <= data.limitIndex[t])) return 0;
  }
  const weightings: number[][] = [
    new Array<number>(T).fill(1),
    data.latencyMs.map((row, t) => (data.limitIndex[t] >= 0 ? 1 / row[data.limitIndex[t]] : 0)),
  ];
  let best = Infinity;
  for (const y of weightings) {
    let num = 0;
    for (let t = 0; t < T; t++) if (counts[t] > 0) num += counts[t] * y[t];
    let den = 0;
    for (let i = 0; i < data.mass.length; i++) {
      if (data.mass[i] <= 0) continue;
      let m = Infinity;
      for (let t = 0; t < T; t++) {
        if (counts[t] > 0 && i <= data.limitIndex[t] && y[t] > 0)
          m = Math.min(m, (y[t] * data.latencyMs[t][i]) / 1000);
      }
      den += data.mass[i] * m;
    }
    if (den > 0 && Number.isFinite(den)) best = Math.min(best, num / den);
  }
  return best;
}
