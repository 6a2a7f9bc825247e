/**
 * The serving gateway: Open Inference Protocol (KServe v2) REST over node:http (measured faster
 * than hono's adapter on this hot path, see bench/gateway.ts), Prometheus /metrics, the dashboard
 * and its live-data API, admin endpoints behind a bearer token, periodic re-planning and graceful
 * drain. One `ModelService` per model (serverless or cluster, src/serve/model-service.ts) does the
 * admission, batching or routing, and the backends; the gateway is HTTP, lifecycle and a route table.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { RealTimeSource } from '../dispatch/timers.ts';
import type { TimerSource } from '../dispatch/clock.ts';
import { HetserveError } from '../model/errors.ts';
import type { App } from '../model/app.ts';
import type { FunctionConfig, Plan } from '../model/plan.ts';
import { parsePlan } from '../model/plan.ts';
import type { PriceTable } from '../model/prices.ts';
import type { ServerlessProfile } from '../model/profile.ts';
import type { sampleLookup } from '../profile/samples.ts';
import type { Predictor } from '../predict/predictor.ts';
import { createBackend } from './backends/index.ts';
import type { Backend, BackendContext } from './backends/types.ts';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { GrpcHost } from './grpc/server.ts';
import {
  adminToken,
  appModel,
  grpcPortOf,
  type BackendConfig,
  type ModelConfig,
  type ServeConfig,
} from '../model/serve-config.ts';
import { GatewayMetrics } from './metrics.ts';
import type { ModelIO } from './tensors.ts';
import { ServerlessService, type PlanFn } from './service.ts';
import type { ModelService, PlannedService } from './model-service.ts';
import { AnswerWriter, parseJsonBody, readBody, sendJson, sendProblem } from './http-util.ts';
import { decodeContent, encodeContent, parseInferBody, responseEncoding } from './oip/binary.ts';
import { checkVersion, MODEL_VERSIONS, runInfer, type InferContext } from './oip/core.ts';
import { restInferResponse } from './oip/infer.ts';
import { ModelStats } from './oip/stats.ts';
import { repositoryIndex, tritonModelConfig } from './oip/triton.ts';
import { dashboardAsset } from './dashboard.ts';
import type { CalibrationLoop } from './calibration-loop.ts';
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
  service: ModelService;
  /** Triton's statistics extension. */
  stats: ModelStats;
  /** Online latency calibration (serverless mode, `calibration.enabled`). */
  calibration?: CalibrationLoop;
}

/** Protocol extensions the REST endpoint implements (server metadata). */
const SERVER_METADATA = {
  name: 'hetserve',
  version: '0.1.0',
  extensions: [
    'binary_tensor_data',
    'classification',
    'model_configuration',
    'model_repository',
    'statistics',
  ],
};

/** The SLO a plan is cut to: the application's, less the gateway's margin (serving.sloMarginMs). */
function plannedSlo(app: App, marginS: number): number {
  if (!(app.slo > marginS)) {
    throw new HetserveError(
      'E_CONFIG_INVALID',
      `serving.sloMarginMs: ${marginS * 1000} ms leaves nothing of application ${JSON.stringify(app.name)}'s SLO (${app.slo} s); lower it or raise the SLO`,
      { field: 'serving.sloMarginMs', value: marginS * 1000, app: app.name },
    );
  }
  return app.slo - marginS;
}

/** A path segment, %-decoded; malformed escapes are a 404 naming the path, not a 500. */
function decodePathSegment(seg: string): string {
  // Nothing to decode in the usual name (and no string to make).
  if (!seg.includes('%')) return seg;
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

const PATH_INFER = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/;
const PATH_MODEL = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|config|stats))?$/;

interface RouteMatch {
  path: string;
  /** The query string with its '?', or ''. */
  query: string;
  /** A pattern's capture groups. */
  groups: (string | undefined)[];
}

/** One endpoint of the gateway's route table. */
interface Route {
  /** GET routes answer HEAD too. */
  method: 'GET' | 'POST';
  /** The exact path, a pattern (its groups reach the handler) or a test. */
  path: string | RegExp | ((path: string) => boolean);
  /** A returned promise's rejection is answered like a throw: a problem body. */
  handle: (req: IncomingMessage, res: ServerResponse, m: RouteMatch) => void | Promise<void>;
}

const NO_GROUPS: (string | undefined)[] = [];

