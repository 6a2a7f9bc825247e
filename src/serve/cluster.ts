/**
 * Cluster serving of one model (Kairos): a pool of heterogeneous instances, each a backend, and
 * the dispatch core's Kairos distributor deciding, on every arrival and completion, which waiting query goes to
 * which idle instance (min-cost bipartite matching). Each request is one query of size 1.
 */
import { admissionError, DrainWaiters } from './admission.ts';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { createKairosDistributor } from '../dispatch/distributor.ts';
import { createDistributorLoop, type DistributorLoop } from '../dispatch/loop.ts';
import type { Assignment } from '../dispatch/types.ts';
import type { TimerSource } from '../dispatch/clock.ts';
import { HetserveError, isHetserveError } from '../model/errors.ts';
import type { App } from '../model/app.ts';
import type { Backend } from './backends/types.ts';
import type { GatewayMetrics } from './metrics.ts';
import { LiveSeries, RateMeter } from './live.ts';
import type { Answer } from './service.ts';
import { assembleBatch, splitBatch, type DecodedRequest, type ModelIO } from './tensors.ts';

export interface ClusterInstance {
  name: string;
  type: string;
  backend: Backend;
}

export interface ClusterServiceOptions {
  io: ModelIO;
  apps: App[];
  instances: ClusterInstance[];
  /** QoS target, ms (a request's deadline is arrival + min(QoS, app SLO)). */
  qosMs: number;
  baseType: string;
  /** Mean service time of one query per instance type, ms (the distributor's estimator). */
  latencyMs: Record<string, number>;
  timers: TimerSource;
  metrics: GatewayMetrics;
  logger: Logger;
  maxQueue?: number;
  hardDeadlineFactor?: number;
  windowS?: number;
}

interface Query {
  req: DecodedRequest;
  app: string;
  arrival: number;
  slo: number;
  hardDeadline: number;
  done: boolean;
  resolve: (a: Answer) => void;
}

export class ClusterService {
  readonly mode = 'cluster';
  readonly io: ModelIO;
  readonly live = new LiveSeries();
  readonly startedAt: number;
  private readonly opts: ClusterServiceOptions;
  private readonly loop: DistributorLoop<Query>;
  private readonly appSlo = new Map<string, number>();
  private readonly meters = new Map<string, RateMeter>();
  private readonly busy: boolean[];
  private inflight = 0;
  private accepting = true;
  private nextId = 0;
  private readonly drained = new DrainWaiters();

  constructor(opts: ClusterServiceOptions) {
    this.opts = opts;
    this.io = opts.io;
    this.startedAt = opts.timers.now();
    for (const a of opts.apps) {
      this.appSlo.set(a.name, a.slo);
      this.meters.set(a.name, new RateMeter(opts.windowS ?? 60, this.startedAt));
    }
    this.busy = opts.instances.map(() => false);
    const est = (type: string, size: number): number => (opts.latencyMs[type] ?? 1) * size;
    const distributor = createKairosDistributor<Query>({
      instances: opts.instances.map((i) => i.type),
      estimateMs: est,
      baseType: opts.baseType,
    });
    this.loop = createDistributorLoop<Query>({
      distributor,
      timers: opts.timers,
      onAssign: (a) => void this.run(a),
    });
  }

  hasApp(app: string): boolean {
    return this.appSlo.has(app);
  }

  appNames(): string[] {
    return [...this.appSlo.keys()];
  }

  get queued(): number {
    return this.inflight;
  }

  rates(): Record<string, number> {
    const now = this.opts.timers.now();
    return Object.fromEntries([...this.meters].map(([a, m]) => [a, m.rate(now)]));
  }

  instances(): { name: string; type: string; busy: boolean }[] {
    return this.opts.instances.map((x, i) => ({ name: x.name, type: x.type, busy: this.busy[i] }));
  }

  infer(req: DecodedRequest, app: string): Promise<Answer> {
    const slo = this.appSlo.get(app);
    const refused = admissionError({
      model: this.io.name,
      app,
      slo,
      accepting: this.accepting,
      inflight: this.inflight,
      maxQueue: this.opts.maxQueue,
      onQueueFull: () => this.opts.metrics.rejected.labels(this.io.name, 'queue-full').inc(),
    });
    if (refused || slo === undefined) return Promise.resolve({ ok: false, error: refused! });
    const now = this.opts.timers.now();
    this.meters.get(app)!.add(now);
    const wanted = req.deadlineMs !== undefined ? req.deadlineMs / 1000 : Infinity;
    const qos = Math.min(slo, this.opts.qosMs / 1000, wanted);
    return new Promise<Answer>((resolve) => {
      const q: Query = {
        req,
        app,
        arrival: now,
        slo,
        hardDeadline: now + Math.min(wanted, slo * (this.opts.hardDeadlineFactor ?? 2)),
        done: false,
        resolve,
      };
      this.inflight++;
      this.loop.enqueue({ id: this.nextId++, size: 1, arrival: now, deadline: now + qos, payload: q });
    });
  }

