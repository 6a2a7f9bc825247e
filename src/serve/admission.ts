/**
 * Admission checks every service (serverless groups, cluster pool) makes before it queues a
 * request: known application, not draining, queue below its bound; and the waiters of a drain.
 * One place, so both modes refuse with the same codes and metrics and drain alike.
 */
import { HetserveError } from '../model/errors.ts';
import { SortedWindow } from '../predict/sorted-window.ts';

export interface AdmissionState {
  model: string;
  app: string;
  /** The app's SLO, or undefined when the app is unknown to this model. */
  slo: number | undefined;
  accepting: boolean;
  inflight: number;
  /** limits.maxQueue; undefined = 10,000. */
  maxQueue: number | undefined;
  /** Known app names, listed in the unknown-app message when given. */
  knownApps?: () => string[];
  /** Called when the queue bound refuses the request (metrics). */
  onQueueFull: () => void;
}

/** The error refusing the request, or undefined when it may be queued. */
export function admissionError(s: AdmissionState): HetserveError | undefined {
  if (s.slo === undefined) {
    const known = s.knownApps
      ? ` is not an application of model ${s.model}; known: ${s.knownApps().join(', ')}`
      : ' is unknown';
    return new HetserveError('E_UNKNOWN_APP', `app: ${JSON.stringify(s.app)}${known}`, {
      field: 'app',
      value: s.app,
    });
  }
  if (!s.accepting)
    return new HetserveError('E_SHUTTING_DOWN', 'the gateway is draining; retry on another replica');
  const maxQueue = s.maxQueue ?? 10_000;
  if (s.inflight >= maxQueue) {
    s.onQueueFull();
    return new HetserveError(
      'E_QUEUE_FULL',
      `model ${s.model}: ${s.inflight} requests waiting (limit ${maxQueue})`,
      {
        field: 'limits.maxQueue',
        value: maxQueue,
      },
    );
  }
  return undefined;
}

/**
 * Callers of a service's `drain()` waiting for its last in-flight request. The service calls
 * `wake()` whenever its in-flight count reaches 0.
 */
export class DrainWaiters {
  #waiters: (() => void)[] = [];

  wake(): void {
    if (this.#waiters.length > 0) for (const w of this.#waiters.splice(0)) w();
  }

  /** True once woken, false when `timeoutS` seconds pass first. */
  wait(timeoutS: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutS * 1000);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }
}

/**
 * An app's entitlement: this quantile of its planned arrivals (Poisson) within the reachable
 * backlog, so an app within its planned share is deferred about once in a thousand peaks.
 */
const KEPT_QUANTILE = 0.999;

/** Smallest n with P(N <= n) >= q for N ~ Poisson(mean) (a normal approximation past 50). */
export function poissonQuantile(mean: number, q: number): number {
  if (!(mean > 0)) return 0;
  if (mean > 50) return Math.ceil(mean + NORMAL_Z_999 * Math.sqrt(mean) + 0.5);
  let p = Math.exp(-mean);
  let cdf = p;
  let n = 0;
  while (cdf < q) {
    n++;
    p *= mean / n;
    cdf += p;
  }
  return n;
}
const NORMAL_Z_999 = 3.0902;

/** Standard deviations of measured batch latency in one batch's spread (see DeadlineAdmission). */
const MEASURED_SPREAD = 4;
/** Most batches out at once the deadline admission tracks (slots of `begin` handles). */
const RUNNING_SLOTS = 2 ** 21;
/** Latest measured batches per group the latency estimate reads. */
const MEASURED_WINDOW = 32;
/** Normal quantile of 0.9: (p90 - median) / this estimates one standard deviation. */
const NORMAL_Z_90 = 1.2816;

/**
 * Measured batch latency of one group: its latest batches, their median and a spread from their
 * 90th percentile. Quantiles, not moments: a host stall that holds up to three of the batches moves
 * neither, while stalls that come back (one batch in ten or more) widen the spread, and a slowdown
 * that lasts moves both within half a window; a right-skewed latency widens the spread as it should.
 */
interface Measured {
  window: SortedWindow;
  median: number;
  sd: number;
}

/** What the deadline admission knows of one plan group. */
export interface AdmissionGroup {
  apps: readonly string[];
  batchSize: number;
  /** Batches the group runs at once (its maxInFlight); Infinity = scales out, nothing queues. */
  concurrency: number;
  /** Predicted batch latency at batchSize, seconds (the plan's, from the Predictor). */
  latency: { avg: number; max: number };
  /** Planned rate per app, req/s: each app's share of the group's backlog follows it. */
  rps: Readonly<Record<string, number>>;
  /** SLO per app, seconds: the deadline the places kept for an app must meet. */
  slo: Readonly<Record<string, number>>;
}

