/**
 * The multi-SLO batch manager (HarmonyBatch design §8.1): one buffer per plan group, released when
 * it holds `batchSize` requests or when the policy's earliest release time comes. One timer per
 * buffer (its earliest release time), never one per request; the hot path allocates nothing.
 */
import { z } from 'zod';
import { badField, HetserveError, type ErrorCode } from '../model/errors.ts';
import type { Plan } from '../model/plan.ts';
import { parseWith } from '../model/validate.ts';
import type { TimerId, TimerSource } from './clock.ts';
import { harmonyBatchPolicy } from './policies.ts';
import type {
  Batch,
  BatchManager,
  BatchManagerOptions,
  BatchManagerStats,
  BatchPolicy,
  DispatchRequest,
  DropReason,
  GroupView,
  RejectReason,
  ReleaseReason,
  SubmitResult,
} from './types.ts';

/** Only the parts of a plan the manager reads; the rest of the plan is not its business. */
const DispatchPlanSchema = z.object({
  groups: z
    .array(
      z.object({
        apps: z.array(z.string().min(1)).min(1),
        batchSize: z.number().int().positive(),
        timeouts: z.record(z.string(), z.number().finite().nonnegative()),
        latency: z.object({ max: z.number().finite().nonnegative() }),
        /** A split app's share of its traffic in this group, req/s (see `Route`). */
        appRps: z.record(z.string(), z.number().finite().nonnegative()).optional(),
      }),
    )
    .min(1),
});

const ACCEPTED: SubmitResult = Object.freeze({ accepted: true as const });

const REJECT_CODE: Record<RejectReason, ErrorCode> = {
  'unknown-app': 'E_UNKNOWN_APP',
  'queue-full': 'E_QUEUE_FULL',
  'deadline-lost': 'E_DEADLINE_LOST',
  closed: 'E_SHUTTING_DOWN',
};

/** Per-group buffer. `reqs` is kept in arrival order (policy order is applied at release). */
interface Buffer<P> {
  readonly group: GroupView;
  reqs: DispatchRequest<P>[];
  /** Earliest release time of the queued requests (Infinity when empty). */
  due: number;
  timer: TimerId | undefined;
  /** Time the armed timer fires at (Infinity when none). */
  timerAt: number;
  /** Released batches not yet completed. */
  inFlight: number;
  /** Queued requests marked `deferred` (they go after the others when a batch is formed). */
  deferred: number;
  /** The group's resolved maxInFlight (Infinity = untracked). */
  readonly maxInFlight: number;
  /** Bound once per buffer so arming a timer allocates no closure. */
  readonly fire: () => void;
}

/**
 * Where an app's requests go. An app split over several groups (a plan's `appRps`) is spread over
 * them in proportion to its shares by smooth weighted round-robin: deterministic, so the simulator
 * and the gateway route the same sequence the same way, and never more than one request off the
 * exact proportion. One group: `bufs` has one entry and no state.
 */
interface Route<P> {
  readonly bufs: Buffer<P>[];
  readonly weights: number[];
  readonly current: number[];
  readonly total: number;
}

function pickBuffer<P>(r: Route<P>): Buffer<P> {
  const bufs = r.bufs;
  if (bufs.length === 1) return bufs[0]!;
  const cur = r.current;
  let best = 0;
  for (let i = 0; i < bufs.length; i++) {
    cur[i]! += r.weights[i]!;
    if (cur[i]! > cur[best]!) best = i;
  }
  cur[best]! -= r.total;
  return bufs[best]!;
}

interface Pending<P> {
  batch: Batch<P>;
}

export function createBatchManager<P = unknown>(options: BatchManagerOptions<P>): BatchManager<P> {
  return new MultiSloBatchManager(options);
}

