/**
 * The request ledger of one served model: the one place where a request is admitted or refused
 * (unknown app, draining, queue bound, deadline admission with 429 and Retry-After), its deadlines
 * are set, and its outcome is recorded exactly once (rates, in-flight count, the deadline
 * admission's pending counts, Prometheus and dashboard figures, drain). The serverless and the
 * cluster service both keep their requests here, so both modes admit, time out and count alike.
 */
import type { TimerSource } from '../dispatch/clock.ts';
import type { App } from '../model/app.ts';
import { HetserveError } from '../model/errors.ts';
import { admissionError, DeadlineAdmission, DrainWaiters, type AdmissionGroup } from './admission.ts';
import { RateMeter, type LiveSeries } from './live.ts';
import {
  counterChild,
  histogramChild,
  type CounterChild,
  type GatewayMetrics,
  type HistogramChild,
} from './metrics.ts';
import type { Answer } from './model-service.ts';

export interface LedgerOptions {
  /** Model name (metric label). */
  model: string;
  /** Applications of the model (name, SLO s). */
  apps: readonly App[];
  timers: TimerSource;
  metrics: GatewayMetrics;
  live: LiveSeries;
  /** Accepted-but-unanswered requests before 429 E_QUEUE_FULL (default 10000). */
  maxQueue?: number;
  /** Hard deadline = arrival + SLO × this (default 2), unless the request gives an earlier one. */
  hardDeadlineFactor?: number;
  /** Rate window, s (default 60). */
  windowS?: number;
  /**
   * Cap on every request's scheduling deadline, s (cluster mode's QoS target); default none.
   * Admission and the hard deadline keep to the app's SLO and the request's own deadline.
   */
  deadlineCapS?: number;
  /**
   * 'deadline' (default): once the service describes its capacity (`setCapacity`), admit a request
   * only when its predicted completion meets its deadline (src/serve/admission.ts), else 429
   * E_OVERLOADED with Retry-After at once. 'queue': only the maxQueue bound.
   */
  admission?: 'deadline' | 'queue';
}

/** A service's settings the ledger reads; each left undefined takes the ledger's default. */
export interface LedgerSettings {
  maxQueue?: number | undefined;
  hardDeadlineFactor?: number | undefined;
  windowS?: number | undefined;
  deadlineCapS?: number | undefined;
  admission?: 'deadline' | 'queue' | undefined;
}

/** The ledger's options: what names the service, and those of its `settings` that are set. */
export function ledgerOptions(
  base: Pick<LedgerOptions, 'model' | 'apps' | 'timers' | 'metrics' | 'live'>,
  settings: LedgerSettings,
): LedgerOptions {
  const o: LedgerOptions = { ...base, admission: settings.admission ?? 'deadline' };
  if (settings.maxQueue !== undefined) o.maxQueue = settings.maxQueue;
  if (settings.hardDeadlineFactor !== undefined) o.hardDeadlineFactor = settings.hardDeadlineFactor;
  if (settings.windowS !== undefined) o.windowS = settings.windowS;
  if (settings.deadlineCapS !== undefined) o.deadlineCapS = settings.deadlineCapS;
  return o;
}

/**
 * A request's admission by `admit`, handed to `open` for each of its places. `deferred`: past its
 * app's entitlement, queued behind the apps within their share (DispatchRequest.deferred).
 */
export interface Admitted {
  readonly deferred: boolean;
}
const KEPT: Admitted = Object.freeze({ deferred: false });
const DEFERRED: Admitted = Object.freeze({ deferred: true });

/** One admitted request, from `open` to `finish`. */
export interface LedgerEntry {
  readonly app: string;
  /** Arrival, s (the service's clock): when the gateway first saw it, else when it was opened. */
  readonly arrival: number;
  readonly slo: number;
  /** When it should be answered: arrival + min(SLO, cap, its own deadline), s. */
  readonly deadline: number;
  /** Past this it is answered E_BACKEND_TIMEOUT, s. */
  readonly hardDeadline: number;
  /** Queued behind the requests of apps within their share (see `Admitted`). */
  readonly deferred: boolean;
  done: boolean;
}

interface AppCounters {
  ok: CounterChild;
  miss: CounterChild;
  wait: HistogramChild;
  e2e: HistogramChild;
}

export class RequestLedger {
  readonly #o: LedgerOptions;
  readonly #slo = new Map<string, number>();
  readonly #meters = new Map<string, RateMeter>();
  /** Label children per app, cached: the hot path does no label lookups. */
  readonly #counters = new Map<string, AppCounters>();
  readonly #drained = new DrainWaiters();
  #admission: DeadlineAdmission | undefined;
  #inflight = 0;
  #accepting = true;