/** The capture groups when `path` matches, else undefined. */
function matchPath(p: Route['path'], path: string): (string | undefined)[] | undefined {
  if (typeof p === 'string') return p === path ? NO_GROUPS : undefined;
  if (typeof p === 'function') return p(path) ? NO_GROUPS : undefined;
  const m = p.exec(path);
  return m ? m.slice(1) : undefined;
}

export class Gateway {
  readonly metrics = new GatewayMetrics();
  readonly logger: Logger;
  readonly timers: TimerSource;
  readonly models = new Map<string, ModelEntry>();
  private config: ServeConfig;
  private readonly opts: GatewayOptions;
  private server: Server | undefined;
  private grpcServer: GrpcServer | undefined;
  private ready = false;
  private draining = false;
  private intervals: ReturnType<typeof setInterval>[] = [];
  /** REST infer answers, written together once per turn of the event loop. */
  private readonly answers = new AnswerWriter((e) =>
    this.logger.error({ err: (e as Error)?.message, stack: (e as Error)?.stack }, 'answer not written'),
  );
  private readonly token: string | undefined;
  private readonly baseDir: string;
  private prices: PriceTable | undefined;
  private readonly routes = this.routeTable();

  constructor(opts: GatewayOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.baseDir = opts.baseDir ?? (opts.configPath ? dirname(opts.configPath) : process.cwd());
    this.logger = opts.logger ?? pino({ level: opts.config.logLevel, base: { svc: 'hetserve' } });
    this.timers = opts.timers ?? new RealTimeSource();
    this.token = adminToken(opts.config);
  }

  /** Start backends, compute plans, listen. Resolves with the bound address. */
  async start(): Promise<{ host: string; port: number; url: string; grpcPort: number | undefined }> {
    await this.startModels();
    await this.listen();
    const grpcPort = await this.startGrpc();
    this.startTimers();
    this.ready = true;
    const a = this.server!.address() as AddressInfo;
    const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    this.logger.info({ url, grpcPort }, 'hetserve gateway listening');
    return { host: a.address, port: a.port, url, grpcPort };
  }

  /** One started service per model that has applications. */
  private async startModels(): Promise<void> {
    const c = this.config;
    if (c.serving.mode === 'serverless') {
      const { resolvePriceTable } = await import('../predict/prices.ts');
      this.prices = resolvePriceTable(c.serving.prices);
    }
    for (const m of c.models) {
      const apps = c.applications
        .filter((a) => appModel(c, a) === m.name)
        .map((a) => ({ name: a.name, slo: a.slo, rps: a.rps }));
      if (apps.length === 0) {
        this.logger.warn({ model: m.name }, 'model has no applications; not served');
        continue;
      }
      const entry =
        c.serving.mode === 'cluster' ? await this.clusterModel(m, apps) : await this.serverlessModel(m, apps);
      await entry.service.start();
      this.models.set(m.name, entry);
    }
    if (this.models.size === 0)
      throw new HetserveError('E_CONFIG_INVALID', 'applications: no model has an application', {
        field: 'applications',
        value: [],
      });
  }

  /** Cluster mode: the model's instance pool (src/serve/cluster-setup.ts). */
  private async clusterModel(m: ModelConfig, apps: App[]): Promise<ModelEntry> {
    const c = this.config;
    const serving = c.serving;
    if (serving.mode !== 'cluster') throw new Error('unreachable');
    const { startClusterService } = await import('./cluster-setup.ts');
    const stats = new ModelStats();
    const service = await startClusterService({
      onBatch: (size, execS) => stats.batch(size, execS),
      serving,
      model: m,
      apps,
      factory: this.opts.backendFactory ?? createBackend,
      baseDir: this.baseDir,
      timers: this.timers,
      metrics: this.metrics,
      logger: this.logger,
      limits: c.limits,
      windowS: c.replan.windowS,
    });
    return { config: m, service, stats };
  }

