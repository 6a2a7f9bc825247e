/**
 * Public contracts of the dispatch core. The simulator (virtual time) and the gateway (real time)
 * use these interfaces only; the implementations live next to this file.
 *
 * Units: every time crossing these interfaces is **seconds** (JS numbers, the `TimerSource`'s
 * clock). Kairos latency estimates and QoS are **ms** where named `…Ms`.
 */
import type { ErrorCode } from '../model/errors.ts';
import type { Plan } from '../model/plan.ts';
import type { TimerSource } from './clock.ts';

// ─────────────────────────────────────────────────────────────────────────────
// Batch manager (serverless mode, HarmonyBatch design §8.1)
// ─────────────────────────────────────────────────────────────────────────────

/** One inference request as the batch manager sees it. The manager never copies it. */
export interface DispatchRequest<P = unknown> {
  /** Caller's id; only reported back, never interpreted. */
  readonly id: string | number;
  /** Application name; must be in one group of the current plan. */
  readonly app: string;
  /** Arrival time, seconds (the app's timeout timer starts here, not when the buffer opens). */
  readonly arrival: number;
  /** Absolute deadline, seconds (normally arrival + the app's SLO). */
  readonly deadline: number;
  /**
   * Admitted past its app's planned share (an overloading app's excess, see the gateway's
   * admission): when a buffer holds more than a batch, the requests without it go first, so an
   * app within its share never waits behind another's flood. Default false (plain policy order).
   */
  readonly deferred?: boolean;
  readonly payload: P;
}

/** Why a submit was refused. */
export type RejectReason =
  /** The app is in no group of the current plan (error code E_UNKNOWN_APP). */
  | 'unknown-app'
  /** The group's buffer is at `capacity` and nothing could be shed (E_QUEUE_FULL). */
  | 'queue-full'
  /** `rejectLate` is on and the request cannot meet its deadline even if released now (E_DEADLINE_LOST). */
  | 'deadline-lost'
  /** `close()` was called (E_SHUTTING_DOWN). */
  | 'closed';

export type SubmitResult =
  | { readonly accepted: true }
  | {
      readonly accepted: false;
      readonly reason: RejectReason;
      readonly code: ErrorCode;
      readonly message: string;
    };

/** Why a batch left its buffer. */
export type ReleaseReason =
  /** The buffer reached the group's batch size. */
  | 'full'
  /** The buffer's release time (policy-defined, e.g. earliest arrival + app timeout) came. */
  | 'timeout'
  /** `flush()` / `close()` emptied the buffers. */
  | 'flush'
  /** A reconfiguration removed the app's group: its queued requests leave at once, in their old group. */
  | 'reconfigure';

/** A plan group as the manager uses it (resolved from `Plan.groups[i]`). */
export interface GroupView {
  /** Index in the plan's `groups`. */
  readonly index: number;
  /** Stable key: the group's app names joined with ','. */
  readonly key: string;
  readonly apps: readonly string[];
  readonly batchSize: number;
  /** Per-app batching timeout, seconds. */
  readonly timeouts: Readonly<Record<string, number>>;
  /** Predicted batch latency, seconds (plan's latency.max), used for deadline checks. */
  readonly latencyMax: number;
  /** Buffer bound (>= batchSize). */
  readonly capacity: number;
}

export interface Batch<P = unknown> {
  readonly group: GroupView;
  /** Version of the plan the batch was formed under (0 for the constructor's plan, +1 per reconfigure). */
  readonly planVersion: number;
  /** Requests in dispatch order (policy order: FIFO by arrival, or by deadline for EDF). Owned by the receiver. */
  readonly requests: DispatchRequest<P>[];
  readonly reason: ReleaseReason;
  /** Release time, seconds. */
  readonly releasedAt: number;
  /** How many of `requests` are predicted to miss their deadline (releasedAt + latencyMax > deadline). */
  readonly late: number;
}

/** Why the manager dropped an already accepted request (reported through `onDrop`). */
export type DropReason =
  /** Shed by the 'shed-lost' overflow policy: its deadline was already lost when the buffer overflowed. */
  | 'shed'
  /** `lateAtRelease: 'drop'` and it would miss its deadline at release. */
  | 'deadline-lost';

/**
 * A batching policy: when a buffer must release and in which order its requests go. The manager
 * owns buffers, timers and capacity; a policy is a pure function of a request and its group.
 */
