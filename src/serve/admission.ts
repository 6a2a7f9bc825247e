/**
 * Admission checks every service (serverless groups, cluster pool) makes before it queues a
 * request: known application, not draining, queue below its bound; and the waiters of a drain.
 * One place, so both modes refuse with the same codes and metrics and drain alike.
 */
import { HetserveError } from '../model/errors.ts';

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
 * Places kept per app: twice its share of the reachable backlog, since an app's backlog swings
 * around its rate times its wait (Poisson arrivals) and its requests may wait up to the SLO.
 */
const RESERVE_HEADROOM = 2;

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
}

/**
 * Deadline-aware, per-application fair admission for one model's serverless groups. A request is
 * admitted only when its predicted completion meets its deadline: with `n` requests queued or
 * running in its group (FIFO), batches of B on c concurrent slots of latency L complete the k-th
 * request after ceil(k / (B c)) average batch latencies plus one (max - avg) tail. So an app with
 * deadline D may find at most K = B c floor((D - (max - avg)) / avg) requests ahead. Each other
 * app b of the group keeps room for the part of its planned share (rps_b over the group's
 * capacity B c / L, or over the planned total when larger) that it does not use at the moment, behind the new request and within b's SLO, so one
 * app's flood can neither fill the backlog nor build one too long for a tighter SLO.
 *
 * The batch latency is the larger of the plan's prediction and an exponential average of measured
 * batches, so a slower machine than the profile's tightens admission instead of missing SLOs.
 * Pure: the caller owns time and counts (`pending`).
 */
export class DeadlineAdmission {
  #groups: AdmissionGroup[] = [];
  #groupOf = new Map<string, number>();
  /** Measured batch latency per group index (exponential average), seconds. */
  #measured = new Map<number, number>();
  readonly #pending = new Map<string, number>();
  readonly #slo = new Map<string, number>();

  constructor(groups: readonly AdmissionGroup[]) {
    this.setGroups(groups);
  }

  /** A new plan: groups change, pending counts per app carry over. */
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

  /** `n` requests of `app` were queued (after an admit). */
  add(app: string, n = 1): void {
    this.#pending.set(app, this.pending(app) + n);
  }

  /** `n` requests of `app` were answered (success or error). */
  done(app: string, n = 1): void {
    this.#pending.set(app, Math.max(0, this.pending(app) - n));
  }

  /** A batch of the group of `app` ran for `execS` seconds. */
  observe(app: string, execS: number): void {
    const gi = this.#groupOf.get(app);
    if (gi === undefined || !(execS >= 0)) return;
    const prev = this.#measured.get(gi);
    this.#measured.set(gi, prev === undefined ? execS : prev * 0.9 + execS * 0.1);
  }

  /** Average batch latency used for the group (plan's prediction or measured, the larger). */
  batchLatency(gi: number): number {
    const g = this.#groups[gi];
    return Math.max(g.latency.avg, this.#measured.get(gi) ?? 0);
  }

  /** Most requests `app`'s group can have ahead of a request with `deadlineS` and still meet it. */
  private reach(gi: number, deadlineS: number): number {
    const g = this.#groups[gi];
    if (!Number.isFinite(g.concurrency)) return Infinity;
    const avg = this.batchLatency(gi);
    const tail = Math.max(0, g.latency.max - g.latency.avg);
    if (!(avg > 0)) return Infinity;
    return g.batchSize * g.concurrency * Math.floor((deadlineS - tail) / avg + 1e-9);
  }

  /** Decide on `rows` requests of `app` with a deadline of `deadlineS` seconds from now. */
  decide(app: string, rows: number, deadlineS: number): AdmissionDecision {
    const gi = this.#groupOf.get(app);
    if (gi === undefined) return { admit: true, predictedS: 0 };
    const g = this.#groups[gi];
    const avg = this.batchLatency(gi);
    const tail = Math.max(0, g.latency.max - g.latency.avg);
    const perWave = g.batchSize * g.concurrency;
    let backlog = 0;
    for (const a of g.apps) backlog += this.pending(a);
    const predict = (ahead: number): number =>
      Number.isFinite(perWave) ? Math.ceil(ahead / perWave) * avg + tail : avg + tail;
    const predictedS = predict(backlog + rows);
    const k = this.reach(gi, deadlineS);
    if (!Number.isFinite(k)) return { admit: true, predictedS };
    // An app's share is its planned rate over the group's capacity (or over the planned total
    // when the plan fills the group): what it needs is kept, the rest is free for anyone.
    const total = g.apps.reduce((s, a) => s + Math.max(0, g.rps[a] ?? 0), 0);
    const capacity = Number.isFinite(perWave) ? perWave / avg : Infinity;
    const denom = Math.max(total, capacity);
    const share = (a: string): number =>
      denom > 0 && Number.isFinite(denom) ? Math.max(0, g.rps[a] ?? 0) / denom : 1 / g.apps.length;
    // Places kept for the other apps' unused shares: they queue behind this request, so each of
    // them must still be within reach of that app's own SLO. Shares are of the backlog every app
    // of the group can live with (the tightest reach), so they add up.
    const reaches = new Map(g.apps.map((a) => [a, this.reach(gi, this.#slo.get(a) ?? deadlineS)]));
    const common = Math.min(...reaches.values());
    // The headroom never lets the kept places add up to more than the whole backlog.
    const planned = g.apps.reduce((x, a) => x + share(a), 0);
    const headroom = Math.min(RESERVE_HEADROOM, planned > 0 ? 1 / planned : 1);
    let reserved = 0;
    let reach = k;
    for (const b of g.apps) {
      if (b === app) continue;
      const unused = Math.max(0, Math.ceil(headroom * share(b) * common) - this.pending(b));
      if (unused > 0) {
        reserved += unused;
        reach = Math.min(reach, reaches.get(b)!);
      }
    }
    if (backlog + rows + reserved <= reach) return { admit: true, predictedS };
    // With nothing of its group ahead of it and one wave's worth of rows, refusing cannot help the
    // request, and only an admitted
    // batch can correct a measured latency that has become too pessimistic (a refused group sends
    // no batch, so nothing would ever be measured again).
    if (backlog === 0 && rows <= perWave) return { admit: true, predictedS };
    // Past the deadline for anyone (the backlog alone), or past this app's share of it.
    const reason = backlog + rows <= k ? 'share' : 'deadline';
    const excess = backlog + rows + reserved - reach;
    const retryAfterS = Math.max(1, Math.ceil(Math.ceil(excess / perWave) * avg));
    return { admit: false, predictedS, retryAfterS, reason };
  }
}
