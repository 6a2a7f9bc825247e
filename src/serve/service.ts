/**
 * Serverless serving of one model: the plan's groups, one backend (function) per group behind the dispatch core's
 * multi-SLO batch manager, per-request deadlines, retries on another backend, live re-planning
 * through `reconfigure` (queued requests are re-homed, none dropped or sent twice).
 */
import { admissionError, DeadlineAdmission, DrainWaiters } from './admission.ts';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { createBatchManager } from '../dispatch/batch-manager.ts';
import type { Batch, BatchManager, GroupView } from '../dispatch/types.ts';
import type { TimerSource } from '../dispatch/clock.ts';
import { HetserveError, isHetserveError } from '../model/errors.ts';
import type { App } from '../model/app.ts';
import type { FunctionConfig, Plan } from '../model/plan.ts';
import type { PriceTable } from '../model/prices.ts';
import { costPerRequest } from '../predict/cost.ts';
import type { Backend } from './backends/types.ts';
import type { GatewayMetrics } from './metrics.ts';
import { RateMeter, LiveSeries } from './live.ts';
import { assembleBatch, splitBatch, type DecodedRequest, type ModelIO, type Tensor } from './tensors.ts';

export type PlanFn = (apps: App[]) => Plan | Promise<Plan>;

export type Answer =
  | {
      ok: true;
      outputs: Tensor[];
      /** Arrival to answer, seconds (set by the service). */
      latencyS: number;
      /** Arrival to batch release (batching wait), seconds. */
      waitS: number;
      /** Backend time of the batch, seconds. */
      execS: number;
    }
  | { ok: false; error: HetserveError };

interface Pending {
  req: DecodedRequest;
  app: string;
  arrival: number;
  /** Hard deadline (s): past it the request is answered E_BACKEND_TIMEOUT. */
  hardDeadline: number;
  slo: number;
  done: boolean;
  /** Counted in the deadline admission's pending requests (undone in finish). */
  counted?: boolean;
  resolve: (a: Answer) => void;
}

export interface ServiceOptions {
  io: ModelIO;
  /** Applications of this model (name, SLO s, rate hint). */
  apps: App[];
  planFn: PlanFn;
  /** Create the function backend of a plan group (called once per distinct function). */
  makeBackend: (fn: FunctionConfig, key: string) => Promise<Backend>;
  timers: TimerSource;
  metrics: GatewayMetrics;
  prices?: PriceTable;
  logger: Logger;
  /** Accepted-but-unanswered requests before 429 (default 10000). */
  maxQueue?: number;
  /** Hard deadline = arrival + SLO × this (default 2), unless the request gives deadline_ms. */
  hardDeadlineFactor?: number;
  /** Rate window for re-planning, s (default 60). */
  windowS?: number;
  /** Rate floor fed to the planner so every app keeps a group (default 0.01 req/s). */
  minRps?: number;
  /**
   * Most batches of one plan group inside its backend at once (the batch manager's `maxInFlight`);
   * further ready batches wait in the group's buffer. A number for every group (Infinity =
   * unlimited) or 'auto' (default): the group's backend's `concurrency` (onnx: its workers), else
   * unlimited. A batch's slot is freed when it is answered, has failed on every backend, or every
   * request of it is past its hard deadline (the backend call is then aborted).
   */
  maxInFlight?: number | 'auto';
  /** Called for each batch a backend answered: its size and backend time, s (statistics). */
  onBatch?: (size: number, execS: number) => void;
  /** Sees every answered batch's backend time (latency calibration, src/serve/calibration-loop.ts). */
  onBatchLatency?: (fn: FunctionConfig, batch: number, latencyS: number) => void;
  /**
   * 'deadline' (default): admit a request only when its predicted completion meets its deadline,
   * each app keeping its planned share of a saturated group (src/serve/admission.ts
   * DeadlineAdmission), else 429 E_OVERLOADED at once. 'queue': only the maxQueue bound.
   */
  admission?: 'deadline' | 'queue';
}

interface BackendSlot {
  backend: Backend;
  fn: FunctionConfig;
  /** Groups of the current plan using it. */
  users: number;
  /** Batches running on it now. */
  running: number;
}

function fnKey(fn: FunctionConfig): string {
  return fn.kind === 'cpu'
    ? `cpu:${fn.vcpu}vcpu:${fn.memoryGb}GB`
    : `gpu:${fn.gpuMemoryGb}GB:${fn.vcpu}vcpu:${fn.memoryGb}GB`;
}

