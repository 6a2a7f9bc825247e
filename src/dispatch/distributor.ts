/**
 * Query distributors for cluster mode: Kairos' bipartite matching (design §3.2) and three
 * baselines behind the same interface. Internally times are ms (the latency table's unit); every
 * time crossing the interface (`now`, arrivals, deadlines) is seconds.
 */
import { createRequire } from 'node:module';
import type { linearSumAssignment as LinearSumAssignment } from 'linear-sum-assignment';
import munkres from 'munkres';
import { badField } from '../model/errors.ts';
import type {
  Assignment,
  DistributorBaseOptions,
  InstanceView,
  LatencyEstimator,
  PendingQuery,
  QueryDistributor,
} from './types.ts';

/** One decision: queue position -> instance index (idle), with the estimate used. */
interface Pick {
  row: number;
  instance: number;
  estimateMs: number;
}

function checkBase(o: DistributorBaseOptions): void {
  if (o === null || typeof o !== 'object')
    throw badField('E_DISPATCH_CONFIG', 'options', o, 'must be an object');
  if (!Array.isArray(o.instances) || o.instances.length === 0) {
    throw badField(
      'E_DISPATCH_CONFIG',
      'instances',
      o.instances,
      'must be a non-empty array of instance type names',
    );
  }
  o.instances.forEach((t, i) => {
    if (typeof t !== 'string' || t.length === 0) {
      throw badField('E_DISPATCH_CONFIG', `instances.${i}`, t, 'must be an instance type name');
    }
  });
  if (typeof o.estimateMs !== 'function') {
    throw badField('E_DISPATCH_CONFIG', 'estimateMs', o.estimateMs, 'must be a function (type, size) => ms');
  }
}

/** `estimator(type, size)`, which must be a finite latency in ms >= 0 (E_DISPATCH_CONFIG naming `field`). */
function checkedEstimate(estimator: LatencyEstimator, field: string, type: string, size: number): number {
  const v = estimator(type, size);
  if (!(Number.isFinite(v) && v >= 0)) {
    throw badField(
      'E_DISPATCH_CONFIG',
      `${field}(${JSON.stringify(type)}, ${size})`,
      v,
      'must be a finite latency in ms >= 0',
    );
  }
  return v;
}

/** An estimator's values for one size on each of `types`, computed once per size. */
function rowsBySize(
  types: readonly string[],
  estimator: LatencyEstimator,
  field: string,
): (size: number) => Float64Array {
  const rows = new Map<number, Float64Array>();
  return (size) => {
    let row = rows.get(size);
    if (row === undefined) {
      row = Float64Array.from(types, (t) => checkedEstimate(estimator, field, t, size));
      rows.set(size, row);
    }
    return row;
  };
}

/**
 * Queue + instance bookkeeping shared by every distributor. Subclasses only choose pairs.
 * Estimates are cached per (type, size): the estimator must be pure.
 */
abstract class DistributorBase<P> implements QueryDistributor<P> {
  abstract readonly name: string;
  protected queue: PendingQuery<P>[] = [];
  protected readonly types: readonly string[];
  protected readonly busy: Uint8Array;
  /** Estimated end of the running query, seconds. */
  protected readonly busyUntil: Float64Array;
  protected readonly running: (string | number | undefined)[];
  readonly #estimator: LatencyEstimator;
  readonly #cache = new Map<string, Map<number, number>>();
  protected lastNow = -Infinity;

  constructor(o: DistributorBaseOptions) {
    checkBase(o);
    this.types = Object.freeze([...o.instances]);
    const n = this.types.length;
    this.busy = new Uint8Array(n);
    this.busyUntil = new Float64Array(n);
    this.running = new Array<undefined>(n).fill(undefined);
    this.#estimator = o.estimateMs;
  }