export interface AdmissionDecision {
  admit: boolean;
  /** Predicted completion of the request, seconds from now (the last of its rows). */
  predictedS: number;
  /** When refused: seconds until the backlog ahead should have drained enough (>= 1). */
  retryAfterS?: number;
  /** When refused: 'deadline' (no app could make it) or 'share' (the app is past its share). */
  reason?: 'deadline' | 'share';
  /**
   * When admitted: the request is past its app's entitlement (a flood's excess). Queue it as
   * `deferred` (src/dispatch DispatchRequest): the requests of apps within their share overtake it,
   * which its admission allowed for; report it to `add`/`done` as deferred.
   */
  deferred?: boolean;
}

/**
 * Deadline-aware, per-application fair admission for one model's serverless groups. A request is
 * admitted only when its predicted completion meets its deadline. Its group serves FIFO batches
 * of B on c slots of average latency L: the requests running now finish when their batches do
 * (a batch begun `e` seconds ago needs L - e more; the caller reports batches with `begin`/`end`,
 * and without reports every slot counts as free with the whole backlog queued, a batch-latency
 * more pessimistic), and the queued ones follow in batches of B, each slot taking the next batch
 * as it frees. The request's batch, the r-th on its slot, must finish by its deadline with a
 * margin for r batches running long: sqrt(r) spreads of one batch (independent latencies add
 * their variances), where a spread is the plan's max - avg until batches are measured, then
 * MEASURED_SPREAD measured standard deviations capped at one measured median batch; never less
 * than max - avg.
 *
 * Fairness: an app's planned share (rps over the group's capacity B c / L, or over the planned
 * total when larger) of the backlog every app can live with is its mean count of places; a high
 * quantile of it is the app's entitlement. A request of an app within its entitlement is kept:
 * queued ahead of the deferred ones (`AdmissionDecision.deferred`, the batch manager's
 * `DispatchRequest.deferred`), so only the running batches and other kept requests are ahead of
 * it, and it is refused only when it would miss its deadline at the expected batch latency (the
 * plan's margin, not the measured spread). Any other request (a flood's excess) is deferred, and
 * admitted only when its deadline also leaves room for the other members' mean arrivals, which
 * will overtake it: one app's flood can neither delay the others nor build a backlog that its
 * own requests miss.
 *
 * The batch latency is the larger of the plan's prediction and the median of the latest measured
 * batches, so a slower machine than the profile's tightens admission instead of missing SLOs,
 * while a host stall that holds a few batches moves neither it nor the measured spread (`Measured`).
 * Pure: the caller owns time and counts (`pending`).
 */
export class DeadlineAdmission {
  #groups: AdmissionGroup[] = [];
  #groupOf = new Map<string, number>();
  /** Measured batch latency per group index (latest batches, median and spread), seconds. */
  #measured = new Map<number, Measured>();
  readonly #pending = new Map<string, number>();
  /** Of `#pending`, the requests queued as deferred (overtaken by the apps within their share). */
  readonly #deferred = new Map<string, number>();
  readonly #slo = new Map<string, number>();
  /**
   * Batches on a backend now: an app of their group, rows, start (caller's clock). In slots reused
   * from a free list, the slot in the handle's low bits: a map set and deleted per batch cost more.
   */
  readonly #running: ({ handle: number; app: string; rows: number; atS: number } | undefined)[] = [];
  readonly #runningFree: number[] = [];
  #nextHandle = 1;
  /** Recent arrivals per app (decaying count and when it was last updated, caller's clock). */
  readonly #arrivals = new Map<string, { count: number; atS: number }>();

  constructor(groups: readonly AdmissionGroup[]) {
    this.setGroups(groups);
  }

  /** A new plan: groups change, pending counts per app and running batches carry over. */
  setGroups(groups: readonly AdmissionGroup[]): void {
    this.#groups = [...groups];
    this.#groupOf.clear();
    this.#measured.clear();
    this.#slo.clear();
    groups.forEach((g, i) => {
      for (const a of g.apps) {
        this.#groupOf.set(a, i);
        if (g.slo[a] !== undefined) this.#slo.set(a, g.slo[a]);
      }
    });
  }