  /** Serverless mode: the model's plan groups, each on its function backend. */
  private async serverlessModel(m: ModelConfig, apps: App[]): Promise<ModelEntry> {
    const c = this.config;
    const serving = c.serving;
    if (serving.mode !== 'serverless') throw new Error('unreachable');
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
    const calibration = await this.calibrationLoop(m.name, profile);
    const planFn: PlanFn = this.opts.planFn
      ? (a) => this.opts.planFn!(m, a)
      : await this.defaultPlanFn(() => calibration?.profile ?? profile);
    const { makeBackend, io } = await this.functionBackends(m, serving.backend, profile);
    const stats = new ModelStats();
    const service = new ServerlessService({
      io,
      onBatch: (size, execS) => stats.batch(size, execS),
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
      ...(calibration ? { onBatchLatency: calibration.observe.bind(calibration) } : {}),
      admission: c.limits.admission,
    });
    calibration?.whenRefitted(() => void service.replanSerial());
    return { config: m, service, stats, ...(calibration ? { calibration } : {}) };
  }

  /**
   * The factory of a model's function backends (each told its predicted latency and the profile's
   * measured samples), and the model's tensors, read from a first backend (the onnx one reads them
   * from the model).
   */
  private async functionBackends(
    m: ModelConfig,
    backend: BackendConfig,
    profile: ServerlessProfile,
  ): Promise<{ makeBackend: (fn: FunctionConfig, key: string) => Promise<Backend>; io: ModelIO }> {
    const factory = this.opts.backendFactory ?? createBackend;
    const { Predictor } = await import('../predict/predictor.ts');
    const predictor = new Predictor(profile, this.prices ? { prices: this.prices } : {});
    const samples = await this.sampleFn(profile, predictor);
    let io: ModelIO | undefined;
    const makeBackend = async (fn: FunctionConfig, key: string): Promise<Backend> => {
      const b = factory(backend, {
        id: `${m.name}/${key}`,
        model: m,
        baseDir: this.baseDir,
        fn,
        predictLatency: (batch) => predictor.latency(fn, batch),
        ...(samples ? { latencySamples: (batch: number) => samples(fn, batch)?.latencies } : {}),
      });
      io = await b.start();
      return b;
    };
    const probe = await makeBackend({ kind: 'cpu', vcpu: 1, memoryGb: 2 }, 'probe');
    await probe.close();
    return { makeBackend, io: io! };
  }

  /** The HTTP server with the hostile-input limits, listening. */
  private async listen(): Promise<void> {
    const c = this.config;
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
  }