  /** Estimated latency (ms) of a query of `size` on `type`; rounding is the subclass's business. */
  protected estimate(type: string, size: number): number {
    let m = this.#cache.get(type);
    if (m === undefined) this.#cache.set(type, (m = new Map()));
    let v = m.get(size);
    if (v === undefined) {
      v = checkedEstimate(this.#estimator, 'estimateMs', type, size);
      m.set(size, v);
    }
    return v;
  }

  /** Remaining estimated time of instance j at `now`, ms (0 when idle or overdue). */
  protected remainingMs(j: number, now: number): number {
    if (this.busy[j] === 0) return 0;
    const r = (this.busyUntil[j]! - now) * 1000;
    return r > 0 ? r : 0;
  }

  enqueue(q: PendingQuery<P>): void {
    if (q === null || typeof q !== 'object')
      throw badField('E_INVALID_INPUT', 'query', q, 'must be an object');
    if (!(Number.isFinite(q.size) && q.size > 0))
      throw badField('E_INVALID_INPUT', 'query.size', q.size, 'must be a size > 0');
    if (!Number.isFinite(q.arrival))
      throw badField('E_INVALID_INPUT', 'query.arrival', q.arrival, 'must be a finite time in seconds');
    if (!(q.deadline >= q.arrival && Number.isFinite(q.deadline))) {
      throw badField(
        'E_INVALID_INPUT',
        'query.deadline',
        q.deadline,
        `must be a finite time >= arrival (${q.arrival})`,
      );
    }
    this.queue.push(q);
  }

  decide(now: number): Assignment<P>[] {
    if (!Number.isFinite(now))
      throw badField('E_DISPATCH_CONFIG', 'now', now, 'must be a finite time in seconds');
    this.lastNow = now;
    if (this.queue.length === 0 || this.busy.indexOf(0) < 0) return [];
    const picks = this.select(now);
    if (picks.length === 0) return [];
    const out: Assignment<P>[] = [];
    const queue = this.queue;
    for (const p of picks) {
      const q = queue[p.row];
      // Guards against a subclass bug: these would break "exactly once" and "idle only".
      if (this.busy[p.instance] !== 0 || q === undefined) {
        throw badField('E_INTERNAL', 'decision', p, 'a distributor picked a busy instance or a query twice');
      }
      queue[p.row] = undefined as unknown as PendingQuery<P>; // taken: compacted below
      this.busy[p.instance] = 1;
      this.busyUntil[p.instance] = now + p.estimateMs / 1000;
      this.running[p.instance] = q.id;
      out.push({ query: q, instance: p.instance, estimateMs: p.estimateMs });
    }
    // Keep FIFO order in place: picks are few and near the head.
    let w = 0;
    for (let i = 0; i < queue.length; i++) if (queue[i] !== undefined) queue[w++] = queue[i]!;
    queue.length = w;
    return out;
  }

  onComplete(index: number, now: number): void {
    if (!(Number.isInteger(index) && index >= 0 && index < this.types.length)) {
      throw badField(
        'E_DISPATCH_CONFIG',
        'instance',
        index,
        `must be an instance index in [0, ${this.types.length - 1}]`,
      );
    }
    if (this.busy[index] === 0)
      throw badField('E_DISPATCH_CONFIG', 'instance', index, 'is idle: nothing to complete');
    if (!Number.isFinite(now))
      throw badField('E_DISPATCH_CONFIG', 'now', now, 'must be a finite time in seconds');
    this.busy[index] = 0;
    this.busyUntil[index] = now;
    this.running[index] = undefined;
    this.lastNow = now;
  }

  /**
   * Mark idle instance `index` busy until `until` (s, an estimate) running query `id`: a pool
   * rebuilt around a query still running (the cluster service's re-allocation) must not hand that
   * instance out before its `onComplete`.
   */
  occupy(index: number, until: number, id?: string | number): void {
    if (!(Number.isInteger(index) && index >= 0 && index < this.types.length) || this.busy[index] !== 0)
      throw badField('E_DISPATCH_CONFIG', 'instance', index, 'must be an idle instance index');
    this.busy[index] = 1;
    this.busyUntil[index] = until;
    this.running[index] = id;
  }

  pending(): number {
    return this.queue.length;
  }

  idle(): number {
    let k = 0;
    for (let j = 0; j < this.busy.length; j++) if (this.busy[j] === 0) k++;
    return k;
  }

  instances(now = this.lastNow): InstanceView[] {
    return this.types.map((type, index) => ({
      index,
      type,
      busy: this.busy[index] !== 0,
      remainingMs: Number.isFinite(now) ? this.remainingMs(index, now) : 0,
      running: this.running[index],
    }));
  }

  /** Choose (queue row, idle instance) pairs; each row and instance at most once. */
  protected abstract select(now: number): Pick[];
}

// ─────────────────────────────────────────────────────────────────────────────
// Kairos
// ─────────────────────────────────────────────────────────────────────────────

export interface KairosDistributorOptions extends DistributorBaseOptions {
  /**
   * 'paper' (default): float estimates, QoS-scaled penalties, explicit `baseType`.
   * 'prototype': the released code's behaviour: estimates rounded to integer ms, skew rounded to 2
   * decimals, absolute penalties of 500 / 1000 ms, base = the type of instance 0.
   */
  compat?: 'paper' | 'prototype';
  /**
   * The base (accelerated) type whose latency the heterogeneity coefficients are relative to:
   * skew(type) = L(base, skewSize) / L(type, skewSize). Required in 'paper' mode (list order must
   * not matter); in 'prototype' mode it defaults to `instances[0]`. Need not be in the pool, but the
   * estimator must know it.
   */
  baseType?: string;
  /** Query size at which skew is measured. Default 1000 (the prototype's max batch). */
  skewSize?: number;
  /** Explicit skew per type, overriding the computed ratio (e.g. all 1 to switch skew off). */
  skew?: Readonly<Record<string, number>>;
  /** Safety margin as a fraction of each query's QoS (design §3.2). Default 0.02. */
  safeguard?: number;
  /** Rows of the matching: the first min(|Q|, maxRows) queued queries in FIFO order. Default 2·N. */
  maxRows?: number;
  /**
   * 'paper' mode only: penalty of a pair inside the safety margin (`margin`) or breaking QoS
   * (`violate`), as multiples of the query's QoS (ms) × the largest skew. Defaults 2 and 4
   * (design §7.2): always worse than any QoS-meeting pair of the same query.
   */
  penalty?: { margin: number; violate: number };
  /**
   * 'paper' mode only: a tail latency estimate (ms) of a query of `size` on `type`, e.g. the p99 of
   * the type's measured samples at that size (design §3.4, "tail vs mean"). When given, the QoS
   * penalty test of a pair (remaining + tail − t_qos, against the safeguard) uses it, while the
   * cost of a QoS-meeting pair (skew × (remaining + estimate)) and the remaining time of busy
   * instances keep `estimateMs` (the mean). Must be pure, finite and >= 0. Default: none (the
   * penalty test uses `estimateMs`, as the paper does).
   */
  tailEstimateMs?: LatencyEstimator;
  /**
   * Minimum-cost rectangular assignment solver: a name from `assignmentSolvers` or a function (cost
   * rows -> column per row, -1 = row left out, exactly min(rows, cols) pairs; it must be exact, any
   * optimal assignment will do). Default 'munkres': measured 2–7× faster than
   * 'linear-sum-assignment' on Kairos matrices (bench/dispatch.ts), which stays available and is
   * the cross-check oracle in the tests.
   */
  solver?: AssignmentSolverName | AssignmentSolver;
}

/** See KairosDistributorOptions.solver. */
export type AssignmentSolver = (cost: Float64Array[]) => Int32Array;

/** Inputs of one Kairos matching, ms. Exposed for oracles and the simulator's diagnostics. */
export interface KairosMatchInput {
  /** Per row: remaining QoS time t_qos (ms, 0 once violated), QoS (ms), estimates per column (ms). */
  rows: {
    tQosMs: number;
    qosMs: number;
    estMs: ArrayLike<number>;
    /** Estimates per column for the QoS penalty test (ms); default `estMs`. */
    tailMs?: ArrayLike<number>;
  }[];
  /** Per column: remaining busy time (ms) and skew. */
  cols: { remainingMs: number; skew: number }[];
  safeguard: number;
  /** Penalty (positive cost) for a pair inside the margin / breaking QoS, given the row. */
  penaltyMs: (row: number) => { margin: number; violate: number };
}

/** The Kairos edge cost matrix (rows × cols), cost = −slack, design §3.2. */
export function kairosCostMatrix(input: KairosMatchInput): number[][] {
  const { rows, cols, safeguard } = input;
  const m: number[][] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const pen = input.penaltyMs(i);
    const guardMs = safeguard * r.qosMs;
    const tail = r.tailMs ?? r.estMs;
    const line = new Array<number>(cols.length);
    for (let j = 0; j < cols.length; j++) {
      const c = cols[j]!;
      const finish = c.remainingMs + r.estMs[j]!;
      let cost = c.skew * finish;
      const resi = r.tQosMs - (c.remainingMs + tail[j]!);
      // A query already late is not penalised: once violated, all placements are equally bad.
      if (r.tQosMs > 0 && resi - guardMs < 0) cost = resi >= 0 ? pen.margin : pen.violate;
      line[j] = cost;
    }
    m[i] = line;
  }
  return m;
}