  /** Requests of `app` queued or running. */
  pending(app: string): number {
    return this.#pending.get(app) ?? 0;
  }

  /** `n` requests of `app` were queued (after an admit; `deferred` as the decision said). */
  add(app: string, n = 1, deferred = false): void {
    this.#pending.set(app, this.pending(app) + n);
    if (deferred) this.#deferred.set(app, (this.#deferred.get(app) ?? 0) + n);
  }

  /** `n` requests of `app` were answered (success or error), deferred ones as `add` was told. */
  done(app: string, n = 1, deferred = false): void {
    this.#pending.set(app, Math.max(0, this.pending(app) - n));
    if (deferred) this.#deferred.set(app, Math.max(0, (this.#deferred.get(app) ?? 0) - n));
  }

  /**
   * A batch of `rows` requests of the group of `app` went to its backend at `atS` (seconds, the
   * clock `decide`'s `nowS` reads). Returns the handle `end` takes once the batch has left it.
   */
  begin(app: string, rows: number, atS: number): number {
    const slot = this.#runningFree.pop() ?? this.#running.length;
    // Wraps long before 2^53; a handle is unique among the batches out at once.
    const h = (this.#nextHandle++ % 2 ** 31) * RUNNING_SLOTS + slot;
    this.#running[slot] = { handle: h, app, rows, atS };
    return h;
  }

  /** The batch `handle` left its backend (answered, failed or abandoned); unknown handles are ignored. */
  end(handle: number): void {
    const slot = handle % RUNNING_SLOTS;
    if (this.#running[slot]?.handle !== handle) return;
    this.#running[slot] = undefined;
    this.#runningFree.push(slot);
  }

  /** A batch of the group of `app` ran for `execS` seconds. */
  observe(app: string, execS: number): void {
    const gi = this.#groupOf.get(app);
    if (gi === undefined || !(execS >= 0)) return;
    let m = this.#measured.get(gi);
    if (m === undefined)
      this.#measured.set(gi, (m = { window: new SortedWindow(MEASURED_WINDOW), median: 0, sd: 0 }));
    m.window.push(execS);
    m.median = m.window.quantile(0.5);
    m.sd = (m.window.quantile(0.9) - m.median) / NORMAL_Z_90;
  }

  /** Count `rows` arrivals of `app` at `nowS` in its decaying count (time constant `horizonS`). */
  #arrive(app: string, rows: number, nowS: number, horizonS: number): void {
    this.#arrivals.set(app, { count: this.#arrived(app, nowS, horizonS) + rows, atS: nowS });
  }

  /** Arrivals of `app` in about the last `horizonS` seconds (exponentially decaying count). */
  #arrived(app: string, nowS: number, horizonS: number): number {
    const a = this.#arrivals.get(app);
    if (a === undefined) return 0;
    return a.count * Math.exp(-Math.max(0, nowS - a.atS) / horizonS);
  }

