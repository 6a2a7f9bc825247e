/**
 * Cluster serving of one model (Kairos): a pool of heterogeneous instances, each a backend, and
 * the Kairos distributor deciding, on every arrival and completion, which waiting query goes to
 * which idle instance (min-cost bipartite matching on per-size latency estimates). A request is one
 * query whose size is its batch dimension (or `parameters.query_size`).
 *
 * The pool can change while serving (`resize`, driven every interval by the re-allocation when
 * configured): new instances are started and warmed before they join; removed ones stop taking
 * queries at once and are closed when their running query is answered. Waiting queries move to the
 * rebuilt distributor exactly once; none is lost or run twice.
 */
import type { Logger } from 'pino';
import { createKairosDistributor, type KairosDistributor } from '../dispatch/distributor.ts';
import { createDistributorLoop, type DistributorLoop } from '../dispatch/loop.ts';
import type { Assignment, LatencyEstimator, PendingQuery } from '../dispatch/types.ts';
import type { TimerId, TimerSource } from '../dispatch/clock.ts';
import { HetserveError, isHetserveError } from '../model/errors.ts';
import type { App } from '../model/app.ts';
import type { LatencyTable } from '../predict/latency-table.ts';
import type { QuerySizeDistribution } from '../workload/query-sizes.ts';
import type { ReallocDecision, ReallocType } from '../plan/cluster/realloc.ts';
import type { ClusterOracle } from '../plan/cluster/oracle.ts';
import type { Backend } from './backends/types.ts';
import type { GatewayMetrics } from './metrics.ts';
import { ClusterMetrics, sizeBucket } from './cluster-metrics.ts';
import { LiveSeries } from './live.ts';
import { ledgerOptions, RequestLedger, type LedgerEntry } from './ledger.ts';
import type { AdmissionGroup } from './admission.ts';
import type { Answer, ModelService, ServiceSnapshot } from './model-service.ts';
import {
  assembleBatch,
  concatRows,
  splitBatch,
  splitRows,
  type DecodedRequest,
  type ModelIO,
} from './tensors.ts';

export interface ClusterInstance {
  name: string;
  type: string;
  backend: Backend;
}

export interface ClusterReallocOptions {
  /** Latency table the allocator plans with. */
  table: LatencyTable;
  /** Types the pool may use, with prices and count limits. */
  types: ReallocType[];
  budgetUsdPerHour: number;
  /** Period between decisions, seconds. */
  intervalS: number;
  /** Hysteresis fraction (see src/plan/cluster/realloc.ts). */
  margin: number;
  /** Capacity wanted per unit of measured rate. */
  headroom: number;
  /** Start (and warm) the backend of a new instance; rejects when it cannot. */
  startInstance: (type: string, name: string) => Promise<Backend>;
  /**
   * The default rule: an oracle (the simulator) for the measured size mix verifies a proposed
   * change before it is made (src/plan/cluster/realloc.ts `verifyReallocation`). Absent: the
   * bound alone decides.
   */
  verify?: (sizes: QuerySizeDistribution) => ClusterOracle;
}

export interface ClusterServiceOptions {
  io: ModelIO;
  apps: App[];
  instances: ClusterInstance[];
  /** QoS target, ms (a request's deadline is arrival + min(QoS, app SLO)). */
  qosMs: number;
  baseType: string;
  /** Per-query service time estimate (ms) by type and query size (the distributor's estimator). */
  estimateMs?: LatencyEstimator;
  /** Without `estimateMs`: mean service time of one item per type, ms, scaled by the size (default 1 ms). */
  latencyMs?: Record<string, number>;
  /** Every query has this size (the old fixed-size behaviour), whatever the request carries. */
  fixedQuerySize?: number;
  /** Hourly price per type (cost metrics); unknown types count 0. */
  prices?: Record<string, number>;
  realloc?: ClusterReallocOptions;
  timers: TimerSource;
  metrics: GatewayMetrics;
  logger: Logger;
  maxQueue?: number;
  hardDeadlineFactor?: number;
  /** Sliding window for rates, the size mix and the QoS-met ratio, seconds (default 60). */
  windowS?: number;
  /**
   * 'deadline' (default): admit a query only when the pool is predicted to answer it within its
   * app's SLO (or its own deadline, when earlier), the pool seen as one group of one-query slots
   * (src/serve/admission.ts), else 429 E_OVERLOADED with Retry-After at once; the QoS target stays
   * the distributor's scheduling deadline. 'queue': only maxQueue.
   */
  admission?: 'deadline' | 'queue';
  /** Called for each query an instance answered: its size in rows (1, as a statistic) and its time, s. */
  onBatch?: (size: number, execS: number) => void;
}