/**
 * One row or one column: the optimum is that line's first minimum. Most decisions of a lightly
 * loaded cluster have a single waiting query, and both libraries pay far more than a scan for it.
 */
function solveLine(cost: ArrayLike<number>[], out: Int32Array): boolean {
  const rows = cost.length;
  const cols = cost[0]!.length;
  if (rows === 1) {
    const r = cost[0]!;
    let best = 0;
    for (let j = 1; j < cols; j++) if (r[j]! < r[best]!) best = j;
    out[0] = best;
    return true;
  }
  if (cols === 1) {
    let best = 0;
    for (let i = 1; i < rows; i++) if (cost[i]![0]! < cost[best]![0]!) best = i;
    out[best] = 0;
    return true;
  }
  return false;
}

/**
 * Minimum-cost rectangular assignment with `munkres` (Hungarian algorithm): the column of each row,
 * or -1 for rows left out (when rows > cols). Exactly min(rows, cols) pairs.
 */
export function solveWithMunkres(cost: ArrayLike<number>[]): Int32Array {
  const out = new Int32Array(cost.length).fill(-1);
  if (cost.length === 0 || cost[0]!.length === 0 || solveLine(cost, out)) return out;
  for (const [y, x] of munkres(cost)) out[y] = x;
  return out;
}