export interface BatchPolicy {
  readonly name: string;
  /** Order of requests inside a batch (and which ones go first when a buffer holds more than batchSize). */
  readonly order: 'fifo' | 'deadline';
  /**
   * Absolute time (s) by which this request forces its buffer's release, or `Infinity` for "never on
   * its own". `first` is true when the request is the oldest one in its buffer (it opened the batch).
   * The buffer releases at the minimum over its requests. Must be a pure function of its inputs.
   */
  releaseBy(req: DispatchRequest, group: GroupView, first: boolean): number;
}

export interface BatchManagerStats {
  readonly submitted: number;
  readonly accepted: number;
  readonly rejected: Readonly<Record<RejectReason, number>>;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly batches: Readonly<Record<ReleaseReason, number>>;
  /** Requests released in batches (sum of batch sizes). */
  readonly released: number;
  /** Released requests predicted late (sum of Batch.late). */
  readonly late: number;
  /** Batches released and not yet completed (tracked only when maxInFlight is finite; else 0). */
  readonly inFlight: number;
  /** Requests waiting now, total and per group index. */
  readonly queued: number;
  readonly queuedPerGroup: readonly number[];
  readonly planVersion: number;
  readonly reconfigurations: number;
}

export interface BatchManagerOptions<P = unknown> {
  /** The plan whose groups define the buffers (validated; E_DISPATCH_CONFIG on a bad one). */
  plan: Plan;
  /** Timers and clock. Real time: `new RealTimeSource()`; tests/simulator: a virtual source. */
  timers: TimerSource;
  /** Receives each released batch, synchronously, inside submit()/timer/flush/reconfigure. */
  onBatch: (batch: Batch<P>) => void;
  /** Receives each accepted request the manager drops (shed or late). Default: ignore (counted in stats). */
  onDrop?: (req: DispatchRequest<P>, reason: DropReason, group: GroupView) => void;
  /** Batching policy. Default: `harmonyBatchPolicy` (multi-timeout). */
  policy?: BatchPolicy;
  /**
   * Most batches of one group out at the same time (released and not yet `complete()`d): an integer
   * >= 1 or Infinity for every group, or a function of the group (called once per group of each
   * plan) returning one. Default Infinity: every batch gets its own function instance, as
   * HarmonyBatch and FC do, and `complete()` need not be called. With a finite value a ready batch
   * ('full' or 'timeout') waits in its buffer until `complete()` frees a slot, so buffers can grow
   * to `capacity`. A new plan's groups start with no batch out: batches of the old plan that are
   * still running count against their old group only.
   */
  maxInFlight?: number | ((group: GroupView) => number);
  /**
   * Buffer bound per group, as a multiple of the group's batch size (integer >= 1), or a function of
   * the group returning an absolute capacity >= batchSize. Default 4. A buffer only holds more than
   * a batch while `maxInFlight` holds its batches back; at capacity, `overflow` decides.
   */
  capacity?: number | ((group: Omit<GroupView, 'capacity'>) => number);
  /**
   * What a submit does when its group's buffer is at capacity. Default 'reject'.
   * - 'reject': refuse the new request with reason 'queue-full'.
   * - 'shed-lost': drop (onDrop 'shed') the queued request with the earliest deadline among those
   *   whose deadline is already lost (now + latencyMax > deadline) and accept the new one; if none is
   *   lost, refuse the new one with 'queue-full'.
   */
  overflow?: 'reject' | 'shed-lost';
  /**
   * Deadline check applied to each request when its batch is released. Default 'send'.
   * - 'send': send it anyway (paper behaviour: it is served and counted as a violation); counted in Batch.late.
   * - 'drop': remove it from the batch and report it through onDrop 'deadline-lost'. A batch emptied this way is not emitted.
   *   When more than a batch is queued, every queued request late now leaves first, so the batch fills with ones in time.
   * - 'drop-deferred': as 'drop', for the requests marked `deferred` only (the others are sent).
   */
  lateAtRelease?: 'send' | 'drop' | 'drop-deferred';
  /**
   * Seconds a deferred request's batch is expected to take when `lateAtRelease` judges it at
   * release (the larger of this and the group's latencyMax), e.g. the measured batch latency:
   * on a backend running slower than the plan a deferred request that cannot make it is dropped
   * rather than sent late. Default: latencyMax only.
   */
  deferredLatency?: (group: GroupView) => number;
  /** Refuse at submit a request that is already lost (now + latencyMax > deadline). Default false. */
  rejectLate?: boolean;
}