export class MultiSloBatchManager<P = unknown> implements BatchManager<P> {
  readonly #timers: TimerSource;
  readonly #onBatch: (batch: Batch<P>) => void;
  readonly #onDrop: BatchManagerOptions<P>['onDrop'];
  readonly #policy: BatchPolicy;
  readonly #capacity: NonNullable<BatchManagerOptions<P>['capacity']>;
  readonly #shed: boolean;
  /** lateAtRelease: 'send' = never drop; 'drop' = every late request; 'drop-deferred' = deferred ones. */
  readonly #dropLate: false | 'all' | 'deferred';
  readonly #deferredLatency: BatchManagerOptions<P>['deferredLatency'];
  readonly #rejectLate: boolean;
  readonly #maxInFlight: NonNullable<BatchManagerOptions<P>['maxInFlight']>;
  /** Groups whose maxInFlight is Infinity: completing their batches is a no-op. */
  readonly #unlimited = new WeakSet<GroupView>();
  /** Batch -> whether it is still out (for complete()). */
  readonly #out = new WeakMap<DispatchRequest<P>[], Buffer<P>>();

  #byApp = new Map<string, Route<P>>();
  #buffers: Buffer<P>[] = [];
  /** Buffers of the plan in force (a completed batch of an older plan's group is not re-released). */
  #current = new WeakSet<Buffer<P>>();
  #version = 0;
  #closed = false;
  /** Batches produced while state is inconsistent (reconfigure), emitted afterwards. */
  #outbox: Pending<P>[] | undefined;