let lsa: typeof LinearSumAssignment | undefined;
/**
 * `linear-sum-assignment`, loaded on first use: with its dependencies (ml-matrix and others) it
 * took ~150-210 ms to import cold, which every process loading the distributor paid (the gateway,
 * the simulator's worker threads) for a solver that is not the default. An ES module: `require`
 * loads it on Node ≥ 20.19.
 */
function linearSumAssignment(): typeof LinearSumAssignment {
  if (lsa === undefined) {
    try {
      lsa = (
        createRequire(import.meta.url)('linear-sum-assignment') as {
          linearSumAssignment: typeof LinearSumAssignment;
        }
      ).linearSumAssignment;
    } catch (e) {
      throw badField(
        'E_DISPATCH_CONFIG',
        'solver',
        'linear-sum-assignment',
        `could not be loaded (${(e as Error).message}); it needs Node ≥ 20.19 (require of an ES module): use 'munkres'`,
      );
    }
  }
  return lsa;
}

/** As solveWithMunkres, with `linear-sum-assignment` (Jonker–Volgenant shortest augmenting paths). */
export function solveWithLinearSumAssignment(cost: ArrayLike<number>[]): Int32Array {
  const rows = cost.length;
  const out = new Int32Array(rows).fill(-1);
  if (rows === 0 || cost[0]!.length === 0 || solveLine(cost, out)) return out;
  const r = linearSumAssignment()(cost as number[][], { maximaze: false });
  for (let i = 0; i < rows; i++) out[i] = r.rowAssignments[i]!;
  return out;
}

