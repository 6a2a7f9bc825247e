/**
 * Serverless serving of one model: the plan's groups, one backend (function) per group behind the dispatch core's
 * multi-SLO batch manager, per-request deadlines, retries on another backend, live re-planning
 * through `reconfigure` (queued requests are re-homed, none dropped or sent twice).
 */
import type { Logger } from 'pino';
import { createBatchManager } from '../dispatch/batch-manager.ts';
import type { Batch, BatchManager, GroupView } from '../dispatch/types.ts';
import type { TimerSource } from '../dispatch/clock.ts';
import { HetserveError, isHetserveError } from '../model/errors.ts';
import type { App } from '../model/app.ts';
import type { FunctionConfig, Plan } from '../model/plan.ts';
import type { PriceTable } from '../model/prices.ts';
import { costPerRequest, type BilledResources } from '../predict/cost.ts';
import type { Backend, BackendBatch } from './backends/types.ts';
import { counterChild, histogramChild, type GatewayMetrics, type HistogramChild } from './metrics.ts';
import { LiveSeries } from './live.ts';
import { ledgerOptions, RequestLedger, type Admitted, type LedgerEntry } from './ledger.ts';
import type { Answer, PlannedService, ServiceSnapshot, Timing } from './model-service.ts';
import {
  assembleBatch,
  concatRows,
  splitBatch,
  splitRows,
  type DecodedRequest,
  type ModelIO,
  type Tensor,
} from './tensors.ts';

export type { Answer } from './model-service.ts';

export type PlanFn = (apps: App[]) => Plan | Promise<Plan>;

interface Pending {
  req: DecodedRequest;
  /** Its arrival, deadlines and outcome, kept by the ledger. */
  entry: LedgerEntry;
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
  /** The function's billed resources (the cost of each batch it runs). */
  billed: BilledResources;
  /** Groups of the current plan using it. */
  users: number;
  /** Batches running on it now. */
  running: number;
}

/**
 * One backend call's batch; the abort signal is made only when a backend reads it (creating one
 * costs more than the rest of a small batch's bookkeeping; a backend answering at once never
 * needs it).
 */
class BatchCall implements BackendBatch {
  readonly inputs: Tensor[];
  readonly size: number;
  readonly #signal: () => AbortSignal;
  constructor(inputs: Tensor[], size: number, signal: () => AbortSignal) {
    this.inputs = inputs;
    this.size = size;
    this.#signal = signal;
  }
  get signal(): AbortSignal {
    return this.#signal();
  }
}

function billedResources(fn: FunctionConfig): BilledResources {
  return {
    kind: fn.kind,
    vcpu: fn.vcpu,
    memoryGb: fn.memoryGb,
    gpuMemoryGb: fn.kind === 'gpu' ? fn.gpuMemoryGb : 0,
  };
}

function fnKey(fn: FunctionConfig): string {
  return fn.kind === 'cpu'
    ? `cpu:${fn.vcpu}vcpu:${fn.memoryGb}GB`
    : `gpu:${fn.gpuMemoryGb}GB:${fn.vcpu}vcpu:${fn.memoryGb}GB`;
}

export class ServerlessService implements PlannedService {
  readonly mode = 'serverless';
  readonly io: ModelIO;
  readonly live = new LiveSeries();
  plan!: Plan;
  planVersion = 0;
  private manager!: BatchManager<Pending>;
  private readonly opts: ServiceOptions;
  /** Admission, deadlines, rates and the outcome of every request. */
  private readonly ledger: RequestLedger;
  /** Set by close(): deferred observers of answered batches then do nothing. */
  private closed = false;
  private readonly backends = new Map<string, BackendSlot>();
  /** Backend key per group index of the current plan. */
  private groupBackend: string[] = [];
  /**
   * Backend keys by plan version: a batch carries the version of the plan whose group formed it
   * (reconfigure releases requests it cannot re-home in their old group, under the old version).
   */
  private readonly keysByVersion = new Map<number, string[]>();
  private nextId = 0;
  private replanning: Promise<void> | undefined;
  /** Backend keys of the plan being installed (kept from retirement until it is). */
  private readonly reserved = new Set<string>();
  /** Swaps run one at a time (an admin swap may meet a periodic re-plan). */
  private swapping: Promise<unknown> = Promise.resolve();
  private published: { info: string[][]; cost: string[] } = { info: [], cost: [] };
  readonly startedAt: number;

  constructor(opts: ServiceOptions) {
    this.opts = opts;
    this.io = opts.io;
    this.startedAt = opts.timers.now();
    this.ledger = new RequestLedger(
      ledgerOptions(
        { model: opts.io.name, apps: opts.apps, timers: opts.timers, metrics: opts.metrics, live: this.live },
        opts,
      ),
    );
  }

  get planned(): PlannedService {
    return this;
  }

