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
 * Because the Kairos routing (one size threshold, see bound.ts 'per-type') is one feasible x, the
 * LP is ≥ that bound on the same data; `fluidBoundQps` gives a closed-form upper bound of the LP
 * (weak duality).
 *
 * How it is solved. The LP has (types × sizes) variables but only as many "directions" as used
 * types: its dual is  λ = min over y ≥ 0 of  Σ_t n_t·y_t / G(y),  with the concave, piecewise-linear
 *   G(y) = Σ_b P(b) · min over allowed used t of y_t·L_t(b)/1000
 * (each size on the type that is cheapest at prices y). Fixing Σ_t n_t·y_t = N, λ = N / max G.
 * Kelley's cutting-plane method maximises G: every evaluation of G at a point y yields the routing
 * of each size to its cheapest type, and that routing's busy times w give the linear piece
 * G ≤ Σ_t w_t·y_t (a cut, tight at y). A master LP over the cuts so far (one variable per used
 * type, plus the level θ; solved by `yalps`, a pure-JS simplex) proposes the next y; θ is an upper
 * bound of max G and G(y) a lower one, and there are finitely many routings, so the bounds meet:
 * the estimate is N / G at the best y, to ~1e-12 relative (test/plan/cluster/lp.test.ts compares
 * it with HiGHS). A few to a few tens of master LPs of ≤ (types + 1) variables replace one LP of
 * hundreds of variables: each estimate takes well under a millisecond warm, and a cold process
 * pays no WebAssembly compile (HiGHS, the previous solver, cost ~100-165 ms of every start).
 * Only the optimal value is unique: in a degenerate LP several routings reach it, so
 * `ratePerType` is one optimal routing, not necessarily the one another solver returns.
 */
import { solve, type Constraint } from 'yalps';
import { HetserveError } from '../../model/errors.ts';
import type { LatencyTable } from '../../predict/latency-table.ts';
import type { QuerySizeDistribution } from '../../workload/query-sizes.ts';

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
  /** Rate routed to each used type (QPS), by type name: one optimal routing (computed when read). */
  readonly ratePerType: Readonly<Record<string, number>>;
}

/** LP estimates for one `LpData`, any number of configurations (counts in `data.types` order). */
export interface LpEstimator {
  estimate(counts: ArrayLike<number>): LpEstimate;
}

/**
 * Relative gap between the master's level (an upper bound of max G) and the best G found (a lower
 * bound) at which the estimate is final. The bounds meet exactly once the cuts hold the optimal
 * pieces; this only absorbs the rounding of the master's solution.
 */
const GAP = 1e-12;
/**
 * yalps' zero tolerance (its default, 1e-8, or near it: much smaller lets it pivot on round-off
 * and return infeasible points) and the scale of the right-hand sides: yalps also rounds its
 * results to PRECISION absolute, so the masters' solutions (θ, y, the mix μ) are kept ~RHS, where
 * that rounding is ~1e-13 relative, while the matrix coefficients stay of order 1.
 */
const PRECISION = 1e-9;
const RHS = 1e4;

export function createLpEstimator(data: LpData): LpEstimator {
  const T = data.types.length;
  const sizes: number[] = [];
  for (let i = 0; i < data.mass.length; i++) if (data.mass[i] > 0) sizes.push(i);
  // Busy time per query (s) of each type at each size.
  const secs = data.latencyMs.map((row) => Array.from(row, (ms) => ms / 1000));
  // Cuts found for earlier configurations: a routing over types that this configuration also uses
  // is a valid cut for it too (a cut does not depend on the counts), so a ranking's neighbouring
  // configurations mostly start from the pieces they need and converge in a master LP or two.
  const pool: Cut[] = [];
  return {
    estimate: (counts) => {
      try {
        return solveLp(data, sizes, secs, T, counts, pool);
      } catch (e) {
        // yalps' simplex has no anti-cycling rule; many cuts through one point (reused ones
        // especially) make a degenerate master it can cycle on. Start this one afresh.
        if (!(e instanceof HetserveError && e.details.status === 'cycled')) throw e;
        return solveLp(data, sizes, secs, T, counts, []);
      }
    },
  };
}

/** Solve the LP for one configuration (counts in `data.types` order). */
export function lpEstimate(data: LpData, counts: ArrayLike<number>): LpEstimate {
  return createLpEstimator(data).estimate(counts);
}

/** Keys of yalps' rows: a cut's or a type's index, or a named row. */
type Key = string | number;

/** One cut: the routing of each size to its cheapest type at some y, as busy time and mass per type. */
interface Cut {
  readonly busy: Float64Array;
  readonly mass: Float64Array;
}