/** The exact solvers a Kairos distributor can be given by name. */
export const assignmentSolvers = {
  munkres: solveWithMunkres,
  'linear-sum-assignment': solveWithLinearSumAssignment,
} as const satisfies Record<string, AssignmentSolver>;
export type AssignmentSolverName = keyof typeof assignmentSolvers;

/** The default solver (munkres). */
export function solveAssignment(cost: ArrayLike<number>[]): Int32Array {
  return solveWithMunkres(cost);
}

export class KairosDistributor<P = unknown> extends DistributorBase<P> {
  readonly name = 'kairos';
  readonly compat: 'paper' | 'prototype';
  readonly baseType: string;
  /** Skew per instance (index-aligned with the pool). */
  readonly skew: Float64Array;
  readonly #safeguard: number;
  readonly #maxRows: number;
  readonly #maxSkew: number;
  /** tailEstimateMs per distinct type for a size (undefined: the penalty test uses the mean). */
  readonly #tailRow: ((size: number) => Float64Array) | undefined;
  readonly #penalty: { margin: number; violate: number };
  readonly #typeNames: string[];
  readonly #typeIdx: Int32Array;
  /** Estimates of a size on every distinct type (rounded in prototype mode). */
  readonly #estRow: (size: number) => Float64Array;
  readonly #rem: Float64Array;
  readonly #solver: AssignmentSolver;
  readonly #costPool: Float64Array[] = [];
  readonly #costViews: (Float64Array[] | undefined)[] = [];