interface Query {
  req: DecodedRequest;
  /** Its arrival, deadlines (`deadline` = arrival + QoS) and outcome, kept by the ledger. */
  entry: LedgerEntry;
  size: number;
  resolve: (a: Answer) => void;
}

interface Slot {
  name: string;
  type: string;
  backend: Backend;
  busy: boolean;
  removed: boolean;
  busySince: number;
  /** Busy seconds of finished queries, and the total at the last tick (utilisation). */
  busyAcc: number;
  busyAtTick: number;
}

/** Pool and service figures for the dashboard and /api/live. */
export interface ClusterSummary {
  pool: Record<string, number>;
  draining: number;
  utilisation: Record<string, number>;
  qosMetRatio: number | null;
  rateQps: number;
  costUsdPerHour: number;
  budgetUsdPerHour?: number;
  lastDecision?: ReallocDecision & { at: number };
}

/** A FIFO of (time, value) pairs pruned by age. */
class Window {
  private t: number[] = [];
  private v: number[] = [];
  private head = 0;
  constructor(private readonly spanS: number) {}
  add(time: number, value: number): void {
    this.t.push(time);
    this.v.push(value);
  }
  prune(now: number): void {
    while (this.head < this.t.length && this.t[this.head] < now - this.spanS) this.head++;
    if (this.head > 1024 && this.head * 2 > this.t.length) {
      this.t = this.t.slice(this.head);
      this.v = this.v.slice(this.head);
      this.head = 0;
    }
  }
  values(now: number): number[] {
    this.prune(now);
    return this.v.slice(this.head);
  }
  get count(): number {
    return this.t.length - this.head;
  }
}

export class ClusterService implements ModelService {
  readonly mode = 'cluster';
  readonly io: ModelIO;
  readonly live = new LiveSeries();
  readonly startedAt: number;
  private readonly opts: ClusterServiceOptions;
  private readonly cm: ClusterMetrics;
  private loop!: DistributorLoop<Query>;
  private slots: Slot[];
  private readonly draining = new Set<Slot>();
  /** Queued, not yet assigned, by id: what a rebuilt distributor takes over. */
  private readonly waiting = new Map<number, PendingQuery<Query>>();
  private estimate: LatencyEstimator;
  /** Admission, deadlines, rates and the outcome of every query. */
  private readonly ledger: RequestLedger;
  private readonly arrivals: Window;
  private readonly completions: Window;
  private nextId = 0;
  private nextName = 0;
  private lastTick: number;
  private resizing: Promise<void> = Promise.resolve();
  private reallocTimer: TimerId | undefined;
  private lastMix: QuerySizeDistribution | undefined;
  private lastDecision: (ReallocDecision & { at: number }) | undefined;
  private publishedTypes = new Set<string>();

  constructor(opts: ClusterServiceOptions) {
    this.opts = opts;
    this.io = opts.io;
    this.cm = ClusterMetrics.of(opts.metrics.registry);
    this.startedAt = opts.timers.now();
    this.lastTick = this.startedAt;
    const windowS = opts.windowS ?? 60;
    this.arrivals = new Window(windowS);
    this.completions = new Window(windowS);
    this.ledger = new RequestLedger(
      ledgerOptions(
        { model: opts.io.name, apps: opts.apps, timers: opts.timers, metrics: opts.metrics, live: this.live },
        { ...opts, windowS, deadlineCapS: opts.qosMs / 1000 },
      ),
    );
    const per = opts.latencyMs ?? {};
    this.estimate = opts.estimateMs ?? ((type, size) => (per[type] ?? 1) * size);
    this.slots = opts.instances.map((i) => this.slot(i.name, i.type, i.backend));
    this.rebuild();
    if (opts.realloc) this.armRealloc();
  }