  constructor(o: LedgerOptions) {
    this.#o = o;
    const now = o.timers.now();
    for (const a of o.apps) {
      this.#slo.set(a.name, a.slo);
      this.#meters.set(a.name, new RateMeter(o.windowS ?? 60, now));
    }
  }

  hasApp(app: string): boolean {
    return this.#slo.has(app);
  }

  appNames(): string[] {
    return [...this.#slo.keys()];
  }

  /** The app's SLO, s (undefined for an unknown app). */
  slo(app: string): number | undefined {
    return this.#slo.get(app);
  }

  /** A new SLO for a known app (config reload). */
  setSlo(app: string, slo: number): void {
    if (this.#slo.has(app)) this.#slo.set(app, slo);
  }

  /** Accepted requests not yet answered. */
  get inflight(): number {
    return this.#inflight;
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  /** Measured rates (req/s) over the sliding window. */
  rates(): Record<string, number> {
    const now = this.#o.timers.now();
    const r: Record<string, number> = {};
    for (const [app, m] of this.#meters) r[app] = m.rate(now);
    return r;
  }

  /**
   * What the deadline admission knows of the service's capacity (plan groups, or the instance
   * pool as one group); pending counts carry over. Ignored under `admission: 'queue'`.
   */
  setCapacity(groups: readonly AdmissionGroup[]): void {
    if ((this.#o.admission ?? 'deadline') !== 'deadline') return;
    if (this.#admission) this.#admission.setGroups(groups);
    else this.#admission = new DeadlineAdmission(groups);
  }

  /**
   * A backend call of `rows` requests of `app`'s group starts now: the admission counts them as
   * running, with the time they have left. Hand the result to `end` when the call's slot frees.
   */
  begin(app: string, rows: number): number | undefined {
    return this.#admission?.begin(app, rows, this.#o.timers.now());
  }

  /** The call `begin` reported has freed its slot. */
  end(running: number | undefined): void {
    if (running !== undefined) this.#admission?.end(running);
  }

  /** The deadline admission's worst expected batch of `app`'s group, seconds (see `batchBound`). */
  batchBound(app: string): number | undefined {
    return this.#admission?.batchBound(app);
  }

  /** A backend call for `app`'s group took `execS` seconds (the admission's measured latency). */
  observe(app: string, execS: number): void {
    this.#admission?.observe(app, execS);
  }

  /** The deadline a request is admitted against: its app's SLO or its own, the earlier; s from now. */
  #deadlineS(slo: number, deadlineMs: number | undefined): number {
    return Math.min(slo, deadlineMs !== undefined ? deadlineMs / 1000 : Infinity);
  }

  /**
   * Deadline admission of a request of `rows` places as a whole (a request split into samples is
   * admitted before any sample is opened, so it is never half admitted). The refusal (429
   * E_OVERLOADED with `retryAfterS`), or the admission to hand to `open`. `arrival` (the
   * service's clock, default now): when the gateway first saw the request; the time since counts
   * against its deadline.
   */
  admit(app: string, rows: number, deadlineMs?: number, arrival?: number): HetserveError | Admitted {
    const slo = this.#slo.get(app);
    if (!this.#admission || slo === undefined || !this.#accepting) return KEPT;
    // Nothing to predict (a group that scales out): admitted without building a decision.
    if (this.#admission.admitsAll(app)) return KEPT;
    const now = this.#o.timers.now();
    const deadline = this.#deadlineS(slo, deadlineMs);
    const spent = arrival !== undefined && arrival < now ? now - arrival : 0;
    const d = this.#admission.decide(app, rows, deadline - spent, now);
    if (d.admit) return d.deferred === true ? DEFERRED : KEPT;
    this.#o.metrics.rejected.labels(this.#o.model, `overload-${d.reason}`).inc();
    const why =
      d.reason === 'share'
        ? `its share of the group is in use (the other applications' planned share is kept for them)`
        : `the requests ahead of it would finish in ${d.predictedS.toFixed(3)} s`;
    return new HetserveError(
      'E_OVERLOADED',
      `app ${app}: cannot meet its deadline of ${deadline} s: ${why}; retry after ${d.retryAfterS} s`,
      {
        field: 'app',
        value: app,
        reason: d.reason,
        predictedS: +d.predictedS.toFixed(4),
        retryAfterS: d.retryAfterS,
      },
    );
  }

  /**
   * Admit one request of `app` (one queue place) or refuse it: unknown app, draining, queue full,
   * and, unless `admitted` (its whole request already passed `admit`), the deadline admission.
   * An admitted request is counted until `finish`. `arrival` as for `admit`: its deadlines count
   * from it.
   */
  open(
    app: string,
    deadlineMs: number | undefined,
    admitted?: Admitted,
    arrival?: number,
  ): LedgerEntry | HetserveError {
    const o = this.#o;
    const slo = this.#slo.get(app);
    // The common case (known app, accepting, room) decided here: the refusal's state is built
    // only for a refusal.
    if (slo === undefined || !this.#accepting || this.#inflight >= (o.maxQueue ?? 10_000)) {
      const refused = admissionError({
        model: o.model,
        app,
        slo,
        accepting: this.#accepting,
        inflight: this.#inflight,
        maxQueue: o.maxQueue,
        knownApps: () => this.appNames(),
        onQueueFull: () => o.metrics.rejected.labels(o.model, 'queue-full').inc(),
      });
      if (refused || slo === undefined) return refused!;
    }
    const a = admitted ?? this.admit(app, 1, deadlineMs, arrival);
    if (a instanceof HetserveError) return a;
    const now = o.timers.now();
    this.#meters.get(app)!.add(now);
    const wanted = deadlineMs !== undefined ? deadlineMs / 1000 : Infinity;
    this.#inflight++;
    this.#admission?.add(app, 1, a.deferred);
    const at = arrival !== undefined && arrival < now ? arrival : now;
    return {
      app,
      arrival: at,
      slo,
      deadline: at + Math.min(this.#deadlineS(slo, deadlineMs), o.deadlineCapS ?? Infinity),
      hardDeadline: at + Math.min(wanted, slo * (o.hardDeadlineFactor ?? 2)),
      deferred: a.deferred,
      done: false,
    };
  }

  /**
   * The answer to an admitted request dropped before it ran because it could no longer meet its
   * deadline (requests that overtook it, batches slower than predicted): 429 E_OVERLOADED now
   * instead of a late answer that would take a batch place from one in time.
   */
  lateError(e: LedgerEntry): HetserveError {
    this.#o.metrics.rejected.labels(this.#o.model, 'overload-late').inc();
    const within = +(e.deadline - e.arrival).toFixed(3);
    return new HetserveError(
      'E_OVERLOADED',
      `app ${e.app}: can no longer meet its deadline of ${within} s behind the requests ahead of it; not run; retry after 1 s`,
      { field: 'app', value: e.app, reason: 'late', retryAfterS: 1 },
    );
  }

  #countersOf(app: string): AppCounters {
    let c = this.#counters.get(app);
    if (!c) {
      const m = this.#o.metrics;
      const model = this.#o.model;
      c = {
        ok: counterChild(m.requests, model, app, '200'),
        miss: counterChild(m.sloMisses, model, app),
        wait: histogramChild(m.queueWait, model, app),
        e2e: histogramChild(m.e2e, model, app),
      };
      this.#counters.set(app, c);
    }
    return c;
  }

  /** The request's backend call starts now: its wait (batching, queueing) is recorded. */
  started(e: LedgerEntry, now: number): void {
    this.#countersOf(e.app).wait.observe(now - e.arrival);
  }

  /**
   * Record the request's outcome and deliver its answer, exactly once (later calls do nothing):
   * the answer's `latencyS` is set, `record` sees the latency for mode-specific metrics. False
   * when it was already answered.
   */
  finish(e: LedgerEntry, a: Answer, deliver: (a: Answer) => void, record?: (latS: number) => void): boolean {
    if (e.done) return false;
    e.done = true;
    this.#inflight--;
    this.#admission?.done(e.app, 1, e.deferred);
    const c = this.#countersOf(e.app);
    const lat = this.#o.timers.now() - e.arrival;
    const miss = !a.ok || lat > e.slo;
    if (a.ok) {
      c.ok.inc();
      c.e2e.observe(lat);
      a.latencyS = lat;
    }
    if (miss) c.miss.inc();
    record?.(lat);
    this.#o.live.request(e.app, a.ok ? lat : undefined, miss);
    deliver(a);
    if (this.#inflight === 0) this.#drained.wake();
    return true;
  }

  /** The per-second gauges: measured rate per app, requests in flight. */
  tick(): void {
    const o = this.#o;
    const now = o.timers.now();
    for (const [app, meter] of this.#meters) o.metrics.appRate.labels(o.model, app).set(meter.rate(now));
    o.metrics.inflight.labels(o.model).set(this.#inflight);
  }

  /** Refuse every request from now on (E_SHUTTING_DOWN). */
  stop(): void {
    this.#accepting = false;
  }

  /** True once nothing is in flight, false when `timeoutS` passes first. */
  drained(timeoutS: number): Promise<boolean> {
    if (this.#inflight === 0) return Promise.resolve(true);
    return this.#drained.wait(timeoutS);
  }
}