  constructor(o: KairosDistributorOptions) {
    super(o);
    this.#typeNames = [...new Set(this.types)];
    this.#typeIdx = Int32Array.from(this.types, (t) => this.#typeNames.indexOf(t));
    this.#rem = new Float64Array(this.types.length);
    const compat = o.compat ?? 'paper';
    if (compat !== 'paper' && compat !== 'prototype') {
      throw badField('E_DISPATCH_CONFIG', 'compat', compat, "must be 'paper' or 'prototype'");
    }
    this.compat = compat;
    const base = o.baseType ?? (compat === 'prototype' ? o.instances[0] : undefined);
    if (typeof base !== 'string' || base.length === 0) {
      throw badField(
        'E_DISPATCH_CONFIG',
        'baseType',
        o.baseType,
        "must name the base instance type (required unless compat 'prototype')",
      );
    }
    this.baseType = base;
    const skewSize = o.skewSize ?? 1000;
    if (!(Number.isFinite(skewSize) && skewSize > 0))
      throw badField('E_DISPATCH_CONFIG', 'skewSize', skewSize, 'must be a query size > 0');
    const safeguard = o.safeguard ?? 0.02;
    if (!(Number.isFinite(safeguard) && safeguard >= 0 && safeguard < 1)) {
      throw badField('E_DISPATCH_CONFIG', 'safeguard', safeguard, 'must be a fraction of the QoS in [0, 1)');
    }
    this.#safeguard = safeguard;
    const n = this.types.length;
    const maxRows = o.maxRows ?? 2 * n;
    if (!(Number.isInteger(maxRows) && maxRows >= 1))
      throw badField('E_DISPATCH_CONFIG', 'maxRows', maxRows, 'must be an integer >= 1');
    this.#maxRows = maxRows;
    const pen = o.penalty ?? { margin: 2, violate: 4 };
    if (!(
      Number.isFinite(pen?.margin) &&
      Number.isFinite(pen?.violate) &&
      pen.margin > 1 &&
      pen.violate >= pen.margin
    )) {
      throw badField(
        'E_DISPATCH_CONFIG',
        'penalty',
        pen,
        'needs finite multiples with 1 < margin <= violate',
      );
    }
    this.#penalty = pen;
    const solver = o.solver ?? 'munkres';
    if (typeof solver === 'function') this.#solver = solver;
    else if (typeof solver === 'string' && Object.hasOwn(assignmentSolvers, solver)) {
      this.#solver = assignmentSolvers[solver];
    } else {
      throw badField(
        'E_DISPATCH_CONFIG',
        'solver',
        solver,
        `must be one of ${Object.keys(assignmentSolvers).join(', ')} or a function (cost rows) => column per row`,
      );
    }

    const baseLat = this.estimate(base, skewSize);
    this.skew = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const t = this.types[j]!;
      let s = o.skew?.[t];
      if (s === undefined) {
        const lat = this.estimate(t, skewSize);
        s = lat > 0 ? baseLat / lat : 1;
        if (compat === 'prototype') s = Math.round(s * 100) / 100;
      }
      if (!(Number.isFinite(s) && s > 0))
        throw badField('E_DISPATCH_CONFIG', `skew.${t}`, s, 'must be a finite coefficient > 0');
      this.skew[j] = s;
    }
    this.#maxSkew = Math.max(...this.skew);
    const tail = o.tailEstimateMs;
    if (tail !== undefined && typeof tail !== 'function')
      throw badField('E_DISPATCH_CONFIG', 'tailEstimateMs', tail, 'must be a function (type, size) => ms');
    if (tail !== undefined && compat === 'prototype')
      throw badField('E_DISPATCH_CONFIG', 'tailEstimateMs', 'function', "is a 'paper' mode option");
    this.#tailRow = tail && rowsBySize(this.#typeNames, tail, 'tailEstimateMs');
    this.#estRow = rowsBySize(this.#typeNames, (t, size) => this.estimate(t, size), 'estimateMs');
  }

  protected override estimate(type: string, size: number): number {
    const v = super.estimate(type, size);
    return this.compat === 'prototype' ? Math.round(v) : v;
  }

  /** The full matching at `now` (busy columns included), row -> column. For diagnostics and oracles. */
  matchingInput(now: number): KairosMatchInput {
    const k = Math.min(this.queue.length, this.#maxRows);
    const n = this.types.length;
    const cols = new Array<{ remainingMs: number; skew: number }>(n);
    for (let j = 0; j < n; j++) cols[j] = { remainingMs: this.remainingMs(j, now), skew: this.skew[j]! };
    const rows = new Array<KairosMatchInput['rows'][number]>(k);
    for (let i = 0; i < k; i++) {
      const q = this.queue[i]!;
      const est = new Float64Array(n);
      for (let j = 0; j < n; j++) est[j] = this.estimate(this.types[j]!, q.size);
      const t = (q.deadline - now) * 1000;
      rows[i] = { tQosMs: t > 0 ? t : 0, qosMs: (q.deadline - q.arrival) * 1000, estMs: est };
      if (this.#tailRow) {
        const tr = this.#tailRow(q.size);
        rows[i]!.tailMs = Float64Array.from(this.types, (_, j) => tr[this.#typeIdx[j]!]!);
      }
    }
    const proto = this.compat === 'prototype';
    const scale = this.#maxSkew;
    const pen = this.#penalty;
    return {
      rows,
      cols,
      safeguard: this.#safeguard,
      penaltyMs: proto
        ? () => ({ margin: 500, violate: 1000 })
        : (i) => ({
            margin: pen.margin * rows[i]!.qosMs * scale,
            violate: pen.violate * rows[i]!.qosMs * scale,
          }),
    };
  }

  /**
   * The first k rows of a pool of cost rows reused across decisions (one matrix per decision would
   * dominate a simulation's garbage). The solver gets them for the call only.
   */
  #costRows(k: number, n: number): Float64Array[] {
    let v = this.#costViews[k];
    if (v === undefined) {
      const pool = this.#costPool;
      while (pool.length < k) pool.push(new Float64Array(n));
      v = this.#costViews[k] = pool.slice(0, k);
    }
    return v;
  }

  /**
   * Hot path: the same costs as kairosCostMatrix(matchingInput(now)) (a property test holds them
   * equal), built without intermediate objects and with one estimate lookup per row.
   */
  protected select(now: number): Pick[] {
    const k = Math.min(this.queue.length, this.#maxRows);
    const n = this.types.length;
    const rem = this.#rem;
    for (let j = 0; j < n; j++) rem[j] = this.remainingMs(j, now);
    const skew = this.skew;
    const tIdx = this.#typeIdx;
    const proto = this.compat === 'prototype';
    const cost = this.#costRows(k, n);
    for (let i = 0; i < k; i++) {
      const q = this.queue[i]!;
      const est = this.#estRow(q.size);
      const tail = this.#tailRow ? this.#tailRow(q.size) : est;
      const t = (q.deadline - now) * 1000;
      const tQos = t > 0 ? t : 0;
      const qos = (q.deadline - q.arrival) * 1000;
      const guard = this.#safeguard * qos;
      const margin = proto ? 500 : this.#penalty.margin * qos * this.#maxSkew;
      const violate = proto ? 1000 : this.#penalty.violate * qos * this.#maxSkew;
      const line = cost[i]!;
      for (let j = 0; j < n; j++) {
        const finish = rem[j]! + est[tIdx[j]!]!;
        const resi = tQos - (rem[j]! + tail[tIdx[j]!]!);
        line[j] = tQos > 0 && resi - guard < 0 ? (resi >= 0 ? margin : violate) : skew[j]! * finish;
      }
    }
    const match = this.#solver(cost);
    const picks: Pick[] = [];
    for (let i = 0; i < k; i++) {
      const j = match[i]!;
      // Pairs on busy instances stay queued: the query is in effect reserved for a soon-free one.
      if (j >= 0 && this.busy[j] === 0) {
        picks.push({ row: i, instance: j, estimateMs: this.#estRow(this.queue[i]!.size)[tIdx[j]!]! });
      }
    }
    return picks;
  }
}

// ─────────────────────────────────────────────────────────────────────────────
// Baselines
// ─────────────────────────────────────────────────────────────────────────────

/** FCFS: the queue head goes to the first idle instance in pool order, repeatedly (the prototype's baseline). */
export class FcfsDistributor<P = unknown> extends DistributorBase<P> {
  readonly name = 'fcfs';
  protected select(): Pick[] {
    const picks: Pick[] = [];
    let row = 0;
    for (let j = 0; j < this.types.length && row < this.queue.length; j++) {
      if (this.busy[j] !== 0) continue;
      picks.push({ row, instance: j, estimateMs: this.estimate(this.types[j]!, this.queue[row]!.size) });
      row++;
    }
    return picks;
  }
}

export interface LeastFinishDistributorOptions extends DistributorBaseOptions {
  /** Queries considered per decision, FIFO prefix. Default 2·N (as Kairos). */
  maxRows?: number;
}

/**
 * Greedy least expected finish time: in FIFO order each query claims the not-yet-claimed instance
 * with the smallest remaining + estimated time (ties: lower index); it is dispatched if that
 * instance is idle, otherwise it waits for it.
 */
export class LeastFinishDistributor<P = unknown> extends DistributorBase<P> {
  readonly name = 'least-finish';
  readonly #maxRows: number;
  constructor(o: LeastFinishDistributorOptions) {
    super(o);
    const maxRows = o.maxRows ?? 2 * this.types.length;
    if (!(Number.isInteger(maxRows) && maxRows >= 1))
      throw badField('E_DISPATCH_CONFIG', 'maxRows', maxRows, 'must be an integer >= 1');
    this.#maxRows = maxRows;
  }
  protected select(now: number): Pick[] {
    const n = this.types.length;
    const claimed = new Uint8Array(n);
    const picks: Pick[] = [];
    const k = Math.min(this.queue.length, this.#maxRows, n);
    for (let i = 0; i < k; i++) {
      const size = this.queue[i]!.size;
      let best = -1;
      let bestT = Infinity;
      let bestEst = 0;
      for (let j = 0; j < n; j++) {
        if (claimed[j] !== 0) continue;
        const est = this.estimate(this.types[j]!, size);
        const t = this.remainingMs(j, now) + est;
        if (t < bestT) {
          best = j;
          bestT = t;
          bestEst = est;
        }
      }
      if (best < 0) break;
      claimed[best] = 1;
      if (this.busy[best] === 0) picks.push({ row: i, instance: best, estimateMs: bestEst });
    }
    return picks;
  }
}

export interface SizeThresholdDistributorOptions extends DistributorBaseOptions {
  /** Queries of size <= threshold are "small" and go to the other types; larger ones to `largeTypes`. */
  threshold: number;
  /** Types that serve large queries (the accelerators). */
  largeTypes: readonly string[];
  /** Let a query take an idle instance of the other class when none of its own is idle. Default false. */
  spill?: boolean;
}

/**
 * DeepRecSys-like: a fixed query-size threshold splits traffic between accelerated and CPU
 * instances (DeepRecSys hill-climbs it per configuration; here it is a given). Each class is FIFO;
 * a query never blocks the other class's queries behind it.
 */
export class SizeThresholdDistributor<P = unknown> extends DistributorBase<P> {
  readonly name = 'size-threshold';
  readonly #threshold: number;
  readonly #large: Uint8Array;
  readonly #spill: boolean;
  constructor(o: SizeThresholdDistributorOptions) {
    super(o);
    if (!(Number.isFinite(o.threshold) && o.threshold >= 0))
      throw badField('E_DISPATCH_CONFIG', 'threshold', o.threshold, 'must be a query size >= 0');
    if (!Array.isArray(o.largeTypes) || o.largeTypes.length === 0) {
      throw badField(
        'E_DISPATCH_CONFIG',
        'largeTypes',
        o.largeTypes,
        'must list the instance types that serve large queries',
      );
    }
    this.#threshold = o.threshold;
    this.#large = Uint8Array.from(this.types, (t) => (o.largeTypes.includes(t) ? 1 : 0));
    this.#spill = o.spill ?? false;
  }
  protected select(): Pick[] {
    const n = this.types.length;
    const used = new Uint8Array(n);
    const picks: Pick[] = [];
    const firstIdle = (large: number): number => {
      for (let j = 0; j < n; j++)
        if (this.busy[j] === 0 && used[j] === 0 && this.#large[j] === large) return j;
      return -1;
    };
    for (let i = 0; i < this.queue.length; i++) {
      const q = this.queue[i]!;
      const cls = q.size > this.#threshold ? 1 : 0;
      let j = firstIdle(cls);
      if (j < 0 && this.#spill) j = firstIdle(1 - cls);
      if (j < 0) {
        if (firstIdle(0) < 0 && firstIdle(1) < 0) break;
        continue;
      }
      used[j] = 1;
      picks.push({ row: i, instance: j, estimateMs: this.estimate(this.types[j]!, q.size) });
    }
    return picks;
  }
}

export function createKairosDistributor<P = unknown>(o: KairosDistributorOptions): KairosDistributor<P> {
  return new KairosDistributor<P>(o);
}
export function createFcfsDistributor<P = unknown>(o: DistributorBaseOptions): FcfsDistributor<P> {
  return new FcfsDistributor<P>(o);
}
export function createLeastFinishDistributor<P = unknown>(
  o: LeastFinishDistributorOptions,
): LeastFinishDistributor<P> {
  return new LeastFinishDistributor<P>(o);
}
export function createSizeThresholdDistributor<P = unknown>(
  o: SizeThresholdDistributorOptions,
): SizeThresholdDistributor<P> {
  return new SizeThresholdDistributor<P>(o);
}