  private slot(name: string, type: string, backend: Backend): Slot {
    return { name, type, backend, busy: false, removed: false, busySince: 0, busyAcc: 0, busyAtTick: 0 };
  }

  /** A new distributor over the current slots; running queries keep their instances, waiting ones move. */
  private rebuild(): void {
    const now = this.opts.timers.now();
    this.loop?.close();
    const distributor: KairosDistributor<Query> = createKairosDistributor<Query>({
      instances: this.slots.map((s) => s.type),
      estimateMs: this.estimate,
      baseType: this.opts.baseType,
    });
    this.slots.forEach((s, i) => {
      if (s.busy) distributor.occupy(i, now);
    });
    this.loop = createDistributorLoop<Query>({
      distributor,
      timers: this.opts.timers,
      onAssign: (a) => {
        this.waiting.delete(a.query.id as number);
        void this.run(a, this.slots[a.instance]);
      },
    });
    for (const q of [...this.waiting.values()].sort((a, b) => (a.id as number) - (b.id as number)))
      distributor.enqueue(q);
    this.loop.decide();
    this.ledger.setCapacity([this.capacity(now)]);
  }

  /**
   * The pool as the deadline admission sees it: one group of single-query slots (one per
   * instance) whose average service time is the pool's (instances over their summed throughput
   * at the typical query size) and whose tail reaches the slowest type's. Measured query times
   * are not fed back: they mix types and sizes, so their average is not a slot's time; the
   * estimator itself is what calibration updates (`setLatencyEstimator`).
   */
  private capacity(now: number): AdmissionGroup {
    const sizes = this.arrivals.values(now);
    const size =
      this.opts.fixedQuerySize ?? (sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 1);
    const est = this.slots.map((s) => this.estimate(s.type, Math.max(1, Math.round(size))) / 1000);
    const throughput = est.reduce((sum, e) => sum + (e > 0 ? 1 / e : Infinity), 0);
    const avg = est.length > 0 && throughput > 0 ? est.length / throughput : 0;
    const apps = this.ledger.appNames();
    return {
      apps,
      batchSize: 1,
      concurrency: Math.max(1, this.slots.length),
      latency: { avg, max: Math.max(avg, ...est) },
      rps: Object.fromEntries(this.opts.apps.map((a) => [a.name, a.rps])),
      slo: Object.fromEntries(apps.map((a) => [a, this.ledger.slo(a) ?? Infinity])),
    };
  }

  get planned(): undefined {
    return undefined;
  }

  /**
   * Replace the latency estimator (e.g. after a calibration updated the per-type tables). Waiting
   * queries are re-decided with it; running ones are unaffected.
   */
  setLatencyEstimator(estimateMs: LatencyEstimator): void {
    this.estimate = estimateMs;
    this.rebuild();
  }

  hasApp(app: string): boolean {
    return this.ledger.hasApp(app);
  }

  appNames(): string[] {
    return this.ledger.appNames();
  }

  get queued(): number {
    return this.ledger.inflight;
  }

  rates(): Record<string, number> {
    return this.ledger.rates();
  }

  /** Started by the constructor (the pool's backends come started). */
  async start(): Promise<void> {}

  snapshot(): ServiceSnapshot {
    return { mode: this.mode, instances: this.instances(), cluster: this.summary() };
  }

  instances(): { name: string; type: string; busy: boolean; draining: boolean }[] {
    return [...this.slots, ...this.draining].map((s) => ({
      name: s.name,
      type: s.type,
      busy: s.busy,
      draining: s.removed,
    }));
  }

