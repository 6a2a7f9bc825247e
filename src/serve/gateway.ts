/**
 * The serving gateway: Open Inference Protocol (KServe v2) REST over node:http (measured faster
 * than hono's adapter on this hot path, see bench/gateway.ts), Prometheus /metrics, the dashboard
 * and its live-data API, admin endpoints behind a bearer token, periodic re-planning and graceful
 * drain. One `ServerlessService` per model does the batching and the backends.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { RealTimeSource } from '../dispatch/timers.ts';
import type { TimerSource } from '../dispatch/clock.ts';
import { HetserveError } from '../model/errors.ts';
import type { App } from '../model/app.ts';
import type { FunctionConfig, Plan } from '../model/plan.ts';
import { PlanSchema } from '../model/plan.ts';
import { parseWith } from '../model/validate.ts';
import type { PriceTable } from '../model/prices.ts';
import type { ServerlessProfile } from '../model/profile.ts';
import type { sampleLookup } from '../profile/samples.ts';
import { createBackend } from './backends/index.ts';
import type { Backend, BackendContext } from './backends/types.ts';
import { adminToken, appModel, type BackendConfig, type ModelConfig, type ServeConfig } from './config.ts';
import { GatewayMetrics } from './metrics.ts';
import { ServerlessService, type PlanFn } from './service.ts';
import { ClusterService } from './cluster.ts';
import { concatRows, decodeInferRequest, encodeInferResponse, splitRows } from './tensors.ts';
import { parseJsonBody, readBody, sendJson, sendProblem } from './http-util.ts';
import { dashboardAsset } from './dashboard.ts';
import {
  allowedMethods,
  applyServerLimits,
  checkJsonDepth,
  methodNotAllowed,
  serverOptions,
  watchBodyIdle,
} from './hostile.ts';

export interface GatewayOptions {
  config: ServeConfig;
  /** Directory relative paths in the config resolve against (default: cwd). */
  baseDir?: string;
  /** Path the config was read from; `POST /admin/reload` re-reads only this file. */
  configPath?: string;
  /** Planner per model (default: the serverless planner with the config's algorithm/prices/compat). */
  planFn?: (model: ModelConfig, apps: App[]) => Plan | Promise<Plan>;
  /** Backend factory (default: createBackend); tests inject faulty backends here. */
  backendFactory?: (cfg: BackendConfig, ctx: BackendContext) => Backend;
  logger?: Logger;
  timers?: TimerSource;
  /** Period of the dashboard/metrics tick, ms (default 1000). */
  tickMs?: number;
}

interface ModelEntry {
  config: ModelConfig;
  service: ServerlessService | ClusterService;
}

/** A path segment, %-decoded; malformed escapes are a 404 naming the path, not a 500. */
function decodePathSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw new HetserveError(
      'E_UNKNOWN_MODEL_ENDPOINT',
      `path: malformed %-escape in ${JSON.stringify(seg)}`,
      {
        field: 'path',
        value: seg,
      },
    );
  }
}

const PATH_INFER = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?\/infer$/;
const PATH_MODEL = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?(\/ready)?$/;

export class Gateway {
  readonly metrics = new GatewayMetrics();
  readonly logger: Logger;
  readonly timers: TimerSource;
  readonly models = new Map<string, ModelEntry>();
  private config: ServeConfig;
  private readonly opts: GatewayOptions;
  private server: Server | undefined;
  private ready = false;
  private draining = false;
  private intervals: ReturnType<typeof setInterval>[] = [];
  private readonly token: string | undefined;
  private readonly baseDir: string;
  private prices: PriceTable | undefined;

  constructor(opts: GatewayOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.baseDir = opts.baseDir ?? (opts.configPath ? dirname(opts.configPath) : process.cwd());
    this.logger = opts.logger ?? pino({ level: opts.config.logLevel, base: { svc: 'hetserve' } });
    this.timers = opts.timers ?? new RealTimeSource();
    this.token = adminToken(opts.config);
  }