export class ServerlessService {
  readonly io: ModelIO;
  readonly live = new LiveSeries();
  plan!: Plan;
  planVersion = 0;
  private manager!: BatchManager<Pending>;
  private readonly opts: ServiceOptions;
  private readonly appSlo = new Map<string, number>();
  private readonly meters = new Map<string, RateMeter>();
  private readonly backends = new Map<string, BackendSlot>();
  /** Backend key per group index of the current plan. */
  private groupBackend: string[] = [];
  /**
   * Backend keys by plan version: a batch carries the version of the plan whose group formed it
   * (reconfigure releases requests it cannot re-home in their old group, under the old version).
   */
  private readonly keysByVersion = new Map<number, string[]>();
  private inflight = 0;
  private accepting = true;
  private readonly drained = new DrainWaiters();
  private nextId = 0;
  private readonly metricChildren = new Map<string, ReturnType<ServerlessService['children']>>();
  private replanning: Promise<void> | undefined;
  /** Backend keys of the plan being installed (kept from retirement until it is). */
  private readonly reserved = new Set<string>();
  /** Swaps run one at a time (an admin swap may meet a periodic re-plan). */
  private swapping: Promise<unknown> = Promise.resolve();
  private published: { info: string[][]; cost: string[] } = { info: [], cost: [] };
  private admission: DeadlineAdmission | undefined;
  readonly startedAt: number;

  constructor(opts: ServiceOptions) {
    this.opts = opts;
    this.io = opts.io;
    this.startedAt = opts.timers.now();
    for (const a of opts.apps) {
      this.appSlo.set(a.name, a.slo);
      this.meters.set(a.name, new RateMeter(opts.windowS ?? 60, this.startedAt));
    }
  }

  private children(app: string) {
    const m = this.opts.metrics;
    const model = this.io.name;
    return {
      ok: m.requests.labels(model, app, '200'),
      miss: m.sloMisses.labels(model, app),
      wait: m.queueWait.labels(model, app),
      e2e: m.e2e.labels(model, app),
    };
  }

  private metricsFor(app: string) {
    let c = this.metricChildren.get(app);
    if (!c) this.metricChildren.set(app, (c = this.children(app)));
    return c;
  }

  /** Compute the first plan from the rate hints, start backends and the batch manager. */
  async start(): Promise<void> {
    const plan = await this.opts.planFn(
      this.opts.apps.map((a) => ({ ...a, rps: Math.max(a.rps, this.opts.minRps ?? 0.01) })),
    );
    this.groupBackend = await this.ensureBackends(plan);
    this.keysByVersion.set(0, this.groupBackend);
    this.plan = plan;
    this.manager = createBatchManager<Pending>({
      plan,
      timers: this.opts.timers,
      onBatch: (b) => void this.runBatch(b),
      maxInFlight: (g) => this.inFlightLimit(g),
      capacity: (g) =>
        Math.max(g.batchSize, Math.ceil((this.opts.maxQueue ?? 10_000) / Math.max(1, plan.groups.length))),
    });
    this.publishPlan();
    this.installAdmission();
  }

  /** The deadline admission's view of the current plan (its groups, concurrency, planned rates). */
  private installAdmission(): void {
    if ((this.opts.admission ?? 'deadline') !== 'deadline') return;
    const groups = this.manager.groups().map((gv) => {
      const g = this.plan.groups[gv.index];
      return {
        apps: g.apps,
        batchSize: g.batchSize,
        concurrency: this.inFlightLimit(gv),
        latency: g.latency,
        rps: Object.fromEntries(
          g.apps.map((a) => [a, this.plan.apps?.find((x) => x.name === a)?.rps ?? g.rps / g.apps.length]),
        ),
        slo: Object.fromEntries(g.apps.map((a) => [a, this.appSlo.get(a) ?? Infinity])),
      };
    });
    if (this.admission) this.admission.setGroups(groups);
    else this.admission = new DeadlineAdmission(groups);
  }