  /** Instances per type in the pool (draining ones excluded). */
  pool(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.slots) out[s.type] = (out[s.type] ?? 0) + 1;
    return out;
  }

  private cost(): number {
    const p = this.opts.prices ?? {};
    return this.slots.reduce((s, x) => s + (p[x.type] ?? 0), 0);
  }

  /** Measured rate over the window (seconds since start when younger), queries/s. */
  private measuredRate(now: number): number {
    this.arrivals.prune(now);
    const span = Math.max(1, Math.min(this.opts.windowS ?? 60, now - this.startedAt));
    return this.arrivals.count / span;
  }

  private qosMetRatio(now: number): number | null {
    const v = this.completions.values(now);
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
  }

  summary(): ClusterSummary {
    const now = this.opts.timers.now();
    const utilisation: Record<string, number> = {};
    const n: Record<string, number> = {};
    for (const s of this.slots) {
      const busy = s.busyAcc + (s.busy ? now - s.busySince : 0);
      const dt = now - this.lastTick;
      utilisation[s.type] =
        (utilisation[s.type] ?? 0) + (dt > 0 ? Math.min(1, (busy - s.busyAtTick) / dt) : s.busy ? 1 : 0);
      n[s.type] = (n[s.type] ?? 0) + 1;
    }
    for (const t of Object.keys(utilisation)) utilisation[t] /= n[t];
    return {
      pool: this.pool(),
      draining: this.draining.size,
      utilisation,
      qosMetRatio: this.qosMetRatio(now),
      rateQps: this.measuredRate(now),
      costUsdPerHour: this.cost(),
      ...(this.opts.realloc ? { budgetUsdPerHour: this.opts.realloc.budgetUsdPerHour } : {}),
      ...(this.lastDecision ? { lastDecision: this.lastDecision } : {}),
    };
  }

  /** Serve one request as one query of its size (`parameters.query_size`, else its rows). */
  infer(req: DecodedRequest, app: string): Promise<Answer> {
    const entry = this.ledger.open(app, req.deadlineMs, undefined, req.arrival);
    const size = this.opts.fixedQuerySize ?? req.querySize ?? req.rows;
    if (entry instanceof HetserveError) {
      // The re-allocation sizes the pool for the offered load, shed queries included.
      if (entry.code === 'E_OVERLOADED') this.arrivals.add(this.opts.timers.now(), size);
      return Promise.resolve({ ok: false, error: entry });
    }
    const now = entry.arrival;
    this.arrivals.add(now, size);
    return new Promise<Answer>((resolve) => {
      const q: Query = { req, entry, size, resolve };
      const pq: PendingQuery<Query> = {
        id: this.nextId++,
        size,
        arrival: now,
        deadline: entry.deadline,
        payload: q,
      };
      this.waiting.set(pq.id as number, pq);
      this.loop.enqueue(pq);
    });
  }

  private finish(q: Query, a: Answer, type: string): void {
    const e = q.entry;
    this.ledger.finish(e, a, q.resolve, (lat) => {
      const now = e.arrival + lat;
      const bucket = sizeBucket(q.size);
      if (a.ok) this.cm.latency.labels(this.io.name, type, bucket).observe(lat);
      const met = a.ok && now <= e.deadline + 1e-9;
      this.cm.queries.labels(this.io.name, type, bucket, a.ok ? (met ? 'met' : 'missed') : 'failed').inc();
      this.completions.add(now, met ? 1 : 0);
    });
  }

  /** Run the query on one instance; resolves with its answer (never rejects). */
  private async attempt(q: Query, inst: Slot, signal: AbortSignal, arrivalWait: number): Promise<Answer> {
    // Backend time on the service's clock: real in production, virtual under test.
    const t0 = this.opts.timers.now();
    try {
      const out = await inst.backend.infer({
        inputs: assembleBatch(this.io, splitRows(q.req, this.io)),
        size: q.req.rows,
        ...(q.size !== q.req.rows ? { querySize: q.size } : {}),
        signal,
      });
      const dt = this.opts.timers.now() - t0;
      this.opts.metrics.batchExec.labels(this.io.name, inst.type, inst.name).observe(dt);
      this.opts.onBatch?.(1, dt);
      return {
        ok: true,
        outputs: concatRows(splitBatch(this.io, out, q.req.rows)),
        latencyS: 0,
        waitS: arrivalWait,
        execS: dt,
      };
    } catch (e) {
      this.opts.metrics.batchFailures.labels(this.io.name, inst.type, inst.name).inc();
      const error = isHetserveError(e)
        ? e
        : new HetserveError('E_BACKEND_FAILED', `instance ${inst.name}: ${(e as Error).message}`);
      return { ok: false, error };
    }
  }

  private async run(a: Assignment<Query>, slot: Slot): Promise<void> {
    const q = a.query.payload!;
    const timers = this.opts.timers;
    const now = timers.now();
    slot.busy = true;
    slot.busySince = now;
    const e = q.entry;
    this.ledger.started(e, now);
    // The admission counts the query as running on its slot, with the time it has left.
    const running = this.ledger.begin(e.app, 1);
    let answer: Answer;
    let servedBy = slot;
    if (e.hardDeadline <= now) {
      answer = {
        ok: false,
        error: new HetserveError(
          'E_BACKEND_TIMEOUT',
          'no instance could serve the request within its deadline',
          {
            field: 'deadline',
            value: +(e.hardDeadline - e.arrival).toFixed(3),
          },
        ),
      };
    } else {
      const ctrl = new AbortController();
      const timer = timers.setTimer(e.hardDeadline, () =>
        ctrl.abort(
          new HetserveError('E_BACKEND_TIMEOUT', "no instance answered within the request's deadline"),
        ),
      );
      answer = await this.attempt(q, slot, ctrl.signal, now - e.arrival);
      // A failed query is retried at once on the other instances, fastest estimate first (idle
      // ones before busy ones), while its deadline allows. It does not go back through the
      // distributor, which would hand it straight back to the (idle again) failing instance.
      if (!answer.ok && answer.error.code === 'E_BACKEND_FAILED') {
        const est = (s: Slot) => this.estimate(s.type, q.size) + (s.busy ? 1e9 : 0);
        const others = this.slots.filter((s) => s !== slot).sort((x, y) => est(x) - est(y));
        for (const other of others) {
          if (ctrl.signal.aborted) break;
          this.opts.logger.warn(
            { model: this.io.name, instance: slot.name, err: answer.error.message },
            'query failed; retrying on another instance',
          );
          servedBy = other;
          answer = await this.attempt(q, other, ctrl.signal, now - e.arrival);
          if (answer.ok || answer.error.code !== 'E_BACKEND_FAILED') break;
        }
      }
      timers.clearTimer(timer);
    }
    this.finish(q, answer, servedBy.type);
    this.ledger.end(running);
    slot.busy = false;
    slot.busyAcc += timers.now() - slot.busySince;
    if (slot.removed) {
      // Drained: the pool dropped it while this query ran.
      this.draining.delete(slot);
      void slot.backend.close();
      return;
    }
    this.loop.complete(this.slots.indexOf(slot));
  }

  /**
   * Change the pool to `target` instances per type: new instances are started and warmed first
   * (`realloc.startInstance`), then the distributor is rebuilt over the new pool; removed instances
   * (idle ones first) take no new query and are closed once their running query is answered.
   * Calls run one after another. Resolves with the pool in effect.
   */
  resize(target: Readonly<Record<string, number>>): Promise<Record<string, number>> {
    const next = this.resizing.then(() => this.resizeNow(target));
    this.resizing = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private async resizeNow(target: Readonly<Record<string, number>>): Promise<Record<string, number>> {
    const start = this.opts.realloc?.startInstance;
    const have = this.pool();
    const types = new Set([...Object.keys(have), ...Object.keys(target)]);
    if ([...types].reduce((s, t) => s + (target[t] ?? 0), 0) < 1)
      throw new HetserveError('E_POOL_INVALID', 'pool: a cluster needs at least one instance', {
        field: 'pool',
        value: target,
      });
    const added: Slot[] = [];
    const wantNew: { type: string; name: string }[] = [];
    for (const t of types)
      for (let k = have[t] ?? 0; k < (target[t] ?? 0); k++)
        wantNew.push({ type: t, name: `${t}#${++this.nextName}` });
    if (wantNew.length > 0 && !start)
      throw new HetserveError(
        'E_POOL_INVALID',
        'pool: no way to start new instances (serving.realloc.pool)',
        {
          field: 'pool',
          value: target,
        },
      );
    const started = await Promise.allSettled(wantNew.map((w) => start!(w.type, w.name)));
    started.forEach((r, i) => {
      if (r.status === 'fulfilled') added.push(this.slot(wantNew[i].name, wantNew[i].type, r.value));
      else
        this.opts.logger.error(
          { model: this.io.name, instance: wantNew[i].name, err: (r.reason as Error).message },
          'new instance failed to start; pool stays smaller',
        );
    });
    if (!this.ledger.accepting) {
      await Promise.all(added.map((s) => s.backend.close()));
      return this.pool();
    }
    const remove = new Set<Slot>();
    for (const t of types) {
      let surplus = (have[t] ?? 0) - (target[t] ?? 0);
      const ofType = this.slots.filter((s) => s.type === t).sort((a, b) => Number(a.busy) - Number(b.busy));
      for (const s of ofType) if (surplus-- > 0) remove.add(s);
    }
    const kept = this.slots.filter((s) => !remove.has(s));
    if (kept.length + added.length === 0) {
      // Every new instance failed: keep the old pool rather than none.
      return this.pool();
    }
    this.slots = [...kept, ...added];
    this.rebuild();
    for (const s of remove) {
      s.removed = true;
      if (s.busy) this.draining.add(s);
      else void s.backend.close();
    }
    this.opts.logger.info(
      { model: this.io.name, pool: this.pool(), draining: this.draining.size },
      'cluster pool changed',
    );
    return this.pool();
  }

  private armRealloc(): void {
    const r = this.opts.realloc!;
    const t = this.opts.timers;
    this.reallocTimer = t.setTimer(t.now() + r.intervalS, () => {
      this.reallocTimer = undefined;
      void this.reallocate().finally(() => {
        if (this.ledger.accepting) this.armRealloc();
      });
    });
  }

  /** One re-allocation decision now (also run by the interval timer). */
  async reallocate(): Promise<ReallocDecision | undefined> {
    const r = this.opts.realloc;
    if (!r) return undefined;
    const now = this.opts.timers.now();
    const { planReallocation, sizeMixFromObservations, verifyReallocation } =
      await import('../plan/cluster/realloc.ts');
    const sizes = this.arrivals.values(now);
    const rateQps = this.measuredRate(now);
    try {
      if (sizes.length > 0) this.lastMix = sizeMixFromObservations(sizes, r.table);
      const mix = this.lastMix ?? { sizes: [r.table.batchSizes[0]], probabilities: [1] };
      const input = {
        table: r.table,
        types: r.types,
        baseType: this.opts.baseType,
        budgetUsdPerHour: r.budgetUsdPerHour,
        qosMs: this.opts.qosMs,
        sizes: mix,
        rateQps,
        current: this.pool(),
        margin: r.margin,
        headroom: r.headroom,
      };
      let d = planReallocation(input);
      if (r.verify) d = await verifyReallocation(input, d, r.verify(mix));
      this.lastDecision = { ...d, at: now - this.startedAt };
      if (d.action !== 'keep') {
        this.opts.logger.info({ model: this.io.name, ...d }, 'cluster re-allocation');
        this.cm.reallocations.labels(this.io.name, d.action).inc();
        await this.resize(d.target);
      }
      return d;
    } catch (e) {
      this.opts.logger.error(
        { model: this.io.name, err: (e as Error).message },
        're-allocation failed; pool kept',
      );
      return undefined;
    }
  }

  tick(): void {
    const now = this.opts.timers.now();
    this.ledger.tick();
    const s = this.summary();
    const name = this.io.name;
    for (const t of this.publishedTypes) if (!(t in s.pool)) this.cm.instances.remove(name, t);
    this.publishedTypes = new Set(Object.keys(s.pool));
    for (const [t, n] of Object.entries(s.pool)) this.cm.instances.labels(name, t).set(n);
    for (const [t, u] of Object.entries(s.utilisation)) this.cm.utilisation.labels(name, t).set(u);
    if (s.qosMetRatio !== null) this.cm.qosMetRatio.labels(name).set(s.qosMetRatio);
    this.cm.costPerHour.labels(name).set(s.costUsdPerHour);
    this.cm.measuredRate.labels(name).set(s.rateQps);
    for (const x of this.slots) x.busyAtTick = x.busyAcc + (x.busy ? now - x.busySince : 0);
    this.lastTick = now;
    this.live.tick(Math.round(now - this.startedAt), []);
  }

  async drain(timeoutS: number): Promise<boolean> {
    this.ledger.stop();
    return this.ledger.drained(timeoutS);
  }

  async close(): Promise<void> {
    this.ledger.stop();
    if (this.reallocTimer !== undefined) this.opts.timers.clearTimer(this.reallocTimer);
    this.loop.close();
    await this.resizing;
    await Promise.all([...this.slots, ...this.draining].map((i) => i.backend.close()));
  }
}
