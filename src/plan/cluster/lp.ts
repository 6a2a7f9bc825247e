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
import highsModule from 'highs';
import { HetserveError } from '../../model/errors.ts';
import type { LatencyTable } from './latency-table.ts';
import type { QuerySizeDistribution } from './query-sizes.ts';

// The package's typings are CommonJS-flavoured (the loader is `.default`), while its ESM build
// default-exports the loader itself: accept both.
type Loader = (typeof highsModule)['default'];
const loadHighs: Loader =
  typeof highsModule === 'function' ? (highsModule as unknown as Loader) : highsModule.default;
type Highs = Awaited<ReturnType<Loader>>;
let highsPromise: Promise<Highs> | undefined;

/** Load the HiGHS WebAssembly module once per process. */
export function loadLpSolver(): Promise<Highs> {
  highsPromise ??= loadHighs();
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

const num = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(15));

/** Solve the LP for one configuration (counts in `data.types` order). */
export function lpEstimate(highs: Highs, data: LpData, counts: ArrayLike<number>): LpEstimate {
  const T = data.types.length;
  const n = data.mass.length;
  const sizeRows: string[][] = Array.from({ length: n }, () => []);
  const busy: string[] = [];
  const cols: { t: number; i: number; name: string }[] = [];
  for (let t = 0; t < T; t++) {
    if (!(counts[t] > 0)) continue;
    const terms: string[] = [];
    for (let i = 0; i <= data.limitIndex[t]; i++) {
      if (data.mass[i] <= 0) continue;
      const name = `x${t}_${i}`;
      cols.push({ t, i, name });
      sizeRows[i].push(name);
      terms.push(`${num(data.latencyMs[t][i] / 1000)} ${name}`);
    }
    if (terms.length) busy.push(` c${t}: ${terms.join(' + ')} <= ${num(counts[t])}`);
  }
  const lines = ['Maximize', ' obj: lam', 'Subject To'];
  for (let i = 0; i < n; i++) {
    if (data.mass[i] <= 0) continue;
    // A size no used type can serve forces λ = 0: the configuration cannot meet QoS for it.
    const lhs = sizeRows[i].length ? sizeRows[i].join(' + ') + ' - ' : '- ';
    lines.push(` s${i}: ${lhs}${num(data.mass[i])} lam = 0`);
  }
  lines.push(...busy, 'End');
  const r = highs.solve(lines.join('\n'), { output_flag: false });
  if (r.Status !== 'Optimal') {
    throw new HetserveError('E_INTERNAL', `LP estimate: HiGHS ended with status ${r.Status}`, {
      status: r.Status,
    });
  }
  const ratePerType: Record<string, number> = {};
  for (const c of cols) {
    const v = (r.Columns[c.name] as { Primal: number }).Primal;
    const key = data.types[c.t];
    ratePerType[key] = (ratePerType[key] ?? 0) + v;
  }
  return { qps: r.ObjectiveValue, ratePerType };
}

/**
 * A closed-form upper bound of the LP by weak duality: for any weights y_t ≥ 0,
 * λ ≤ Σ_t n_t·y_t / Σ_b P(b)·min_{t used, b ≤ limit_t} y_t·L_t(b)/1000. Uses the best of y = 1 (every
 * query on its fastest allowed type, busy time pooled) and y_t = 1 / (type t's mean latency at its
 * limit, the "skew" weighting). Infinity when some size has no allowed used type (the LP is then 0).
 */
export function fluidBoundQps(data: LpData, counts: ArrayLike<number>): number {
  const T = data.types.length;
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