  /**
   * Admission of a request of `rows` samples as a whole (the gateway asks before submitting its
   * rows, so a request is never half admitted). The refusal, or undefined when admitted.
   */
  admit(app: string, rows: number, deadlineMs?: number): HetserveError | undefined {
    const slo = this.appSlo.get(app);
    if (!this.admission || slo === undefined || !this.accepting) return undefined;
    const deadline = Math.min(slo, deadlineMs !== undefined ? deadlineMs / 1000 : Infinity);
    const d = this.admission.decide(app, rows, deadline, this.opts.timers.now());
    if (d.admit) return undefined;
    this.opts.metrics.rejected.labels(this.io.name, `overload-${d.reason}`).inc();
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

  /** maxInFlight of a group of the plan being installed (its backend already exists). */
  private inFlightLimit(g: GroupView): number {
    const o = this.opts.maxInFlight ?? 'auto';
    if (o !== 'auto') return o;
    const c = this.backends.get(this.groupBackend[g.index])?.backend.concurrency;
    return c !== undefined && Number.isInteger(c) && c >= 1 ? c : Infinity;
  }

  /**
   * Backend key of each group: the function config plus an ordinal, so two groups with the same
   * function still get separate function instances (as on a serverless platform), and a re-plan
   * that keeps a function reuses its warm backend.
   */
  private keysOf(plan: Plan): string[] {
    const seen = new Map<string, number>();
    return plan.groups.map((g) => {
      const f = fnKey(g.function);
      const k = seen.get(f) ?? 0;
      seen.set(f, k + 1);
      return k === 0 ? f : `${f}#${k}`;
    });
  }

  private async ensureBackends(plan: Plan): Promise<string[]> {
    const keys = this.keysOf(plan);
    // While a new backend is created, a batch finishing elsewhere runs maybeRetire: the keys of
    // the plan being installed are reserved so that a backend it reuses is not closed meanwhile.
    for (const k of keys) this.reserved.add(k);
    try {
      for (let i = 0; i < keys.length; i++) {
        if (!this.backends.has(keys[i])) {
          const fn = plan.groups[i].function;
          const backend = await this.opts.makeBackend(fn, keys[i]);
          this.backends.set(keys[i], { backend, fn, users: 0, running: 0 });
        }
      }
    } finally {
      this.reserved.clear();
    }
    for (const s of this.backends.values()) s.users = 0;
    for (const k of keys) this.backends.get(k)!.users++;
    return keys;
  }

  private publishPlan(): void {
    const m = this.opts.metrics;
    const model = this.io.name;
    // Remove this model's previous plan series only (other models share the registry).
    for (const l of this.published.info) m.planInfo.remove(...l);
    for (const k of this.published.cost) m.costPredicted.remove(model, k);
    this.published = { info: [], cost: [] };
    this.plan.groups.forEach((g, i) => {
      const key = g.apps.join(',');
      const info = [model, String(i), key, fnKey(g.function), String(g.batchSize)];
      m.planInfo.labels(...info).set(1);
      m.costPredicted.labels(model, key).set(g.costPerRequest);
      this.published.info.push(info);
      this.published.cost.push(key);
    });
    m.planVersion.labels(model).set(this.planVersion);
    this.live.predictedCost = this.plan.totalCostPerRequest;
  }

  get queued(): number {
    return this.inflight;
  }

  hasApp(app: string): boolean {
    return this.appSlo.has(app);
  }

  appNames(): string[] {
    return [...this.appSlo.keys()];
  }

  /** Measured rates (req/s) over the sliding window. */
  rates(): Record<string, number> {
    const now = this.opts.timers.now();
    const r: Record<string, number> = {};
    for (const [app, m] of this.meters) r[app] = m.rate(now);
    return r;
  }

  /**
   * Submit one decoded request for `app`; resolves when answered (never rejects). `admitted`:
   * the caller already passed `admit` for it (a request of several rows).
   */
  infer(req: DecodedRequest, app: string, admitted = false): Promise<Answer> {
    const slo = this.appSlo.get(app);
    const refused = admissionError({
      model: this.io.name,
      app,
      slo,
      accepting: this.accepting,
      inflight: this.inflight,
      maxQueue: this.opts.maxQueue,
      knownApps: () => this.appNames(),
      onQueueFull: () => this.opts.metrics.rejected.labels(this.io.name, 'queue-full').inc(),
    });
    if (refused || slo === undefined) return Promise.resolve({ ok: false, error: refused! });
    const overloaded = admitted ? undefined : this.admit(app, 1, req.deadlineMs);
    if (overloaded) return Promise.resolve({ ok: false, error: overloaded });
    const now = this.opts.timers.now();
    this.meters.get(app)!.add(now);
    const wanted = req.deadlineMs !== undefined ? req.deadlineMs / 1000 : Infinity;
    const hard = now + Math.min(wanted, slo * (this.opts.hardDeadlineFactor ?? 2));
    return new Promise<Answer>((resolve) => {
      const p: Pending = { req, app, arrival: now, hardDeadline: hard, slo, done: false, resolve };
      this.inflight++;
      const r = this.manager.submit({
        id: this.nextId++,
        app,
        arrival: now,
        deadline: now + Math.min(slo, wanted),
        payload: p,
      });
      if (r.accepted && this.admission) {
        p.counted = true;
        this.admission.add(app);
      }
      if (!r.accepted) {
        this.opts.metrics.rejected.labels(this.io.name, r.reason).inc();
        this.finish(p, {
          ok: false,
          error: new HetserveError(r.code, r.message, { field: 'app', value: app }),
        });
      }
    });
  }

  private finish(p: Pending, a: Answer): void {
    if (p.done) return;
    p.done = true;
    this.inflight--;
    if (p.counted) this.admission?.done(p.app);
    const c = this.metricsFor(p.app);
    const lat = this.opts.timers.now() - p.arrival;
    const miss = !a.ok || lat > p.slo;
    if (a.ok) {
      c.ok.inc();
      c.e2e.observe(lat);
      a.latencyS = lat;
    }
    if (miss) c.miss.inc();
    this.live.request(p.app, a.ok ? lat : undefined, miss);
    p.resolve(a);
    if (this.inflight === 0) this.drained.wake();
  }

  private readonly groupChildren = new Map<string, ReturnType<ServerlessService['makeGroupMetrics']>>();

  private makeGroupMetrics(key: string) {
    const m = this.opts.metrics;
    const model = this.io.name;
    const exec = new Map<string, ReturnType<typeof m.batchExec.labels>>();
    return {
      size: m.batchSize.labels(model, key),
      cost: m.costActual.labels(model, key),
      exec: (backend: string) => {
        let h = exec.get(backend);
        if (!h) exec.set(backend, (h = m.batchExec.labels(model, key, backend)));
        return h;
      },
    };
  }

  /** Label children per group, cached: the hot path does no label lookups. */
  private groupMetrics(key: string) {
    let c = this.groupChildren.get(key);
    if (!c) this.groupChildren.set(key, (c = this.makeGroupMetrics(key)));
    return c;
  }

  private async runBatch(batch: Batch<Pending>): Promise<void> {
    const timers = this.opts.timers;
    const now = timers.now();
    const pend = batch.requests.map((r) => r.payload);
    const g = batch.group;
    // Frees the batch's maxInFlight slot exactly once (answered, failed, or past every deadline).
    let slotFreed = false;
    // The admission counts the batch's rows as running, with the time they have left.
    const running = this.admission?.begin(pend[0].app, pend.length, now);
    const freeSlot = (): void => {
      if (slotFreed) return;
      slotFreed = true;
      if (running !== undefined) this.admission?.end(running);
      this.manager.complete(batch);
    };
    const m = this.opts.metrics;
    const model = this.io.name;
    for (const p of pend) this.metricsFor(p.app).wait.observe(now - p.arrival);
    const gm = this.groupMetrics(g.key);
    gm.size.observe(pend.length);
    // Answer each request at its own hard deadline if the backend has not by then; the backend
    // call is aborted once no request of the batch is waiting any more.
    // The abort signal is made only when a backend reads it (creating one costs more than the
    // rest of a small batch's bookkeeping; a backend answering at once never needs it).
    let ctrl: AbortController | undefined;
    let abortReason: unknown;
    const batchSignal = (): AbortSignal => {
      if (!ctrl) {
        ctrl = new AbortController();
        if (abortReason !== undefined) ctrl.abort(abortReason);
      }
      return ctrl.signal;
    };
    const byDeadline = [...pend].sort((a, b) => a.hardDeadline - b.hardDeadline);
    let k = 0;
    let timer: number | undefined;
    const expire = (): void => {
      timer = undefined;
      const t = timers.now();
      while (k < byDeadline.length && byDeadline[k].hardDeadline <= t + 1e-4) {
        const p = byDeadline[k++];
        this.finish(p, {
          ok: false,
          error: new HetserveError(
            'E_BACKEND_TIMEOUT',
            `no answer from the backend of group ${g.key} within the request's deadline`,
            { field: 'deadline', value: +(p.hardDeadline - p.arrival).toFixed(3) },
          ),
        });
      }
      if (k < byDeadline.length) timer = timers.setTimer(byDeadline[k].hardDeadline, expire);
      else {
        abortReason = new HetserveError('E_BACKEND_TIMEOUT', `batch of group ${g.key} passed its deadline`);
        ctrl?.abort(abortReason);
        freeSlot();
      }
    };
    timer = timers.setTimer(byDeadline[0].hardDeadline, expire);
    let inputs: Tensor[];
    try {
      inputs = assembleBatch(
        this.io,
        pend.map((p) => p.req),
      );
    } catch (e) {
      this.failAll(pend, e);
      if (timer !== undefined) timers.clearTimer(timer);
      freeSlot();
      return;
    }
    const primary = (this.keysByVersion.get(batch.planVersion) ?? this.groupBackend)[g.index];
    const order = [primary, ...[...this.backends.keys()].filter((k2) => k2 !== primary)];
    let lastErr: unknown;
    for (const key of order) {
      if (abortReason !== undefined) break;
      const slot = this.backends.get(key);
      if (!slot) continue;
      const t0 = performance.now();
      slot.running++;
      try {
        const out = await slot.backend.infer({
          inputs,
          size: pend.length,
          get signal() {
            return batchSignal();
          },
        });
        const dt = (performance.now() - t0) / 1000;
        gm.exec(key).observe(dt);
        this.opts.onBatch?.(pend.length, dt);
        this.opts.onBatchLatency?.(slot.fn, pend.length, dt);
        if (key === primary) this.admission?.observe(pend[0].app, dt);
        const cost = this.opts.prices
          ? costPerRequest(
              this.opts.prices,
              {
                kind: slot.fn.kind,
                vcpu: slot.fn.vcpu,
                memoryGb: slot.fn.memoryGb,
                gpuMemoryGb: slot.fn.kind === 'gpu' ? slot.fn.gpuMemoryGb : 0,
              },
              dt,
              1,
            )
          : 0;
        gm.cost.inc(cost);
        this.live.batch(g.key, pend.length, cost);
        const per = splitBatch(this.io, out, pend.length);
        pend.forEach((p, i) =>
          this.finish(p, { ok: true, outputs: per[i], latencyS: 0, waitS: now - p.arrival, execS: dt }),
        );
        lastErr = undefined;
        break;
      } catch (e) {
        lastErr = e;
        m.batchFailures.labels(model, g.key, key).inc();
        this.opts.logger.warn(
          { model, group: g.key, backend: key, err: (e as Error).message },
          'batch failed',
        );
      } finally {
        slot.running--;
        this.maybeRetire();
      }
    }
    if (lastErr !== undefined || abortReason !== undefined) this.failAll(pend, lastErr ?? abortReason);
    if (timer !== undefined) timers.clearTimer(timer);
    freeSlot();
  }

  private failAll(pend: Pending[], e: unknown): void {
    const error = isHetserveError(e)
      ? e
      : new HetserveError('E_BACKEND_FAILED', `backend failed: ${(e as Error)?.message ?? String(e)}`);
    for (const p of pend) this.finish(p, { ok: false, error });
  }

  /** Close backends no group uses any more once their running batches are done. */
  private maybeRetire(): void {
    for (const [key, s] of this.backends) {
      if (s.users === 0 && s.running === 0 && this.backends.size > 1 && !this.reserved.has(key)) {
        this.backends.delete(key);
        void s.backend.close();
      }
    }
  }

  /** Re-plan with the measured rates (or `rates` given); swaps the plan in when it changes. */
  async replan(rates?: Record<string, number>): Promise<{ changed: boolean; plan: Plan }> {
    const r = rates ?? this.rates();
    const floor = this.opts.minRps ?? 0.01;
    const apps = this.opts.apps.map((a) => ({
      name: a.name,
      slo: a.slo,
      rps: Math.max(floor, r[a.name] ?? 0),
    }));
    const plan = await this.opts.planFn(apps);
    return { changed: await this.swap(plan), plan };
  }

  /** Install a plan (admin swap or re-plan). Returns false when it equals the current one. */
  swap(plan: Plan): Promise<boolean> {
    const next = this.swapping.then(() => this.swapNow(plan));
    this.swapping = next.catch(() => undefined);
    return next;
  }

  private async swapNow(plan: Plan): Promise<boolean> {
    const same =
      plan.groups.length === this.plan.groups.length &&
      plan.groups.every((g, i) => {
        const o = this.plan.groups[i];
        return (
          g.apps.join() === o.apps.join() &&
          g.batchSize === o.batchSize &&
          fnKey(g.function) === fnKey(o.function) &&
          JSON.stringify(g.timeouts) === JSON.stringify(o.timeouts) &&
          JSON.stringify(g.appRps) === JSON.stringify(o.appRps) // a split app's weights
        );
      });
    if (same) return false;
    // A plan's batching timeouts must leave room within each SLO, or requests would sit in a
    // buffer past their deadline.
    plan.groups.forEach((g, i) => {
      for (const a of g.apps) {
        const slo = this.appSlo.get(a);
        const t = g.timeouts[a];
        if (slo === undefined)
          throw new HetserveError(
            'E_PLAN_INVALID',
            `plan.groups[${i}].apps: ${JSON.stringify(a)} is not an application of model ${this.io.name}`,
            {
              field: `plan.groups.${i}.apps`,
              value: a,
            },
          );
        if (t !== undefined && !(t < slo))
          throw new HetserveError(
            'E_PLAN_INVALID',
            `plan.groups[${i}].timeouts.${a}: ${t} s is not below the app's SLO ${slo} s`,
            {
              field: `plan.groups.${i}.timeouts.${a}`,
              value: t,
            },
          );
      }
    });
    for (const a of this.appSlo.keys())
      if (!plan.groups.some((g) => g.apps.includes(a)))
        throw new HetserveError('E_PLAN_INVALID', `plan: application ${JSON.stringify(a)} is in no group`, {
          field: 'plan.groups',
          value: a,
        });
    this.groupBackend = await this.ensureBackends(plan);
    this.keysByVersion.set(this.planVersion + 1, this.groupBackend);
    this.keysByVersion.delete(this.planVersion - 8);
    this.manager.reconfigure(plan);
    this.plan = plan;
    this.planVersion++;
    this.publishPlan();
    this.installAdmission();
    this.maybeRetire();
    this.opts.logger.info(
      {
        model: this.io.name,
        version: this.planVersion,
        groups: plan.groups.map((g) => ({ apps: g.apps, fn: fnKey(g.function), batch: g.batchSize })),
      },
      'plan swapped',
    );
    return true;
  }

  /** New SLOs / rate hints for the same applications (config reload); the next re-plan uses them. */
  updateApps(apps: readonly { name: string; slo: number; rps: number }[]): void {
    for (const a of apps) {
      if (!this.appSlo.has(a.name)) continue;
      this.appSlo.set(a.name, a.slo);
      const o = this.opts.apps.find((x) => x.name === a.name)!;
      o.slo = a.slo;
      o.rps = a.rps;
    }
  }

  /** Serialise re-plans so two never interleave. */
  replanSerial(): Promise<void> {
    const run = async () => {
      try {
        await this.replan();
      } catch (e) {
        this.opts.logger.error(
          { model: this.io.name, err: (e as Error).message },
          're-planning failed; keeping the current plan',
        );
      }
    };
    this.replanning = (this.replanning ?? Promise.resolve()).then(run);
    return this.replanning;
  }

  /** One dashboard point per second. */
  tick(): void {
    const t = this.opts.timers.now() - this.startedAt;
    const now = this.opts.timers.now();
    for (const [app, meter] of this.meters)
      this.opts.metrics.appRate.labels(this.io.name, app).set(meter.rate(now));
    this.opts.metrics.inflight.labels(this.io.name).set(this.inflight);
    this.live.tick(
      Math.round(t),
      this.plan.groups.map((g) => g.apps.join(',')),
    );
  }

  groups(): readonly GroupView[] {
    return this.manager.groups();
  }

  /** Stop accepting, release every buffer now and wait until every accepted request is answered. */
  async drain(timeoutS: number): Promise<boolean> {
    this.accepting = false;
    this.manager.flush();
    if (this.inflight === 0) return true;
    return this.drained.wait(timeoutS);
  }

  async close(): Promise<void> {
    this.accepting = false;
    this.manager?.close();
    await Promise.all([...this.backends.values()].map((s) => s.backend.close()));
    this.backends.clear();
  }
}