  /** Start backends, compute plans, listen. Resolves with the bound address. */
  async start(): Promise<{ host: string; port: number; url: string }> {
    const c = this.config;
    const serving = c.serving;
    const factory = this.opts.backendFactory ?? createBackend;
    if (serving.mode === 'serverless') {
      const { resolvePriceTable } = await import('../predict/prices.ts');
      this.prices = resolvePriceTable(serving.prices);
    }
    for (const m of c.models) {
      const apps = c.applications
        .filter((a) => appModel(c, a) === m.name)
        .map((a) => ({ name: a.name, slo: a.slo, rps: a.rps }));
      if (apps.length === 0) {
        this.logger.warn({ model: m.name }, 'model has no applications; not served');
        continue;
      }
      if (serving.mode === 'cluster') {
        const instances = [];
        for (const inst of serving.instances) {
          const backend = factory(inst.backend, {
            id: `${m.name}/${inst.name}`,
            model: m,
            baseDir: this.baseDir,
          });
          instances.push({ name: inst.name, type: inst.type, backend, io: await backend.start() });
        }
        let latencyMs = serving.latencyMs;
        if (serving.kairos) {
          const { LatencyTable } = await import('../plan/cluster/latency-table.ts');
          const table = LatencyTable.bundled(serving.kairos.model);
          const size = serving.kairos.querySize;
          latencyMs = Object.fromEntries(
            [...new Set([...serving.instances.map((i) => i.type), serving.baseType])].map((t) => {
              if (!table.has(t))
                throw new HetserveError(
                  'E_CONFIG_INVALID',
                  `serving.instances: type ${JSON.stringify(t)} is not in the ${serving.kairos!.model} table; known: ${table.types.join(', ')}`,
                  {
                    field: 'serving.instances.type',
                    value: t,
                  },
                );
              return [t, table.meanMs(t, size)];
            }),
          );
        }
        const service = new ClusterService({
          io: instances[0].io,
          apps,
          instances,
          qosMs: serving.qosMs,
          baseType: serving.baseType,
          latencyMs,
          timers: this.timers,
          metrics: this.metrics,
          logger: this.logger,
          maxQueue: c.limits.maxQueue,
          hardDeadlineFactor: c.limits.hardDeadlineFactor,
          windowS: c.replan.windowS,
        });
        this.models.set(m.name, { config: m, service });
        this.logger.info(
          { model: m.name, instances: serving.instances.map((i) => `${i.name}:${i.type}`) },
          'cluster pool started',
        );
        continue;
      }
      if (!m.profile)
        throw new HetserveError(
          'E_CONFIG_INVALID',
          `models[${m.name}].profile: required in serverless mode (the planner's latency model)`,
          {
            field: 'models.profile',
            value: undefined,
          },
        );
      const profile = await this.loadProfile(m.profile);
      const planFn: PlanFn = this.opts.planFn
        ? (a) => this.opts.planFn!(m, a)
        : await this.defaultPlanFn(profile);
      const samples = await this.sampleFn(profile);
      let io: Awaited<ReturnType<Backend['start']>> | undefined;
      const makeBackend = async (fn: FunctionConfig, key: string): Promise<Backend> => {
        const b = factory(serving.backend, {
          id: `${m.name}/${key}`,
          model: m,
          baseDir: this.baseDir,
          fn,
          predictLatency: await this.latencyFn(profile, fn),
          ...(samples ? { latencySamples: (batch: number) => samples(fn, batch)?.latencies } : {}),
        });
        io = await b.start();
        return b;
      };
      // The model's tensors come from a first backend (the onnx one reads them from the model).
      const probe = await makeBackend({ kind: 'cpu', vcpu: 1, memoryGb: 2 }, 'probe');
      await probe.close();
      const service = new ServerlessService({
        io: io!,
        apps,
        planFn,
        makeBackend,
        timers: this.timers,
        metrics: this.metrics,
        prices: this.prices,
        logger: this.logger,
        maxInFlight: m.maxInFlight === 'unlimited' ? Infinity : (m.maxInFlight ?? 'auto'),
        maxQueue: c.limits.maxQueue,
        hardDeadlineFactor: c.limits.hardDeadlineFactor,
        windowS: c.replan.windowS,
        admission: c.limits.admission,
      });
      await service.start();
      this.models.set(m.name, { config: m, service });
      this.logger.info(
        {
          model: m.name,
          plan: service.plan.groups.map((g) => ({
            apps: g.apps,
            fn: g.function,
            batch: g.batchSize,
            timeouts: g.timeouts,
          })),
        },
        'plan installed',
      );
    }
    if (this.models.size === 0)
      throw new HetserveError('E_CONFIG_INVALID', 'applications: no model has an application', {
        field: 'applications',
        value: [],
      });
    this.server = createServer(serverOptions(c.limits), (req, res) => this.handle(req, res));
    applyServerLimits(this.server, c.limits);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new HetserveError(
            'E_CONFIG_INVALID',
            `listen: cannot listen on ${c.listen.host}:${c.listen.port} (${e.code})`,
            { field: 'listen.port', value: c.listen.port },
          ),
        ),
      );
      this.server!.listen(c.listen.port, c.listen.host, () => resolve());
    });
    const tick = setInterval(() => {
      for (const e of this.models.values()) e.service.tick();
    }, this.opts.tickMs ?? 1000);
    tick.unref();
    this.intervals.push(tick);
    if (c.replan.intervalS > 0) {
      const rp = setInterval(() => {
        for (const e of this.models.values())
          if (e.service instanceof ServerlessService) void e.service.replanSerial();
      }, c.replan.intervalS * 1000);
      rp.unref();
      this.intervals.push(rp);
    }
    this.ready = true;
    const a = this.server.address() as AddressInfo;
    const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    this.logger.info({ url }, 'hetserve gateway listening');
    return { host: a.address, port: a.port, url };
  }

  private async loadProfile(nameOrPath: string): Promise<ServerlessProfile> {
    const { resolveProfile } = await import('../predict/profiles.ts');
    const { resolve } = await import('node:path');
    const p =
      /\.json$/i.test(nameOrPath) || nameOrPath.includes('/')
        ? resolve(this.baseDir, nameOrPath)
        : nameOrPath;
    return resolveProfile(p);
  }

  private async latencyFn(
    profile: ServerlessProfile,
    fn: FunctionConfig,
  ): Promise<(b: number) => { avg: number; max: number }> {
    const { cpuLatency, gpuLatency } = await import('../predict/latency.ts');
    return fn.kind === 'cpu'
      ? (b) => cpuLatency(profile, fn.vcpu, b)
      : (b) => gpuLatency(profile, fn.gpuMemoryGb, b);
  }

  /**
   * The profile's measured samples by (function, batch size), with the simulator's lookup rule
   * (exact configuration, else the nearest measured one rescaled by the fitted averages); undefined
   * when the profile has none.
   */
  private async sampleFn(profile: ServerlessProfile): Promise<ReturnType<typeof sampleLookup>> {
    if (!profile.samples?.length) return undefined;
    const { sampleLookup } = await import('../profile/samples.ts');
    const { cpuLatency, gpuLatency } = await import('../predict/latency.ts');
    return sampleLookup(
      profile,
      (fn, b) =>
        fn.kind === 'cpu' ? cpuLatency(profile, fn.vcpu, b).avg : gpuLatency(profile, fn.gpuMemoryGb, b).avg,
      'auto',
    );
  }

  private async defaultPlanFn(profile: ServerlessProfile): Promise<PlanFn> {
    const s = this.config.serving;
    if (s.mode !== 'serverless') throw new Error('unreachable');
    const { planServerless } = await import('./planning.ts');
    return (apps) =>
      planServerless(apps, profile, { algorithm: s.algorithm, prices: this.prices, compat: s.compat });
  }

  private authorised(req: IncomingMessage): boolean {
    if (!this.token) return false;
    const h = req.headers['authorization'];
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) return false;
    const a = Buffer.from(h.slice(7));
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    const retry = this.config.limits.retryAfterS;
    const fail = (e: unknown): void => {
      if (!(e instanceof HetserveError))
        this.logger.error({ err: (e as Error)?.message, stack: (e as Error)?.stack, path }, 'internal error');
      sendProblem(res, e, path, retry);
      // Unread body bytes would otherwise be parsed as the next request on this connection.
      if (!req.complete) req.resume();
    };
    try {
      if (method === 'POST') {
        const m = PATH_INFER.exec(path);
        if (m) return void this.infer(req, res, decodePathSegment(m[1])).catch(fail);
        if (path.startsWith('/admin/')) return void this.admin(req, res, path).catch(fail);
      } else if (method === 'GET' || method === 'HEAD') {
        if (path === '/v2/health/live') return sendJson(res, 200, { live: true });
        if (path === '/v2/health/ready')
          return sendJson(res, this.ready && !this.draining ? 200 : 503, {
            ready: this.ready && !this.draining,
          });
        if (path === '/v2') return sendJson(res, 200, { name: 'hetserve', version: '0.1.0', extensions: [] });
        const m = PATH_MODEL.exec(path);
        if (m) return this.modelMetadata(res, decodePathSegment(m[1]), m[2] !== undefined);
        if (path === '/metrics') return void this.sendMetrics(res).catch(fail);
        if (path === '/api/live') return sendJson(res, 200, this.liveData());
        const asset = dashboardAsset(path);
        if (asset) {
          res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
          return void res.end(asset.body);
        }
      }
      const allow = allowedMethods(path, (p) => dashboardAsset(p) !== undefined);
      if (allow && !allow.includes(method)) {
        res.setHeader('allow', allow.join(', '));
        throw methodNotAllowed(method, path, allow);
      }
      throw new HetserveError('E_UNKNOWN_MODEL_ENDPOINT', `path: no endpoint ${method} ${path}`, {
        field: 'path',
        value: path,
      });
    } catch (e) {
      fail(e);
    }
  }

  private entry(name: string): ModelEntry {
    const e = this.models.get(name);
    if (!e)
      throw new HetserveError(
        'E_UNKNOWN_MODEL_ENDPOINT',
        `model: ${JSON.stringify(name)} is not served; served: ${[...this.models.keys()].join(', ')}`,
        {
          field: 'model',
          value: name,
        },
      );
    return e;
  }

  private modelMetadata(res: ServerResponse, name: string, readyOnly: boolean): void {
    const e = this.entry(name);
    if (readyOnly)
      return sendJson(res, this.ready && !this.draining ? 200 : 503, {
        name,
        ready: this.ready && !this.draining,
      });
    const io = e.service.io;
    const t = (s: { name: string; datatype: string; shape: number[] }) => ({
      name: s.name,
      datatype: s.datatype,
      shape: [-1, ...s.shape],
    });
    sendJson(res, 200, {
      name,
      versions: ['1'],
      platform: io.platform,
      inputs: io.inputs.map(t),
      outputs: io.outputs.map(t),
    });
  }

  private async infer(req: IncomingMessage, res: ServerResponse, model: string): Promise<void> {
    const received = performance.now();
    if (this.draining)
      throw new HetserveError('E_SHUTTING_DOWN', 'the gateway is draining; retry on another replica');
    const e = this.entry(model);
    const body = await this.readJson(req, res);
    const decoded = decodeInferRequest(body, e.service.io, this.config.limits.maxSamplesPerRequest);
    const header = req.headers['x-hetserve-app'];
    const app = (typeof header === 'string' && header !== '' ? header : undefined) ?? decoded.app;
    if (app === undefined)
      throw new HetserveError(
        'E_UNKNOWN_APP',
        'app: name the application in the x-hetserve-app header or parameters.app',
        {
          field: 'app',
          value: null,
          known: e.service.appNames(),
        },
      );
    if (!e.service.hasApp(app))
      throw new HetserveError(
        'E_UNKNOWN_APP',
        `app: ${JSON.stringify(app)} is not an application of model ${model}; known: ${e.service.appNames().join(', ')}`,
        { field: 'app', value: app },
      );
    // A request of n samples is n requests to the batch manager; the answer stacks them back.
    const svc = e.service;
    // A request of n rows is admitted or refused as a whole.
    const refused =
      decoded.rows > 1 &&
      svc instanceof ServerlessService &&
      svc.admit(app, decoded.rows, decoded.deadlineMs);
    if (refused) {
      this.metrics.requests.labels(model, app, String(refused.httpStatus)).inc();
      throw refused;
    }
    const answers =
      decoded.rows === 1
        ? [await svc.infer(decoded, app)]
        : await Promise.all(splitRows(decoded, svc.io).map((r) => svc.infer(r, app, true)));
    const failed = answers.find((x) => !x.ok);
    if (failed && !failed.ok) {
      this.metrics.requests.labels(model, app, String(failed.error.httpStatus)).inc();
      throw failed.error;
    }
    const ok = answers as Extract<(typeof answers)[number], { ok: true }>[];
    const worst = ok.reduce((m, x) => (x.latencyS > m.latencyS ? x : m), ok[0]);
    sendJson(
      res,
      200,
      encodeInferResponse(svc.io, decoded.id, concatRows(ok.map((x) => x.outputs)), decoded.outputs, {
        app,
        // Timing inside the gateway (ms): arrival to answer, batching wait, backend time of the
        // batch (of the slowest sample when the request carries several).
        latency_ms: +(worst.latencyS * 1000).toFixed(3),
        // Handler entry (headers parsed) to just before the answer is serialised.
        gateway_ms: +(performance.now() - received).toFixed(3),
        queue_ms: +(worst.waitS * 1000).toFixed(3),
        backend_ms: +(worst.execS * 1000).toFixed(3),
      }),
    );
  }

  /** The JSON body, read within the body-idle timeout and checked for nesting before parsing. */
  private async readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const l = this.config.limits;
    const unwatch = watchBodyIdle(req, res, l.bodyIdleTimeoutMs);
    let buf: Buffer;
    try {
      buf = await readBody(req, l.maxBodyBytes);
    } finally {
      unwatch();
    }
    checkJsonDepth(buf, l.maxJsonDepth);
    return parseJsonBody(buf);
  }

  private async sendMetrics(res: ServerResponse): Promise<void> {
    const text = await this.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
    res.end(text);
  }

  /** Data for the dashboard: plans (or the cluster pool), SLOs and the per-second series. */
  liveData(): unknown {
    return {
      models: [...this.models.values()].map(({ service }) => ({
        name: service.io.name,
        mode: service instanceof ServerlessService ? 'serverless' : 'cluster',
        ...(service instanceof ServerlessService
          ? { planVersion: service.planVersion, plan: service.plan }
          : { instances: service.instances() }),
        currency: this.prices?.currency,
        slo: Object.fromEntries(
          this.config.applications.filter((a) => service.hasApp(a.name)).map((a) => [a.name, a.slo]),
        ),
        rates: service.rates(),
        queued: service.queued,
        series: service.live.points,
      })),
    };
  }

  /** The serverless service of a model (tests, admin); E_INVALID_INPUT for a cluster-mode model. */
  serverless(name: string): ServerlessService {
    const s = this.entry(name).service;
    if (!(s instanceof ServerlessService))
      throw new HetserveError(
        'E_INVALID_INPUT',
        `model: ${JSON.stringify(name)} runs in cluster mode and has no plan`,
        {
          field: 'model',
          value: name,
        },
      );
    return s;
  }

  private async admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!this.token)
      throw new HetserveError(
        'E_UNKNOWN_MODEL_ENDPOINT',
        'admin endpoints are off: configure admin.token to enable them',
        { field: 'admin.token', value: null },
      );
    if (!this.authorised(req))
      throw new HetserveError('E_UNAUTHORIZED', 'authorization: a valid bearer token is required', {
        field: 'authorization',
        value: null,
      });
    const body = await this.readJson(req, res);
    const b = (body ?? {}) as Record<string, unknown>;
    const modelName = typeof b['model'] === 'string' ? b['model'] : [...this.models.keys()][0];
    const svc = this.serverless(modelName);
    if (path === '/admin/plan') {
      // A plan document, never a path or code: validated like any other input.
      const plan = parseWith(PlanSchema, b['plan'], 'E_PLAN_INVALID', 'plan');
      const changed = await svc.swap(plan);
      return sendJson(res, 200, { model: modelName, changed, planVersion: svc.planVersion });
    }
    if (path === '/admin/replan') {
      const r = await svc.replan();
      return sendJson(res, 200, {
        model: modelName,
        changed: r.changed,
        planVersion: svc.planVersion,
        plan: r.plan,
      });
    }
    if (path === '/admin/reload') return sendJson(res, 200, await this.reload());
    throw new HetserveError('E_UNKNOWN_MODEL_ENDPOINT', `path: no admin endpoint ${path}`, {
      field: 'path',
      value: path,
    });
  }

  /**
   * Re-read the config file given at start (only that file) and apply what can change live: the
   * applications' SLOs and rate hints (a re-plan follows) and the limits. Anything else needs a restart.
   */
  private async reload(): Promise<unknown> {
    if (!this.opts.configPath)
      throw new HetserveError('E_INVALID_INPUT', 'reload: the gateway was not started from a config file', {
        field: 'configPath',
        value: null,
      });
    const { readFileSync } = await import('node:fs');
    const { parseServeConfigText } = await import('./config.ts');
    const next = parseServeConfigText(readFileSync(this.opts.configPath, 'utf8'), this.opts.configPath);
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    for (const k of ['listen', 'models', 'serving', 'admin'] as const)
      if (!same(next[k], this.config[k]))
        throw new HetserveError('E_CONFIG_INVALID', `${k}: changed; a restart is needed to apply it`, {
          field: k,
          value: next[k],
        });
    const names = (c: ServeConfig) =>
      c.applications
        .map((a) => `${a.name}@${appModel(c, a)}`)
        .sort()
        .join();
    if (names(next) !== names(this.config))
      throw new HetserveError(
        'E_CONFIG_INVALID',
        'applications: the set of applications changed; a restart is needed',
        { field: 'applications', value: next.applications.map((a) => a.name) },
      );
    this.config = next;
    const out: Record<string, unknown> = {};
    for (const [name, e] of this.models) {
      if (!(e.service instanceof ServerlessService)) continue;
      e.service.updateApps(next.applications.filter((a) => appModel(next, a) === name));
      out[name] = (await e.service.replan()).changed;
    }
    return { reloaded: true, replanned: out };
  }

  /** Stop accepting, answer everything accepted, close backends and the server. */
  async drain(): Promise<boolean> {
    if (this.draining) return true;
    this.draining = true;
    for (const i of this.intervals) clearInterval(i);
    const server = this.server;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    const ok = (
      await Promise.all([...this.models.values()].map((e) => e.service.drain(this.config.limits.drainS)))
    ).every(Boolean);
    // Every answer is handed to its socket; idle keep-alive connections go now, busy ones once
    // their response is written (bounded by a short grace).
    await new Promise((r) => setImmediate(r));
    server?.closeIdleConnections();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.close();
    return ok;
  }

  async close(): Promise<void> {
    this.draining = true;
    for (const i of this.intervals) clearInterval(i);
    await Promise.all([...this.models.values()].map((e) => e.service.close()));
    if (this.server) {
      const server = this.server;
      this.server = undefined;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }
}