  // counters (plain fields: cheaper than a record on the hot path)
  #submitted = 0;
  #accepted = 0;
  #rejected: Record<RejectReason, number> = {
    'unknown-app': 0,
    'queue-full': 0,
    'deadline-lost': 0,
    closed: 0,
  };
  #dropped: Record<DropReason, number> = { shed: 0, 'deadline-lost': 0 };
  #batches: Record<ReleaseReason, number> = { full: 0, timeout: 0, flush: 0, reconfigure: 0 };
  #released = 0;
  #late = 0;
  #reconfigurations = 0;

  constructor(options: BatchManagerOptions<P>) {
    if (options === null || typeof options !== 'object') {
      throw badField('E_DISPATCH_CONFIG', 'options', options, 'must be an object');
    }
    const t = options.timers;
    if (
      !t ||
      typeof t.now !== 'function' ||
      typeof t.setTimer !== 'function' ||
      typeof t.clearTimer !== 'function'
    ) {
      throw badField('E_DISPATCH_CONFIG', 'timers', t, 'must be a TimerSource (now, setTimer, clearTimer)');
    }
    if (typeof options.onBatch !== 'function') {
      throw badField('E_DISPATCH_CONFIG', 'onBatch', options.onBatch, 'must be a function');
    }
    if (options.onDrop !== undefined && typeof options.onDrop !== 'function') {
      throw badField('E_DISPATCH_CONFIG', 'onDrop', options.onDrop, 'must be a function');
    }
    const policy = options.policy ?? harmonyBatchPolicy;
    if (
      !policy ||
      typeof policy.releaseBy !== 'function' ||
      (policy.order !== 'fifo' && policy.order !== 'deadline')
    ) {
      throw badField(
        'E_DISPATCH_CONFIG',
        'policy',
        policy,
        "must be a BatchPolicy (releaseBy, order 'fifo'|'deadline')",
      );
    }
    const cap = options.capacity ?? 4;
    if (typeof cap !== 'function' && !(Number.isInteger(cap) && cap >= 1)) {
      throw badField(
        'E_DISPATCH_CONFIG',
        'capacity',
        cap,
        'must be an integer multiple of the batch size >= 1, or a function',
      );
    }
    const overflow = options.overflow ?? 'reject';
    if (overflow !== 'reject' && overflow !== 'shed-lost') {
      throw badField('E_DISPATCH_CONFIG', 'overflow', overflow, "must be 'reject' or 'shed-lost'");
    }
    const late = options.lateAtRelease ?? 'send';
    if (late !== 'send' && late !== 'drop' && late !== 'drop-deferred') {
      throw badField('E_DISPATCH_CONFIG', 'lateAtRelease', late, "must be 'send', 'drop' or 'drop-deferred'");
    }
    if (options.deferredLatency !== undefined && typeof options.deferredLatency !== 'function') {
      throw badField('E_DISPATCH_CONFIG', 'deferredLatency', options.deferredLatency, 'must be a function');
    }
    if (options.rejectLate !== undefined && typeof options.rejectLate !== 'boolean') {
      throw badField('E_DISPATCH_CONFIG', 'rejectLate', options.rejectLate, 'must be a boolean');
    }
    const mif = options.maxInFlight ?? Infinity;
    if (typeof mif !== 'function' && !isInFlightLimit(mif)) {
      throw badField(
        'E_DISPATCH_CONFIG',
        'maxInFlight',
        mif,
        'must be an integer >= 1, Infinity, or a function of the group',
      );
    }
    this.#maxInFlight = mif;
    this.#timers = t;
    this.#onBatch = options.onBatch;
    this.#onDrop = options.onDrop;
    this.#policy = policy;
    this.#capacity = cap;
    this.#shed = overflow === 'shed-lost';
    this.#dropLate = late === 'drop' ? 'all' : late === 'drop-deferred' ? 'deferred' : false;
    this.#deferredLatency = options.deferredLatency;
    this.#rejectLate = options.rejectLate ?? false;
    const { buffers, byApp } = this.#build(options.plan);
    this.#buffers = buffers;
    this.#byApp = byApp;
    for (const b of buffers) this.#current.add(b);
  }

  // ── public API ────────────────────────────────────────────────────────────

  submit(req: DispatchRequest<P>): SubmitResult {
    this.#submitted++;
    if (this.#closed) return this.#reject('closed', req);
    const route = this.#byApp.get(req.app);
    if (route === undefined) return this.#reject('unknown-app', req);
    const buf = pickBuffer(route);
    // NaN times would poison the buffer's release time; refuse them loudly (a caller bug).
    if (!(req.arrival <= req.deadline)) {
      throw badField(
        'E_INVALID_INPUT',
        'request.deadline',
        req.deadline,
        `must be a time >= arrival (${req.arrival})`,
      );
    }
    const g = buf.group;
    if (this.#rejectLate && this.#timers.now() + g.latencyMax > req.deadline)
      return this.#reject('deadline-lost', req);
    if (buf.reqs.length >= g.capacity && !this.#makeRoom(buf)) return this.#reject('queue-full', req);
    const reqs = buf.reqs; // read after #makeRoom, which may have replaced it
    this.#accepted++;
    reqs.push(req);
    if (req.deferred === true) buf.deferred++;
    if (reqs.length >= g.batchSize && this.#release(buf, 'full')) return ACCEPTED;
    const by = this.#policy.releaseBy(req, g, reqs.length === 1);
    if (by < buf.due) {
      buf.due = by;
      this.#arm(buf);
    }
    return ACCEPTED;
  }

  reconfigure(plan: Plan): void {
    if (this.#closed)
      throw new HetserveError('E_SHUTTING_DOWN', 'reconfigure: the batch manager is closed', {});
    const { buffers, byApp } = this.#build(plan); // may throw: nothing changed yet
    const old = this.#buffers;
    // Orphans are released in their old group, so they carry the version that group belongs to.
    const oldVersion = this.#version;
    this.#outbox = [];
    const now = this.#timers.now();
    this.#buffers = buffers;
    this.#byApp = byApp;
    this.#current = new WeakSet(buffers);
    this.#version++;
    this.#reconfigurations++;
    for (const b of old) {
      this.#disarm(b);
      let orphans: DispatchRequest<P>[] | undefined;
      for (const r of b.reqs) {
        const nr = byApp.get(r.app);
        if (nr === undefined) (orphans ??= []).push(r);
        else pickBuffer(nr).reqs.push(r);
      }
      b.reqs = [];
      b.deferred = 0;
      if (orphans) {
        if (this.#policy.order === 'deadline') orphans.sort(byDeadline);
        const size = b.group.batchSize;
        for (let i = 0; i < orphans.length; i += size) {
          this.#emitBatch(b.group, orphans.slice(i, i + size), 'reconfigure', now, b, oldVersion);
        }
      }
    }
    for (const b of buffers) {
      if (b.reqs.length === 0) continue;
      // Merged from several old buffers: restore arrival order (stable sort keeps submit order on ties).
      b.reqs.sort(byArrival);
      for (const r of b.reqs) if (r.deferred === true) b.deferred++;
      while (b.reqs.length >= b.group.batchSize) if (!this.#release(b, 'full')) break;
      if (b.reqs.length > 0 && b.reqs.length < b.group.batchSize) {
        this.#recomputeDue(b);
        this.#arm(b);
      }
    }
    const out = this.#outbox;
    this.#outbox = undefined;
    for (const p of out) this.#onBatch(p.batch);
  }

  complete(batch: Batch<P>): void {
    if (this.#maxInFlight === Infinity) return; // nothing is held back, nothing to track
    const buf = batch && this.#out.get(batch.requests);
    if (buf === undefined && batch && this.#unlimited.has(batch.group)) return; // untracked
    if (buf === undefined) {
      throw badField(
        'E_DISPATCH_CONFIG',
        'batch',
        batch?.group?.key,
        'was not released by this manager or was already completed',
      );
    }
    this.#out.delete(batch.requests);
    buf.inFlight--;
    if (!this.#current.has(buf)) return; // an old plan's group
    while (buf.reqs.length >= buf.group.batchSize) if (!this.#release(buf, 'full')) return;
    if (buf.reqs.length > 0 && buf.due <= this.#timers.now()) this.#release(buf, 'timeout');
  }

  flush(): void {
    for (const b of this.#buffers) {
      while (b.reqs.length > 0) this.#release(b, 'flush', true);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    for (const b of this.#buffers) this.#disarm(b);
    this.#closed = true;
  }

  groups(): readonly GroupView[] {
    return this.#buffers.map((b) => b.group);
  }

  stats(): BatchManagerStats {
    const per = this.#buffers.map((b) => b.reqs.length);
    return {
      submitted: this.#submitted,
      accepted: this.#accepted,
      rejected: { ...this.#rejected },
      dropped: { ...this.#dropped },
      batches: { ...this.#batches },
      released: this.#released,
      late: this.#late,
      inFlight: this.#buffers.reduce((a, b) => a + b.inFlight, 0),
      queued: per.reduce((a, b) => a + b, 0),
      queuedPerGroup: per,
      planVersion: this.#version,
      reconfigurations: this.#reconfigurations,
    };
  }

  // ── internals ─────────────────────────────────────────────────────────────

  #build(plan: Plan): { buffers: Buffer<P>[]; byApp: Map<string, Route<P>> } {
    const p = parseWith(DispatchPlanSchema, plan, 'E_DISPATCH_CONFIG', 'plan');
    const buffers: Buffer<P>[] = [];
    const homes = new Map<string, number[]>();
    const keys = new Set<string>();
    p.groups.forEach((g, index) => {
      for (const app of g.apps) {
        if (!(app in g.timeouts)) {
          throw badField(
            'E_DISPATCH_CONFIG',
            `plan.groups.${index}.timeouts.${app}`,
            undefined,
            'every app of a group needs a timeout (seconds)',
          );
        }
        const h = homes.get(app) ?? [];
        h.push(index);
        homes.set(app, h);
      }
      // Two groups of one split app may hold the same apps: the key stays unique per plan.
      let key = g.apps.join(',');
      if (keys.has(key)) key = `${key}#${index}`;
      keys.add(key);
      const base = {
        index,
        key,
        apps: Object.freeze([...g.apps]),
        batchSize: g.batchSize,
        timeouts: Object.freeze({ ...g.timeouts }),
        latencyMax: g.latency.max,
      };
      const capacity = this.#capacityOf(base, index);
      const group: GroupView = Object.freeze({ ...base, capacity });
      const maxInFlight = this.#maxInFlightOf(group);
      if (maxInFlight === Infinity) this.#unlimited.add(group);
      const buf: Buffer<P> = {
        group,
        reqs: [],
        due: Infinity,
        timer: undefined,
        timerAt: Infinity,
        inFlight: 0,
        deferred: 0,
        maxInFlight,
        fire: () => this.#onTimer(buf),
      };
      buffers.push(buf);
    });
    const byApp = new Map<string, Route<P>>();
    for (const [app, gs] of homes) {
      // Split apps (the plan model's rule, src/model/plan.ts): every group gives a share > 0.
      const weights = gs.map((gi) => (gs.length === 1 ? 1 : (p.groups[gi]!.appRps?.[app] ?? 0)));
      const bad = weights.findIndex((w) => !(w > 0));
      if (bad >= 0) {
        throw badField(
          'E_DISPATCH_CONFIG',
          `plan.groups.${gs[bad]}.appRps.${app}`,
          p.groups[gs[bad]!]!.appRps?.[app],
          `app ${JSON.stringify(app)} is in groups ${gs.join(', ')}: each needs its share of the app's traffic (> 0 req/s)`,
        );
      }
      byApp.set(app, {
        bufs: gs.map((gi) => buffers[gi]!),
        weights,
        current: weights.map(() => 0),
        total: weights.reduce((a, b) => a + b, 0),
      });
    }
    return { buffers, byApp };
  }

  #capacityOf(group: Omit<GroupView, 'capacity'>, index: number): number {
    const c = this.#capacity;
    if (typeof c === 'number') return c * group.batchSize;
    const v = c(group);
    if (!(Number.isInteger(v) && v >= group.batchSize)) {
      throw badField(
        'E_DISPATCH_CONFIG',
        `capacity(group ${index})`,
        v,
        `must return an integer >= the batch size (${group.batchSize})`,
      );
    }
    return v;
  }

  #maxInFlightOf(group: GroupView): number {
    const m = this.#maxInFlight;
    if (typeof m === 'number') return m;
    const v = m(group);
    if (!isInFlightLimit(v)) {
      throw badField(
        'E_DISPATCH_CONFIG',
        `maxInFlight(group ${group.index})`,
        v,
        'must return an integer >= 1 or Infinity',
      );
    }
    return v;
  }

  #reject(reason: RejectReason, req: DispatchRequest<P>): SubmitResult {
    this.#rejected[reason]++;
    const message =
      reason === 'unknown-app'
        ? `app ${JSON.stringify(req.app)} is in no group of the current plan`
        : reason === 'queue-full'
          ? `the buffer of app ${JSON.stringify(req.app)}'s group is full`
          : reason === 'deadline-lost'
            ? `request ${JSON.stringify(req.id)} cannot meet its deadline ${req.deadline}`
            : 'the batch manager is closed';
    return { accepted: false, reason, code: REJECT_CODE[reason], message };
  }

  /** 'shed-lost': drop the lost request with the earliest deadline. Returns whether room was made. */
  #makeRoom(buf: Buffer<P>): boolean {
    if (!this.#shed) return false;
    const cutoff = this.#timers.now() + buf.group.latencyMax;
    const reqs = buf.reqs;
    let victim = -1;
    for (let i = 0; i < reqs.length; i++) {
      const d = reqs[i]!.deadline;
      if (d < cutoff && (victim < 0 || d < reqs[victim]!.deadline)) victim = i;
    }
    if (victim < 0) return false;
    const [r] = reqs.splice(victim, 1);
    if (r!.deferred === true) buf.deferred--;
    this.#dropped.shed++;
    this.#recomputeDue(buf);
    this.#arm(buf);
    this.#onDrop?.(r!, 'shed', buf.group);
    return true;
  }

  #onTimer(buf: Buffer<P>): void {
    buf.timer = undefined;
    buf.timerAt = Infinity;
    if (buf.reqs.length > 0) this.#release(buf, 'timeout');
  }

  /** Make the buffer's timer fire at `buf.due`; release at once when that time has passed. */
  #arm(buf: Buffer<P>): void {
    const due = buf.due;
    if (due === buf.timerAt) return;
    if (buf.timer !== undefined) this.#timers.clearTimer(buf.timer);
    buf.timer = undefined;
    buf.timerAt = Infinity;
    if (due === Infinity) return;
    if (due <= this.#timers.now()) {
      this.#release(buf, 'timeout');
      return;
    }
    buf.timerAt = due;
    buf.timer = this.#timers.setTimer(due, buf.fire);
  }

  #disarm(buf: Buffer<P>): void {
    if (buf.timer !== undefined) this.#timers.clearTimer(buf.timer);
    buf.timer = undefined;
    buf.timerAt = Infinity;
    buf.due = Infinity;
  }

  #recomputeDue(buf: Buffer<P>): void {
    const reqs = buf.reqs;
    const pol = this.#policy;
    let due = Infinity;
    for (let i = 0; i < reqs.length; i++) {
      const by = pol.releaseBy(reqs[i]!, buf.group, i === 0);
      if (by < due) due = by;
    }
    buf.due = due;
  }

  /**
   * Release up to batchSize requests of `buf` (policy order), then re-arm for the rest. Returns
   * false (and does nothing) when the group has `maxInFlight` batches out, unless `force`.
   */
  #release(buf: Buffer<P>, reason: ReleaseReason, force = false): boolean {
    if (!force && buf.inFlight >= buf.maxInFlight) return false;
    const g = buf.group;
    let reqs = buf.reqs;
    // More than a batch queued: the late requests leave the whole buffer first, so the batch fills
    // with requests that can still make their deadline (they would be late in any later batch).
    if (this.#dropLate && reqs.length > g.batchSize) {
      reqs = buf.reqs = this.#withoutLost(g, reqs, this.#timers.now(), buf.deferred > 0, buf);
      if (reqs.length === 0) {
        this.#disarm(buf);
        return true;
      }
    }
    if (this.#policy.order === 'deadline' && reqs.length > 1) reqs.sort(byDeadline);
    let batch: DispatchRequest<P>[];
    if (reqs.length <= g.batchSize) {
      batch = reqs;
      buf.reqs = [];
      buf.deferred = 0;
    } else {
      // Deferred requests (an app past its share) go after the others, in policy order.
      const partition = buf.deferred > 0 && buf.deferred < reqs.length;
      if (partition) reqs = withDeferredLast(reqs);
      batch = reqs.slice(0, g.batchSize);
      reqs = reqs.slice(g.batchSize);
      // The remainder stays in arrival order so "first" keeps meaning "oldest".
      if (this.#policy.order === 'deadline' || partition) reqs.sort(byArrival);
      if (buf.deferred > 0) for (const r of batch) if (r.deferred === true) buf.deferred--;
      buf.reqs = reqs;
    }
    const left = buf.reqs.length;
    if (left === 0) {
      buf.due = Infinity;
      if (buf.timer !== undefined) {
        this.#timers.clearTimer(buf.timer);
        buf.timer = undefined;
        buf.timerAt = Infinity;
      }
    } else this.#recomputeDue(buf);
    this.#emitBatch(g, batch, reason, this.#timers.now(), buf);
    if (left > 0 && left < g.batchSize) this.#arm(buf);
    return true;
  }

  /**
   * Whether `lateAtRelease` drops `r`, late against `cutoff` (now + the group's latencyMax), or
   * against `deferredCutoff` (now + the larger of that and `deferredLatency`) when it is deferred.
   */
  #lost(r: DispatchRequest<P>, cutoff: number, deferredCutoff: number): boolean {
    if (r.deferred === true) return r.deadline < deferredCutoff;
    return this.#dropLate === 'all' && r.deadline < cutoff;
  }

  /** now + the batch time a deferred request of `g` is judged against at release. */
  #deferredCutoff(g: GroupView, now: number): number {
    const measured = this.#deferredLatency?.(g);
    return now + (measured !== undefined && measured > g.latencyMax ? measured : g.latencyMax);
  }

  /**
   * `reqs` without the requests `lateAtRelease` drops at `now`, each counted and reported to onDrop
   * (and taken off `buf`'s deferred count when they were queued there); `reqs` itself when none is.
   * `hasDeferred`: whether any of `reqs` is deferred (only then is the measured batch time asked for).
   */
  #withoutLost(
    g: GroupView,
    reqs: DispatchRequest<P>[],
    now: number,
    hasDeferred: boolean,
    buf?: Buffer<P>,
  ): DispatchRequest<P>[] {
    const cutoff = now + g.latencyMax;
    // A deferred request in time by the plan may still be late by the measured batch time.
    const deferredCutoff = hasDeferred ? this.#deferredCutoff(g, now) : cutoff;
    let lost = 0;
    for (const r of reqs) if (this.#lost(r, cutoff, deferredCutoff)) lost++;
    if (lost === 0) return reqs;
    const keep: DispatchRequest<P>[] = [];
    for (const r of reqs) {
      if (!this.#lost(r, cutoff, deferredCutoff)) {
        keep.push(r);
        continue;
      }
      if (buf !== undefined && r.deferred === true) buf.deferred--;
      this.#dropped['deadline-lost']++;
      this.#onDrop?.(r, 'deadline-lost', g);
    }
    return keep;
  }

  #emitBatch(
    g: GroupView,
    batch: DispatchRequest<P>[],
    reason: ReleaseReason,
    now: number,
    buf?: Buffer<P>,
    version = this.#version,
  ): void {
    const cutoff = now + g.latencyMax;
    if (this.#dropLate !== false) {
      const kept = this.#withoutLost(
        g,
        batch,
        now,
        batch.some((r) => r.deferred === true),
      );
      if (kept !== batch && kept.length === 0) return;
      batch = kept;
    }
    let late = 0;
    for (let i = 0; i < batch.length; i++) if (batch[i]!.deadline < cutoff) late++;
    this.#batches[reason]++;
    this.#released += batch.length;
    this.#late += late;
    if (buf !== undefined && buf.maxInFlight !== Infinity) {
      buf.inFlight++;
      this.#out.set(batch, buf);
    }
    const out: Batch<P> = {
      group: g,
      planVersion: version,
      requests: batch,
      reason,
      releasedAt: now,
      late,
    };
    if (this.#outbox) this.#outbox.push({ batch: out });
    else this.#onBatch(out);
  }
}

function isInFlightLimit(v: unknown): v is number {
  return v === Infinity || (Number.isInteger(v) && (v as number) >= 1);
}

/** The requests without `deferred` first, then the deferred ones, each in the order given. */
function withDeferredLast<P>(reqs: DispatchRequest<P>[]): DispatchRequest<P>[] {
  const first: DispatchRequest<P>[] = [];
  const later: DispatchRequest<P>[] = [];
  for (const r of reqs) (r.deferred === true ? later : first).push(r);
  return first.concat(later);
}

function byArrival(a: DispatchRequest, b: DispatchRequest): number {
  return a.arrival - b.arrival;
}

function byDeadline(a: DispatchRequest, b: DispatchRequest): number {
  return a.deadline - b.deadline || a.arrival - b.arrival;
}