function solveLp(
  data: LpData,
  sizes: readonly number[],
  secs: readonly number[][],
  T: number,
  counts: ArrayLike<number>,
  pool: Cut[],
): LpEstimate {
  const used: number[] = [];
  for (let t = 0; t < T; t++) if (counts[t] > 0) used.push(t);
  // A size no used type may serve takes λ to 0 (its share of the rate has nowhere to go).
  for (const i of sizes) {
    if (!used.some((t) => i <= data.limitIndex[t])) return estimateWith(data, used, 0, [], counts);
  }
  // G(y) and the routing that attains it (ties: the earlier type, so the result is deterministic).
  const route = (y: Float64Array): { g: number; cut: Cut } => {
    const busy = new Float64Array(T);
    const mass = new Float64Array(T);
    let g = 0;
    for (const i of sizes) {
      let best = Infinity;
      let bt = -1;
      for (const t of used) {
        if (i > data.limitIndex[t]) continue;
        const c = secs[t][i] * y[t];
        if (c < best) {
          best = c;
          bt = t;
        }
      }
      busy[bt] += data.mass[i] * secs[bt][i];
      mass[bt] += data.mass[i];
      g += data.mass[i] * best;
    }
    return { g, cut: { busy, mass } };
  };
  // Normalise Σ n_t·y_t = RHS·N with y = RHS as the first point, and scale the cuts so that θ
  // starts at RHS: the coefficients are then of order 1 and the solution of order RHS (see RHS).
  let N = 0;
  for (const t of used) N += counts[t];
  const y0 = new Float64Array(T);
  for (const t of used) y0[t] = RHS;
  const first = route(y0);
  const scale = RHS / first.g;
  const cuts: Cut[] = [first.cut];
  for (let k = pool.length - 1; k >= 0 && cuts.length <= REUSED_CUTS; k--) {
    const c = pool[k];
    if (onlyOn(c, counts) && !cuts.some((d) => sameCut(c, d, used))) cuts.push(c);
  }
  let bestG = first.g;
  const maxIterations = 64 * (used.length + 1) ** 2;
  for (let it = 0; it < maxIterations; it++) {
    const constraints: [Key, Constraint][] = [['norm', { equal: RHS * N }]];
    for (let k = 0; k < cuts.length; k++) constraints.push([k, { max: 0 }]);
    const variables: [number, [Key, number][]][] = [
      [-1, [['theta', 1], ...cuts.map((_, k) => [k, 1] as [number, number])]],
    ];
    for (const t of used) {
      variables.push([
        t,
        [['norm', counts[t]], ...cuts.map((c, k) => [k, -scale * c.busy[t]] as [number, number])],
      ]);
    }
    const sol = solve<number, Key>(
      { direction: 'maximize', objective: 'theta', constraints, variables },
      { precision: PRECISION },
    );
    if (sol.status !== 'optimal') {
      throw new HetserveError('E_INTERNAL', `LP estimate: the master LP ended ${sol.status}`, {
        status: sol.status,
        counts: Array.from(counts),
      });
    }
    const theta = sol.result;
    const y = new Float64Array(T);
    for (const [t, v] of sol.variables) if (t >= 0) y[t] = v;
    const next = route(y);
    if (next.g > bestG) bestG = next.g;
    // Converged: the bounds meet, or the cut at y is already in the master (then θ = G(y) already).
    if (theta - scale * bestG <= GAP * theta || cuts.some((c) => sameCut(c, next.cut, used))) {
      return estimateWith(data, used, (RHS * N) / bestG, cuts, counts);
    }
    cuts.push(next.cut);
    pool.push(next.cut);
    if (pool.length > 4 * REUSED_CUTS) pool.splice(0, 2 * REUSED_CUTS);
  }
  throw new HetserveError('E_INTERNAL', 'LP estimate: the cutting-plane method did not converge', {
    counts: Array.from(counts),
    iterations: maxIterations,
  });
}
/** Most cuts carried over from earlier configurations into one configuration's master LP. */
const REUSED_CUTS = 24;

/** Whether a cut routes to used types only (so it bounds this configuration's G). */
function onlyOn(c: Cut, counts: ArrayLike<number>): boolean {
  for (let t = 0; t < c.mass.length; t++) if (c.mass[t] > 0 && !(counts[t] > 0)) return false;
  return true;
}

function sameCut(a: Cut, b: Cut, used: readonly number[]): boolean {
  for (const t of used) if (a.busy[t] !== b.busy[t] || a.mass[t] !== b.mass[t]) return false;
  return true;
}

/**
 * The estimate λ, with a routing that reaches it when read: the optimal mix μ of the cuts' routings
 * (the master's dual, Dantzig-Wolfe form: minimise the busiest type's load per instance z subject
 * to Σ_k μ_k·λ·busy_k,t ≤ n_t·z, Σ μ = RHS; z = RHS at the optimum), each type getting
 * λ·Σ_k μ_k·mass_k,t / Σ_k μ_k.
 */
function estimateWith(
  data: LpData,
  used: readonly number[],
  qps: number,
  cuts: readonly Cut[],
  counts: ArrayLike<number>,
): LpEstimate {
  let rates: Record<string, number> | undefined;
  const routed = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const t of used) if (data.limitIndex[t] >= 0) out[data.types[t]] = 0;
    if (qps === 0) return out;
    const variables: [number, [Key, number][]][] = [[-1, [['z', 1]]]];
    for (const t of used) variables[0][1].push([t, -counts[t]]);
    cuts.forEach((c, k) => {
      variables.push([k, [['mix', 1], ...used.map((t) => [t, qps * c.busy[t]] as [number, number])]]);
    });
    const sol = solve<number, Key>(
      {
        direction: 'minimize',
        objective: 'z',
        constraints: [['mix', { equal: RHS }], ...used.map((t): [Key, Constraint] => [t, { max: 0 }])],
        variables,
      },
      { precision: PRECISION },
    );
    if (sol.status !== 'optimal') {
      throw new HetserveError('E_INTERNAL', `LP estimate: the routing LP ended ${sol.status}`, {
        status: sol.status,
      });
    }
    // The mix is normalised by its own sum, not by RHS: yalps meets the equality row only to its
    // tolerance (~1e-9 relative seen), and every query must be routed, whatever that error.
    let sum = 0;
    for (const [k, mu] of sol.variables) if (k >= 0) sum += mu;
    for (const [k, mu] of sol.variables) {
      if (k < 0) continue;
      for (const t of used) if (cuts[k].mass[t] > 0) out[data.types[t]] += (qps * mu * cuts[k].mass[t]) / sum;
    }
    return out;
  };
  return {
    qps,
    get ratePerType() {
      return (rates ??= routed());
    },
  };
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