  /** The OIP gRPC endpoint when configured; its bound port. */
  private async startGrpc(): Promise<number | undefined> {
    const c = this.config;
    const wanted = grpcPortOf(c);
    if (wanted === null) return undefined;
    // Loaded only when on: grpc-js and the .proto stay out of a gateway that does not use them.
    const g = await import('./grpc/server.ts');
    this.grpcServer = g.createGrpcServer(this.grpcHost(), c.limits.maxBodyBytes);
    try {
      return await g.bindGrpc(this.grpcServer, c.listen.host, wanted);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** The dashboard/metrics tick and, when configured, periodic re-planning of planned services. */
  private startTimers(): void {
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.intervals.push(t);
    };
    every(this.opts.tickMs ?? 1000, () => {
      for (const e of this.models.values()) {
        e.service.tick();
        e.calibration?.tick();
      }
    });
    const replanS = this.config.replan.intervalS;
    if (replanS > 0)
      every(replanS * 1000, () => {
        for (const e of this.models.values()) void e.service.planned?.replanSerial();
      });
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

  /**
   * The profile's measured samples by (function, batch size), with the simulator's lookup rule
   * (exact configuration, else the nearest measured one rescaled by the fitted averages); undefined
   * when the profile has none.
   */
  private async sampleFn(
    profile: ServerlessProfile,
    predictor: Predictor,
  ): Promise<ReturnType<typeof sampleLookup>> {
    if (!profile.samples?.length) return undefined;
    const { sampleLookup } = await import('../profile/samples.ts');
    return sampleLookup(profile, (fn, b) => predictor.latency(fn, b).avg, 'auto');
  }

  /** The planner on the profile in use (the calibrated one once the loop has refitted). */
  private async defaultPlanFn(profile: () => ServerlessProfile): Promise<PlanFn> {
    const s = this.config.serving;
    if (s.mode !== 'serverless') throw new Error('unreachable');
    const { planServerless } = await import('./planning.ts');
    const margin = s.sloMarginMs / 1000;
    return (apps) =>
      planServerless(
        apps.map((a) => ({ ...a, slo: plannedSlo(a, margin) })),
        profile(),
        { algorithm: s.algorithm, prices: this.prices, compat: s.compat, extrapolate: s.extrapolate },
      );
  }

  private async calibrationLoop(
    model: string,
    profile: ServerlessProfile,
  ): Promise<CalibrationLoop | undefined> {
    const cfg = this.config.calibration;
    if (!cfg.enabled) return undefined;
    const { CalibrationLoop } = await import('./calibration-loop.ts');
    const { resolve } = await import('node:path');
    return new CalibrationLoop({
      model,
      profile,
      config: cfg,
      ...(cfg.dir ? { dir: resolve(this.baseDir, cfg.dir) } : {}),
      timers: this.timers,
      registry: this.metrics.registry,
      logger: this.logger,
    });
  }

  private authorised(req: IncomingMessage): boolean {
    if (!this.token) return false;
    const h = req.headers['authorization'];
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) return false;
    const a = Buffer.from(h.slice(7));
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * The endpoints, in the order they are tried (the infer path first: it is the hot one). A path
   * no route of the request's method matches is a 405 with Allow when another method serves it,
   * else a 404.
   */
  private routeTable(): Record<Route['method'], Route[]> {
    const routes: Route[] = [
      {
        method: 'POST',
        path: PATH_INFER,
        // Answers its own failures: the hot route makes no catch handler per request.
        handle: (req, res, m) => void this.infer(req, res, m),
      },
      {
        method: 'POST',
        path: '/v2/repository/index',
        handle: async (req, res) => {
          await readBody(req, this.config.limits.maxBodyBytes);
          sendJson(res, 200, repositoryIndex([...this.models.keys()]));
        },
      },
      { method: 'POST', path: /^\/admin\//, handle: (req, res, m) => this.admin(req, res, m.path) },
      { method: 'GET', path: '/v2/health/live', handle: (_q, res) => sendJson(res, 200, { live: true }) },
      {
        method: 'GET',
        path: '/v2/health/ready',
        handle: (_q, res) =>
          sendJson(res, this.ready && !this.draining ? 200 : 503, { ready: this.ready && !this.draining }),
      },
      { method: 'GET', path: '/v2', handle: (_q, res) => sendJson(res, 200, SERVER_METADATA) },
      {
        method: 'GET',
        path: '/v2/models/stats',
        handle: (_q, res) =>
          sendJson(res, 200, { model_stats: [...this.models].map(([name, e]) => e.stats.toJson(name)) }),
      },
      {
        method: 'GET',
        path: PATH_MODEL,
        handle: (_q, res, m) => this.modelGet(res, decodePathSegment(m.groups[0]!), m.groups[1], m.groups[2]),
      },
      { method: 'GET', path: '/metrics', handle: (_q, res) => this.sendMetrics(res) },
      { method: 'GET', path: '/api/live', handle: (_q, res) => sendJson(res, 200, this.liveData()) },
      {
        method: 'GET',
        path: /^\/admin\/(?:profile|calibration)$/,
        handle: (req, res, m) => this.adminCalibration(req, res, m.path, m.query),
      },
      {
        method: 'GET',
        path: (p) => dashboardAsset(p) !== undefined,
        handle: (_q, res, m) => {
          const asset = dashboardAsset(m.path)!;
          res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
          res.end(asset.body);
        },
      },
    ];
    return {
      GET: routes.filter((r) => r.method === 'GET'),
      POST: routes.filter((r) => r.method === 'POST'),
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    try {
      const routes =
        method === 'POST' ? this.routes.POST : method === 'GET' || method === 'HEAD' ? this.routes.GET : [];
      for (const r of routes) {
        const groups = matchPath(r.path, path);
        if (!groups) continue;
        const done = r.handle(req, res, { path, query: url.slice(path.length), groups });
        if (done instanceof Promise) done.catch((e: unknown) => this.fail(req, res, path, e));
        return;
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
      this.fail(req, res, path, e);
    }
  }

  /** Answer a failed request with its problem body (a 500 without a stack for a non-coded error). */
  private fail(req: IncomingMessage, res: ServerResponse, path: string, e: unknown): void {
    if (!(e instanceof HetserveError))
      this.logger.error({ err: (e as Error)?.message, stack: (e as Error)?.stack, path }, 'internal error');
    sendProblem(res, e, path, this.config.limits.retryAfterS);
    // Unread body bytes would otherwise be parsed as the next request on this connection.
    if (!req.complete) req.resume();
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

  /** Model metadata, readiness, Triton's model config and statistics of one model (version). */
  private modelGet(
    res: ServerResponse,
    name: string,
    version: string | undefined,
    what: string | undefined,
  ): void {
    const e = this.entry(name);
    checkVersion(name, version);
    if (what === 'config')
      return sendJson(
        res,
        200,
        tritonModelConfig(e.service.io, this.config.limits.maxSamplesPerRequest, e.service.planned?.plan),
      );
    if (what === 'stats') return sendJson(res, 200, { model_stats: [e.stats.toJson(name)] });
    if (what === 'ready')
      return sendJson(res, this.ready && !this.draining ? 200 : 503, {
        name,
        ready: this.ready && !this.draining,
      });
    sendJson(res, 200, this.metadataOf(name, e));
  }

  private metadataOf(name: string, e: ModelEntry): ReturnType<GrpcHost['modelMetadata']> {
    const io = e.service.io;
    const t = (s: { name: string; datatype: string; shape: number[] }) => ({
      name: s.name,
      datatype: s.datatype,
      shape: [-1, ...s.shape],
    });
    return {
      name,
      versions: MODEL_VERSIONS,
      platform: io.platform,
      inputs: io.inputs.map(t),
      outputs: io.outputs.map(t),
    };
  }

  private grpcHost(): GrpcHost {
    return {
      inferContext: this.inferContext,
      ready: () => this.ready && !this.draining,
      serverMetadata: () => SERVER_METADATA,
      modelMetadata: (name, version) => {
        const e = this.entry(name);
        checkVersion(name, version);
        return this.metadataOf(name, e);
      },
    };
  }

  /** What the protocol front ends (REST here, gRPC) need of the gateway. */
  readonly inferContext: InferContext = {
    metrics: this.metrics,
    maxSamplesPerRequest: () => this.config.limits.maxSamplesPerRequest,
    draining: () => this.draining,
    model: (name) => {
      const e = this.entry(name);
      return { service: e.service, defaultApp: e.config.defaultApp, stats: e.stats };
    },
  };

  /**
   * POST .../infer; never rejects (a failure is answered with its problem body). One async frame
   * per request: a second one, for the catch, cost a promise and a resumption each time.
   */
  private async infer(req: IncomingMessage, res: ServerResponse, m: RouteMatch): Promise<void> {
    // Called from the request event: its deadline counts from here, before the body is read.
    const arrival = this.timers.now();
    try {
      const h = req.headers;
      const header = h['x-hetserve-app'];
      const r = await runInfer(this.inferContext, {
        model: decodePathSegment(m.groups[0]!),
        version: m.groups[1],
        arrival,
        // Read within the body-idle timeout and parsed as the read ends, in one promise.
        body: () => {
          const l = this.config.limits;
          const unwatch = watchBodyIdle(req, res, l.bodyIdleTimeoutMs);
          return readBody(req, l.maxBodyBytes, (buf) => this.parseRestInfer(buf, h), unwatch);
        },
        app: typeof header === 'string' && header !== '' ? header : undefined,
      });
      const { body, headerLength } = restInferResponse(r.io, r.id, r.outputs, r.opts, {
        app: r.app,
        ...r.timing,
      });
      const headers: Record<string, string | number> = {
        'content-type': headerLength === undefined ? 'application/json' : 'application/octet-stream',
      };
      if (headerLength !== undefined) headers['inference-header-content-length'] = headerLength;
      const size = body.length;
      const enc = responseEncoding(h['accept-encoding'], size);
      const out = enc ? encodeContent(Buffer.from(body), enc) : body;
      if (enc) headers['content-encoding'] = enc;
      headers['content-length'] = typeof out === 'string' ? Buffer.byteLength(out) : out.length;
      this.answers.write(res, headers, out);
    } catch (e) {
      this.fail(req, res, m.path, e);
    }
  }

  /** A REST infer body: decompressed, its JSON part checked for nesting, binary tensors decoded. */
  private parseRestInfer(buf: Buffer, h: IncomingMessage['headers']): unknown {
    const raw = decodeContent(buf, h['content-encoding'], this.config.limits.maxBodyBytes);
    const len = h['inference-header-content-length'];
    const jsonLen = typeof len === 'string' ? Number(len) : raw.length;
    // Nesting is bounded on the JSON part only (binary tensors may hold any byte).
    checkJsonDepth(
      jsonLen !== raw.length && Number.isInteger(jsonLen) && jsonLen >= 0 && jsonLen <= raw.length
        ? raw.subarray(0, jsonLen)
        : raw,
      this.config.limits.maxJsonDepth,
    );
    return parseInferBody(raw, typeof len === 'string' ? len : undefined);
  }

  /** The raw body, read within the body-idle timeout. */
  private async readBuffer(req: IncomingMessage, res: ServerResponse): Promise<Buffer> {
    const l = this.config.limits;
    const unwatch = watchBodyIdle(req, res, l.bodyIdleTimeoutMs);
    try {
      return await readBody(req, l.maxBodyBytes);
    } finally {
      unwatch();
    }
  }

  /** The JSON body, read within the body-idle timeout and checked for nesting before parsing. */
  private async readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const buf = await this.readBuffer(req, res);
    checkJsonDepth(buf, this.config.limits.maxJsonDepth);
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
      models: [...this.models.values()].map(({ service, calibration }) => ({
        name: service.io.name,
        ...service.snapshot(),
        currency: this.prices?.currency,
        slo: Object.fromEntries(
          this.config.applications.filter((a) => service.hasApp(a.name)).map((a) => [a.name, a.slo]),
        ),
        rates: service.rates(),
        ...(calibration ? { calibration: calibration.snapshot() } : {}),
        queued: service.queued,
        series: service.live.points,
      })),
    };
  }

  /** The planned (serverless) service of a model (tests, admin); E_INVALID_INPUT for a cluster-mode model. */
  serverless(name: string): PlannedService {
    const s = this.entry(name).service.planned;
    if (!s)
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

  /**
   * GET /admin/profile (the calibrated profile in use, with its version) and GET /admin/calibration
   * (measured vs predicted per configuration, refits); `?model=` picks the model (default the first).
   */
  private adminCalibration(req: IncomingMessage, res: ServerResponse, path: string, query: string): void {
    this.checkAdmin(req);
    const model = new URLSearchParams(query.replace(/^\?/, '')).get('model') ?? [...this.models.keys()][0];
    this.serverless(model);
    const loop = this.entry(model).calibration;
    if (!loop)
      throw new HetserveError('E_INVALID_INPUT', 'calibration: off (calibration.enabled is false)', {
        field: 'calibration.enabled',
        value: false,
      });
    if (path === '/admin/profile')
      return sendJson(res, 200, {
        model,
        version: loop.calibrator.version,
        at: loop.calibrator.calibrated.at,
        profile: loop.profile,
      });
    sendJson(res, 200, { model, ...loop.snapshot() });
  }

  private checkAdmin(req: IncomingMessage): void {
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
  }

  private async admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    this.checkAdmin(req);
    const body = await this.readJson(req, res);
    const b = (body ?? {}) as Record<string, unknown>;
    const modelName = typeof b['model'] === 'string' ? b['model'] : [...this.models.keys()][0];
    const svc = this.serverless(modelName);
    if (path === '/admin/plan') {
      // A plan document, never a path or code: validated like any other input.
      const plan = parsePlan(b['plan']);
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
    const { parseServeConfigText } = await import('../model/serve-config.ts');
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
      const planned = e.service.planned;
      if (!planned) continue;
      planned.updateApps(next.applications.filter((a) => appModel(next, a) === name));
      out[name] = (await planned.replan()).changed;
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
    const grpc = this.grpcServer;
    const grpcClosed = grpc
      ? import('./grpc/server.ts').then((g) => g.stopGrpc(grpc, this.config.limits.drainS * 1000))
      : Promise.resolve();
    const ok = (
      await Promise.all([...this.models.values()].map((e) => e.service.drain(this.config.limits.drainS)))
    ).every(Boolean);
    // Every answer is handed to its socket; idle keep-alive connections go now, busy ones once
    // their response is written (bounded by a short grace).
    await new Promise((r) => setImmediate(r));
    server?.closeIdleConnections();
    await Promise.race([Promise.all([closed, grpcClosed]), new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.close();
    return ok;
  }

  async close(): Promise<void> {
    this.draining = true;
    for (const i of this.intervals) clearInterval(i);
    await Promise.all([...this.models.values()].map((e) => e.service.close()));
    this.grpcServer?.forceShutdown();
    this.grpcServer = undefined;
    if (this.server) {
      const server = this.server;
      this.server = undefined;
      this.answers.flush();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }
}