  /** Margin for `r` batches in a row on one slot running long (see the class comment), seconds. */
  #margin(gi: number, r: number, measured = true): number {
    const g = this.#groups[gi];
    const tail = Math.max(0, g.latency.max - g.latency.avg);
    const m = measured ? this.#measured.get(gi) : undefined;
    // Capped at one median batch: stalls that come back (a bimodal latency) would otherwise
    // widen it past any queue, leaving a flood too few places to fill its batches (smaller
    // batches, less goodput, still more refusals).
    const spread = m === undefined ? tail : Math.min(MEASURED_SPREAD * m.sd, m.median);
    return Math.max(tail, spread * Math.sqrt(r));
  }

  /**
   * One batch of `app`'s group at its worst expected: the average batch latency plus one batch's
   * margin (measured median and capped spread, never below the plan's max); undefined for an app
   * of no group, or before half a window of batches is measured. What a deferred request is judged
   * against at release (lateAtRelease): a fresh backend's few slow first batches would otherwise
   * drop every deferred request of a flood. (A group that admits only its probe, nothing pending,
   * keeps that request: see `decide`.)
   */
  batchBound(app: string): number | undefined {
    const gi = this.#groupOf.get(app);
    if (gi === undefined || (this.#measured.get(gi)?.window.size ?? 0) < MEASURED_WINDOW / 2)
      return undefined;
    return this.batchLatency(gi) + this.#margin(gi, 1);
  }

  /** Average batch latency used for the group (plan's prediction or measured, the larger). */
  batchLatency(gi: number): number {
    const g = this.#groups[gi];
    return Math.max(g.latency.avg, this.#measured.get(gi)?.median ?? 0);
  }

  /**
   * The group's slots now: when each frees (seconds from now, ascending; a free slot 0) and the
   * rows running on them. Without `nowS` or reported batches every slot is free.
   */
  #slots(gi: number, avg: number, nowS: number | undefined): { free: number[]; rows: number } {
    const g = this.#groups[gi];
    const left: number[] = [];
    let rows = 0;
    if (nowS !== undefined)
      for (const r of this.#running) {
        if (r === undefined || this.#groupOf.get(r.app) !== gi) continue;
        rows += r.rows;
        left.push(Math.max(0, avg - Math.max(0, nowS - r.atS)));
      }
    // More batches out than slots (a re-plan lowered them): the slowest to free are the slots.
    left.sort((x, y) => y - x);
    const free = left.slice(0, g.concurrency);
    while (free.length < g.concurrency) free.push(0);
    return { free: free.sort((x, y) => x - y), rows };
  }

  /** Most requests the group can hold (running and queued) for one with `deadlineS` to meet it. */
  #reach(gi: number, deadlineS: number, slots: { free: number[]; rows: number }, measured = true): number {
    const g = this.#groups[gi];
    const avg = this.batchLatency(gi);
    let batches = 0;
    for (const f of slots.free) {
      let r = Math.floor((deadlineS - f) / avg + 1e-9);
      while (r > 0 && f + r * avg + this.#margin(gi, r, measured) > deadlineS + 1e-9) r--;
      batches += Math.max(0, r);
    }
    return slots.rows + g.batchSize * batches;
  }

  /**
   * Whether `decide` admits every request of `app` now without looking at the backlog: an app
   * of no group, or a group that scales out (unbounded concurrency) or has no latency yet.
   */
  admitsAll(app: string): boolean {
    const gi = this.#groupOf.get(app);
    return gi === undefined || !Number.isFinite(this.#groups[gi].concurrency) || !(this.batchLatency(gi) > 0);
  }

  /**
   * Decide on `rows` requests of `app` with a deadline of `deadlineS` seconds from now; `nowS`
   * (the clock of `begin`) lets the batches running now count with the time they have left.
   */
  decide(app: string, rows: number, deadlineS: number, nowS?: number): AdmissionDecision {
    const gi = this.#groupOf.get(app);
    if (gi === undefined) return { admit: true, predictedS: 0 };
    const g = this.#groups[gi];
    const avg = this.batchLatency(gi);
    const perWave = g.batchSize * g.concurrency;
    let backlog = 0;
    let deferred = 0;
    for (const a of g.apps) {
      backlog += this.pending(a);
      deferred += this.#deferred.get(a) ?? 0;
    }
    if (!Number.isFinite(g.concurrency) || !(avg > 0))
      return { admit: true, predictedS: avg + this.#margin(gi, 1) };
    const slots = this.#slots(gi, avg, nowS);
    // Requests answered at their hard deadline leave their batch running: count only the pending.
    slots.rows = Math.min(slots.rows, backlog);
    // The j-th queued batch runs on the slot freeing ((j - 1) mod c)-th, after (j - 1) div c rounds.
    const queued = Math.max(0, backlog - slots.rows) + rows;
    const j = Math.ceil(queued / g.batchSize);
    const round = Math.floor((j - 1) / g.concurrency) + 1;
    const at = slots.free[(j - 1) % g.concurrency] + round * avg;
    let predictedS = at + this.#margin(gi, round);
    const reachOf = (d: number): number => this.#reach(gi, d, slots);
    const k = reachOf(deadlineS);
    // An app's share is its planned rate over the group's capacity (or over the planned total
    // when the plan fills the group): what it needs is kept, the rest is free for anyone.
    const total = g.apps.reduce((s, a) => s + Math.max(0, g.rps[a] ?? 0), 0);
    const denom = Math.max(total, perWave / avg);
    const share = (a: string): number => (denom > 0 ? Math.max(0, g.rps[a] ?? 0) / denom : 1 / g.apps.length);
    // Each app's planned arrivals within the backlog every app of the group can live with (the
    // tightest reach, all slots free) are its mean count of places; a high quantile of that count
    // is its entitlement, and the apps holding no more than it are the members. Entitlements
    // leave every other app its mean count of the backlog (a plan that fills the group has no
    // slack to keep).
    const idle = this.#slots(gi, avg, undefined);
    const tightest = (measured: boolean): number =>
      Math.min(...g.apps.map((a) => this.#reach(gi, this.#slo.get(a) ?? deadlineS, idle, measured)));
    const common = tightest(true);
    // Who is a member is judged at the expected latency (the plan's margin): measured spread
    // that grows with a noisy host must not take the quiet apps' entitlements away (down to none
    // when the tightest SLO's reach falls to zero); the places kept stay sized by `common`.
    const entitled = tightest(false);
    const all = g.apps.map((b) => ({
      b,
      mean: share(b) * common,
      entitled: share(b) * entitled,
      held: this.pending(b),
    }));
    const quantileIn =
      (backlog: number, totalMean: number) =>
      (mean: number): number =>
        Math.min(poissonQuantile(mean, KEPT_QUANTILE), Math.floor(backlog - (totalMean - mean) + 1e-9));
    const entitlement = quantileIn(
      entitled,
      all.reduce((x, m) => x + m.entitled, 0),
    );
    // Arrivals (admitted or not) within the time that backlog takes to drain: a flood shows here
    // even while its admitted requests hold no more places than a quiet app's peak.
    const horizonS = (entitled * avg) / perWave;
    if (nowS !== undefined) this.#arrive(app, rows, nowS, horizonS);
    const members = all.filter(
      (m) =>
        m.entitled > 0 &&
        m.held <= entitlement(m.entitled) &&
        (nowS === undefined || this.#arrived(m.b, nowS, horizonS) <= entitlement(m.entitled)),
    );
    // A member whose request stays within its entitlement is kept: queued ahead of the deferred
    // requests, only its own deadline bounds it. Any other request is deferred.
    const self = members.find((m) => m.b === app);
    const stays = self !== undefined && self.held + rows <= entitlement(self.entitled);
    let excess = backlog + rows - k;
    if (stays) {
      // A request within its app's entitlement is queued ahead of the deferred ones (the flood's
      // excess): only the running batches and the other kept requests are ahead of it.
      const ahead = Math.min(Math.max(0, backlog - slots.rows), Math.max(0, backlog - deferred));
      const jk = Math.ceil((ahead + rows) / g.batchSize);
      const rk = Math.floor((jk - 1) / g.concurrency) + 1;
      const atK = slots.free[(jk - 1) % g.concurrency] + rk * avg;
      // It is refused only when it misses its deadline at the expected batch latency (with the
      // plan's margin): a noisy host's measured spread grows with stalls that delay every queued
      // request alike, so refusing it for that would turn a likely answer in time into a sure 429
      // while sparing no one. The flood's excess keeps the full margin and is what gets shed.
      excess = slots.rows + ahead + rows - this.#reach(gi, deadlineS, slots, false);
      predictedS = atK + this.#margin(gi, rk, false);
    } else {
      // A deferred request is overtaken by the kept requests that arrive while it waits: their
      // count within the backlog every app can live with (Poisson: its mean and one standard
      // deviation) must fit within its own deadline, and within the tightest other app's
      // (another app's deferred requests queue behind it). One that is overtaken by more is
      // dropped before it runs late (the service's lateAtRelease 'drop-deferred').
      let pool = 0;
      for (const m of members) if (m.b !== app) pool += m.mean;
      let bound = k;
      for (const a of g.apps) if (a !== app) bound = Math.min(bound, reachOf(this.#slo.get(a) ?? deadlineS));
      excess = Math.max(excess, backlog + rows + Math.ceil(pool + Math.sqrt(pool)) - bound);
    }
    const admitted = { admit: true, predictedS, ...(stays ? {} : { deferred: true }) };
    if (excess <= 0) return admitted;
    // With nothing of its group ahead of it and one wave's worth of rows, refusing cannot help the
    // request, and only an admitted batch can correct a measured latency that has become too
    // pessimistic (a refused group sends no batch, so nothing would ever be measured again). Kept,
    // not deferred: the release cut by the measured time (batchBound) must not drop it either.
    if (backlog === 0 && rows <= perWave) return { admit: true, predictedS };
    // Past the deadline for anyone (the backlog alone), or past this app's share of it.
    const reason = backlog + rows <= k ? 'share' : 'deadline';
    const retryAfterS = Math.max(1, Math.ceil(Math.ceil(excess / perWave) * avg));
    return { admit: false, predictedS, retryAfterS, reason };
  }
}