  snapshot(): ServiceSnapshot {
    return { mode: this.mode, planVersion: this.planVersion, plan: this.plan };
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
      // Under the deadline admission, a deferred request (a flood's excess, overtaken by the
      // apps within their share) that can no longer make its deadline is answered at once (429)
      // rather than run late in a batch place another could use.
      ...((this.opts.admission ?? 'deadline') === 'deadline'
        ? {
            lateAtRelease: 'drop-deferred' as const,
            // Judged against the measured batch time too: a backend slower than the plan.
            deferredLatency: (g: GroupView) => this.ledger.batchBound(g.apps[0]) ?? 0,
            onDrop: (r: { payload: Pending }) =>
              this.finish(r.payload, { ok: false, error: this.ledger.lateError(r.payload.entry) }),
          }
        : {}),
      maxInFlight: (g) => this.inFlightLimit(g),
      capacity: (g) =>
        Math.max(g.batchSize, Math.ceil((this.opts.maxQueue ?? 10_000) / Math.max(1, plan.groups.length))),
    });
    this.publishPlan();
    this.installAdmission();
  }

  /** The deadline admission's view of the current plan (its groups, concurrency, planned rates). */
  private installAdmission(): void {
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
        slo: Object.fromEntries(g.apps.map((a) => [a, this.ledger.slo(a) ?? Infinity])),
      };
    });
    this.ledger.setCapacity(groups);
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
          this.backends.set(keys[i], { backend, fn, billed: billedResources(fn), users: 0, running: 0 });
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
    return this.ledger.inflight;
  }

  hasApp(app: string): boolean {
    return this.ledger.hasApp(app);
  }

  appNames(): string[] {
    return this.ledger.appNames();
  }

  /** Measured rates (req/s) over the sliding window. */
  rates(): Record<string, number> {
    return this.ledger.rates();
  }

  /**
   * Serve one decoded request for `app`; resolves when answered (never rejects). A request of n
   * samples is n requests to the batch manager, admitted or refused as a whole; its answer stacks
   * them back (the first failed sample's error, else the outputs in order).
   */
  infer(req: DecodedRequest, app: string): Promise<Answer> {
    return req.rows <= 1 ? this.submit(req, app, undefined) : this.inferRows(req, app);
  }

  private async inferRows(req: DecodedRequest, app: string): Promise<Answer> {
    const admitted = this.ledger.admit(app, req.rows, req.deadlineMs, req.arrival);
    if (admitted instanceof HetserveError) return { ok: false, error: admitted };
    const answers = await Promise.all(splitRows(req, this.io).map((r) => this.submit(r, app, admitted)));
    const failed = answers.find((x) => !x.ok);
    if (failed) return failed;
    const ok = answers as Extract<Answer, { ok: true }>[];
    const worst = ok.reduce((w, x) => (x.latencyS > w.latencyS ? x : w), ok[0]);
    const parts: Timing[] = ok.map((x) => ({ latencyS: x.latencyS, waitS: x.waitS, execS: x.execS }));
    return {
      ok: true,
      outputs: concatRows(ok.map((x) => x.outputs)),
      latencyS: worst.latencyS,
      waitS: worst.waitS,
      execS: worst.execS,
      parts,
    };
  }

  /** One sample to the batch manager; `admitted`: its whole request already passed admission. */
  private submit(req: DecodedRequest, app: string, admitted: Admitted | undefined): Promise<Answer> {
    const entry = this.ledger.open(app, req.deadlineMs, admitted, req.arrival);
    if (entry instanceof HetserveError) return Promise.resolve({ ok: false, error: entry });
    return new Promise<Answer>((resolve) => {
      const p: Pending = { req, entry, resolve };
      const r = this.manager.submit({
        id: this.nextId++,
        app,
        arrival: entry.arrival,
        deadline: entry.deadline,
        deferred: entry.deferred,
        payload: p,
      });
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
    this.ledger.finish(p.entry, a, p.resolve);
  }

  private readonly groupChildren = new Map<string, ReturnType<ServerlessService['makeGroupMetrics']>>();

  private makeGroupMetrics(key: string) {
    const m = this.opts.metrics;
    const model = this.io.name;
    const exec = new Map<string, HistogramChild>();
    return {
      size: histogramChild(m.batchSize, model, key),
      cost: counterChild(m.costActual, model, key),
      exec: (backend: string) => {
        let h = exec.get(backend);
        if (!h) exec.set(backend, (h = histogramChild(m.batchExec, model, key, backend)));
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
    const n = batch.requests.length;
    const pend = new Array<Pending>(n);
    for (let i = 0; i < n; i++) pend[i] = batch.requests[i].payload;
    const g = batch.group;
    // Frees the batch's maxInFlight slot exactly once (answered, failed, or past every deadline).
    let slotFreed = false;
    // The admission counts the batch's rows as running, with the time they have left.
    const running = this.ledger.begin(pend[0].entry.app, pend.length);
    const freeSlot = (): void => {
      if (slotFreed) return;
      slotFreed = true;
      this.ledger.end(running);
      this.manager.complete(batch);
    };
    const m = this.opts.metrics;
    const model = this.io.name;
    for (const p of pend) this.ledger.started(p.entry, now);
    const gm = this.groupMetrics(g.key);
    gm.size.observe(pend.length);
    // Answer each request at its own hard deadline if the backend has not by then; the backend
    // call is aborted once no request of the batch is waiting any more.
    // The abort signal is made only when a backend reads it (see BatchCall).
    let ctrl: AbortController | undefined;
    let abortReason: unknown;
    const batchSignal = (): AbortSignal => {
      if (!ctrl) {
        ctrl = new AbortController();
        if (abortReason !== undefined) ctrl.abort(abortReason);
      }
      return ctrl.signal;
    };
    const byDeadline = n === 1 ? pend : [...pend].sort((a, b) => a.entry.hardDeadline - b.entry.hardDeadline);
    let k = 0;
    let timer: number | undefined;
    const expire = (): void => {
      timer = undefined;
      const t = timers.now();
      while (k < byDeadline.length && byDeadline[k].entry.hardDeadline <= t + 1e-4) {
        const { entry } = byDeadline[k];
        const p = byDeadline[k++];
        this.finish(p, {
          ok: false,
          error: new HetserveError(
            'E_BACKEND_TIMEOUT',
            `no answer from the backend of group ${g.key} within the request's deadline`,
            { field: 'deadline', value: +(entry.hardDeadline - entry.arrival).toFixed(3) },
          ),
        });
      }
      if (k < byDeadline.length) timer = timers.setTimer(byDeadline[k].entry.hardDeadline, expire);
      else {
        abortReason = new HetserveError('E_BACKEND_TIMEOUT', `batch of group ${g.key} passed its deadline`);
        ctrl?.abort(abortReason);
        freeSlot();
      }
    };
    timer = timers.setTimer(byDeadline[0].entry.hardDeadline, expire);
    let inputs: Tensor[];
    try {
      const reqs = new Array<DecodedRequest>(n);
      for (let i = 0; i < n; i++) reqs[i] = pend[i].req;
      inputs = assembleBatch(this.io, reqs);
    } catch (e) {
      this.failAll(pend, e);
      if (timer !== undefined) timers.clearTimer(timer);
      freeSlot();
      return;
    }
    const primary = (this.keysByVersion.get(batch.planVersion) ?? this.groupBackend)[g.index];
    // The primary first, then every other backend of the moment (one backend: no list to build).
    const order =
      this.backends.size === 1 && this.backends.has(primary)
        ? [primary]
        : [primary, ...[...this.backends.keys()].filter((k2) => k2 !== primary)];
    let lastErr: unknown;
    for (const key of order) {
      if (abortReason !== undefined) break;
      const slot = this.backends.get(key);
      if (!slot) continue;
      // Backend time on the service's clock: real in production, virtual under test.
      const t0 = timers.now();
      slot.running++;
      try {
        const out = await slot.backend.infer(new BatchCall(inputs, n, batchSignal));
        const dt = timers.now() - t0;
        gm.exec(key).observe(dt);
        this.opts.onBatch?.(pend.length, dt);
        if (key === primary) this.ledger.observe(pend[0].entry.app, dt);
        const cost = this.opts.prices ? costPerRequest(this.opts.prices, slot.billed, dt, 1) : 0;
        gm.cost.inc(cost);
        this.live.batch(g.key, pend.length, cost);
        const per = splitBatch(this.io, out, n);
        for (let i = 0; i < n; i++) {
          const p = pend[i];
          this.finish(p, { ok: true, outputs: per[i], latencyS: 0, waitS: now - p.entry.arrival, execS: dt });
        }
        this.afterAnswers(slot.fn, n, dt);
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

  /**
   * The batch's backend time to `onBatchLatency`, once its answers are out: a calibration refit and
   * the re-plan it starts (a microtask, ahead of the answers' continuations) would otherwise delay
   * this batch's responses by their run time. A throw there is logged, never thrown at the loop.
   */
  private afterAnswers(fn: FunctionConfig, size: number, latencyS: number): void {
    const see = this.opts.onBatchLatency;
    if (!see) return;
    setImmediate(() => {
      if (this.closed) return;
      try {
        see(fn, size, latencyS);
      } catch (e) {
        this.opts.logger.error(
          { model: this.io.name, err: (e as Error).message },
          'batch latency observer failed',
        );
      }
    });
  }

  private failAll(pend: Pending[], e: unknown): void {
    const error = isHetserveError(e)
      ? e
      : new HetserveError('E_BACKEND_FAILED', `backend failed: ${(e as Error)?.message ?? String(e)}`);
    for (const p of pend) this.finish(p, { ok: false, error });
  }

  /** Close backends no group uses any more once their running batches are done. */
  private maybeRetire(): void {
    if (this.backends.size <= 1) return;
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
        const slo = this.ledger.slo(a);
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
    for (const a of this.ledger.appNames())
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
      if (!this.ledger.hasApp(a.name)) continue;
      this.ledger.setSlo(a.name, a.slo);
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
    this.ledger.tick();
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
    this.ledger.stop();
    this.manager.flush();
    return this.ledger.drained(timeoutS);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.ledger.stop();
    this.manager?.close();
    await Promise.all([...this.backends.values()].map((s) => s.backend.close()));
    this.backends.clear();
  }
}