  private finish(q: Query, a: Answer): void {
    if (q.done) return;
    q.done = true;
    this.inflight--;
    const m = this.opts.metrics;
    const lat = this.opts.timers.now() - q.arrival;
    const miss = !a.ok || lat > q.slo;
    if (a.ok) {
      a.latencyS = lat;
      m.requests.labels(this.io.name, q.app, '200').inc();
      m.e2e.labels(this.io.name, q.app).observe(lat);
    }
    if (miss) m.sloMisses.labels(this.io.name, q.app).inc();
    this.live.request(q.app, a.ok ? lat : undefined, miss);
    q.resolve(a);
    if (this.inflight === 0) this.drained.wake();
  }

  /** Run the query on one instance; resolves with its answer (never rejects). */
  private async attempt(q: Query, index: number, signal: AbortSignal, arrivalWait: number): Promise<Answer> {
    const inst = this.opts.instances[index];
    const t0 = performance.now();
    try {
      const out = await inst.backend.infer({ inputs: assembleBatch(this.io, [q.req]), size: 1, signal });
      const dt = (performance.now() - t0) / 1000;
      this.opts.metrics.batchExec.labels(this.io.name, inst.type, inst.name).observe(dt);
      return {
        ok: true,
        outputs: splitBatch(this.io, out, 1)[0],
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

  private async run(a: Assignment<Query>): Promise<void> {
    const q = a.query.payload!;
    const timers = this.opts.timers;
    const now = timers.now();
    this.busy[a.instance] = true;
    this.opts.metrics.queueWait.labels(this.io.name, q.app).observe(now - q.arrival);
    let answer: Answer;
    if (q.hardDeadline <= now) {
      answer = {
        ok: false,
        error: new HetserveError(
          'E_BACKEND_TIMEOUT',
          'no instance could serve the request within its deadline',
          {
            field: 'deadline',
            value: +(q.hardDeadline - q.arrival).toFixed(3),
          },
        ),
      };
    } else {
      const ctrl = new AbortController();
      const timer = timers.setTimer(q.hardDeadline, () =>
        ctrl.abort(
          new HetserveError('E_BACKEND_TIMEOUT', "no instance answered within the request's deadline"),
        ),
      );
      answer = await this.attempt(q, a.instance, ctrl.signal, now - q.arrival);
      // A failed query is retried at once on the other instances, fastest estimate first (idle
      // ones before busy ones), while its deadline allows. It does not go back through the
      // distributor, which would hand it straight back to the (idle again) failing instance.
      if (!answer.ok && answer.error.code === 'E_BACKEND_FAILED') {
        const est = (i: number) =>
          (this.opts.latencyMs[this.opts.instances[i].type] ?? 1) + (this.busy[i] ? 1e9 : 0);
        const others = this.opts.instances
          .map((_, i) => i)
          .filter((i) => i !== a.instance)
          .sort((x, y) => est(x) - est(y));
        for (const i of others) {
          if (ctrl.signal.aborted) break;
          this.opts.logger.warn(
            {
              model: this.io.name,
              instance: this.opts.instances[a.instance].name,
              err: answer.error.message,
            },
            'query failed; retrying on another instance',
          );
          answer = await this.attempt(q, i, ctrl.signal, now - q.arrival);
          if (answer.ok || answer.error.code !== 'E_BACKEND_FAILED') break;
        }
      }
      timers.clearTimer(timer);
    }
    this.finish(q, answer);
    this.busy[a.instance] = false;
    this.loop.complete(a.instance);
  }

  tick(): void {
    const now = this.opts.timers.now();
    for (const [app, meter] of this.meters)
      this.opts.metrics.appRate.labels(this.io.name, app).set(meter.rate(now));
    this.opts.metrics.inflight.labels(this.io.name).set(this.inflight);
    this.live.tick(Math.round(now - this.startedAt), []);
  }

  async drain(timeoutS: number): Promise<boolean> {
    this.accepting = false;
    if (this.inflight === 0) return true;
    return this.drained.wait(timeoutS);
  }

  async close(): Promise<void> {
    this.accepting = false;
    this.loop.close();
    await Promise.all(this.opts.instances.map((i) => i.backend.close()));
  }
}