/** The multi-SLO batch manager. */
export interface BatchManager<P = unknown> {
  /** Enqueue a request (O(1) amortised; releases synchronously when the buffer fills). */
  submit(req: DispatchRequest<P>): SubmitResult;
  /**
   * Swap in a new plan atomically. Queued requests are re-homed to their app's group in the new plan
   * (in arrival order; timers recomputed from their original arrival). Buffers at or above the new
   * batch size release 'full' at once (within maxInFlight). Requests whose app has no group in the new
   * plan are released at once (ignoring maxInFlight) with reason 'reconfigure' in their old group, in
   * batches of at most the old batch size, carrying the old plan's `planVersion` (the plan their
   * group belongs to). Nothing is dropped or sent twice. An invalid plan throws E_DISPATCH_CONFIG and
   * changes nothing.
   */
  reconfigure(plan: Plan): void;
  /**
   * The receiver finished `batch` (frees one `maxInFlight` slot of its group; a waiting ready batch
   * leaves at once). A batch from a previous plan frees its old group's slot only. Completing a batch
   * twice or one this manager never released: E_DISPATCH_CONFIG. A no-op for a group whose
   * maxInFlight is Infinity.
   */
  complete(batch: Batch<P>): void;
  /** Release every non-empty buffer now (reason 'flush'), ignoring maxInFlight; keeps accepting. */
  flush(): void;
  /** flush(), cancel all timers and refuse later submits ('closed'). Idempotent. */
  close(): void;
  /** Current groups (index order). */
  groups(): readonly GroupView[];
  stats(): BatchManagerStats;
}

// ─────────────────────────────────────────────────────────────────────────────
// Query distributor (cluster mode, Kairos design §3)
// ─────────────────────────────────────────────────────────────────────────────

/** A query waiting for an instance. */
export interface PendingQuery<P = unknown> {
  readonly id: string | number;
  /** Query (batch) size, >= 1. */
  readonly size: number;
  /** Arrival time, seconds. */
  readonly arrival: number;
  /** Absolute deadline, seconds (arrival + QoS). */
  readonly deadline: number;
  readonly payload?: P;
}

/** One serving instance as a distributor sees it. */
export interface InstanceView {
  /** Index in the pool (stable). */
  readonly index: number;
  /** Instance type name (a key of the latency table). */
  readonly type: string;
  readonly busy: boolean;
  /** Estimated remaining time of the running query, ms, at `instances(now)`'s now (default: the last decide/complete time); 0 when idle or overdue. */
  readonly remainingMs: number;
  /** Id of the query it is running, or undefined when idle. */
  readonly running: string | number | undefined;
}

export interface Assignment<P = unknown> {
  readonly query: PendingQuery<P>;
  /** Instance index (always an idle one at decision time). */
  readonly instance: number;
  /** Estimated service time on that instance, ms. */
  readonly estimateMs: number;
}

/** `(instance type, query size) -> estimated latency in ms`. Must be finite and >= 0. */
export type LatencyEstimator = (type: string, size: number) => number;

/**
 * A query distributor: holds the FIFO of pending queries and the instances' busy state.
 * `decide(now)` only ever assigns to idle instances, each at most once, each query at most once.
 */
export interface QueryDistributor<P = unknown> {
  readonly name: string;
  /** Append a query to the FIFO. */
  enqueue(q: PendingQuery<P>): void;
  /**
   * Decide at time `now` (seconds): returns assignments (possibly none). Assigned queries leave the
   * queue; their instances become busy with the estimate as remaining time. Deterministic.
   */
  decide(now: number): Assignment<P>[];
  /** Instance `index` finished its query at `now` (seconds) and is idle again. Unknown/idle index: E_DISPATCH_CONFIG. */
  onComplete(index: number, now: number): void;
  /** Number of queries waiting. */
  pending(): number;
  /** Number of idle instances (cheap: no snapshot is built). */
  idle(): number;
  /** Snapshot of the instances (remaining time as of `now` seconds when given). */
  instances(now?: number): InstanceView[];
}

/** Options shared by all distributors. */
export interface DistributorBaseOptions {
  /** Instance types, one entry per instance, in pool order. */
  instances: readonly string[];
  /** Latency estimator (ms); e.g. the cluster latency table's `(type, size) => ms`. */
  estimateMs: LatencyEstimator;
}
