/**
 * One inference request through the gateway, whatever the front end (REST, gRPC): version and
 * application resolution, validation, Triton's options, admission and batching by the model's
 * service, statistics and per-status metrics. The front ends only translate bytes.
 */
import { performance } from 'node:perf_hooks';
import { HetserveError } from '../../model/errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ModelService } from '../model-service.ts';
import { decodeInferRequest, type ModelIO, type Tensor } from '../tensors.ts';
import { inferOptions, type InferOptions } from './infer.ts';
import type { ModelStats } from './stats.ts';

/** What a front end needs from the gateway. */
export interface InferContext {
  readonly metrics: GatewayMetrics;
  maxSamplesPerRequest(): number;
  draining(): boolean;
  /**
   * The served model, or a 404 naming the served ones. Its service reports each backend call to
   * `stats` (`ModelStats.batch`).
   */
  model(name: string): { service: ModelService; defaultApp: string | undefined; stats: ModelStats };
}

export interface InferResult {
  io: ModelIO;
  id: string | undefined;
  app: string;
  outputs: Tensor[];
  opts: InferOptions;
  /** Gateway timings (ms) returned as response parameters. */
  timing: Record<string, number>;
}

/** The versions a model has (one: the gateway serves what its config names). */
export const MODEL_VERSIONS = ['1'];

export function checkVersion(model: string, version: string | undefined): void {
  if (version !== undefined && version !== '' && !MODEL_VERSIONS.includes(version))
    throw new HetserveError(
      'E_UNKNOWN_MODEL_ENDPOINT',
      `model ${JSON.stringify(model)} has no version ${JSON.stringify(version)}; versions: ${MODEL_VERSIONS.join(', ')}`,
      { field: 'version', value: version },
    );
}

const UNKNOWN = '_unknown';

export interface InferInput {
  model: string;
  version: string | undefined;
  /**
   * The request as JSON would carry it (binary tensors already decoded into `data`), or a reader
   * of it (its failures are counted like the others).
   */
  body: unknown;
  /** Application named outside the body (REST header, gRPC metadata). */
  app: string | undefined;
  /** Deadline set by the transport (gRPC deadline), ms from now. */
  deadlineMs?: number;
  /**
   * When the front end first saw the request, s on the services' clock (the gateway's timers):
   * the time spent reading and parsing it counts against its deadline.
   */
  arrival?: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The earlier of two optional deadlines. */
function earlier(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/** Milliseconds to 3 decimals (an integer over 1000 prints as its 3 decimals at most). */
function ms3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Run one request; rejects with a HetserveError (already counted in the metrics). */
export async function runInfer(ctx: InferContext, input: InferInput): Promise<InferResult> {
  const received = performance.now();
  let modelLabel = UNKNOWN;
  let appLabel = UNKNOWN;
  let stats: ModelStats | undefined;
  try {
    if (ctx.draining())
      throw new HetserveError('E_SHUTTING_DOWN', 'the gateway is draining; retry on another replica');
    const m = ctx.model(input.model);
    modelLabel = input.model;
    stats = m.stats;
    checkVersion(input.model, input.version);
    const svc = m.service;
    const body =
      typeof input.body === 'function' ? await (input.body as () => Promise<unknown>)() : input.body;
    const decoded = decodeInferRequest(body, svc.io, ctx.maxSamplesPerRequest());
    const b = body as Record<string, unknown>;
    const params = isRecord(b['parameters']) ? b['parameters'] : undefined;
    const outs = Array.isArray(b['outputs'])
      ? (b['outputs'] as { name: string; parameters?: Record<string, unknown> }[])
      : undefined;
    const opts = inferOptions(params, outs);
    // The earliest of the request's deadline_ms, Triton's timeout and the transport's deadline.
    decoded.deadlineMs = earlier(earlier(decoded.deadlineMs, opts.timeoutMs), input.deadlineMs);
    if (input.arrival !== undefined) decoded.arrival = input.arrival;
    const app = input.app ?? decoded.app ?? m.defaultApp;
    if (app === undefined)
      throw new HetserveError(
        'E_APP_REQUIRED',
        `app: model ${input.model} serves several applications (${svc.appNames().join(', ')}); name one in the request's parameters.app, the x-hetserve-app header (REST) or metadata (gRPC), or set models[].defaultApp in the gateway config`,
        { field: 'app', value: null, known: svc.appNames() },
      );
    if (!svc.hasApp(app))
      throw new HetserveError(
        'E_UNKNOWN_APP',
        `app: ${JSON.stringify(app)} is not an application of model ${input.model}; known: ${svc.appNames().join(', ')}`,
        { field: 'app', value: app },
      );
    appLabel = app;
    const answer = await svc.infer(decoded, app);
    if (!answer.ok) throw answer.error;
    // A request the service split into samples counts once per sample (Triton's statistics).
    if (answer.parts) for (const x of answer.parts) m.stats.requestOk(x.latencyS, x.waitS, x.execS);
    else m.stats.requestOk(answer.latencyS, answer.waitS, answer.execS);
    return {
      io: svc.io,
      id: decoded.id,
      app,
      outputs: answer.outputs,
      opts,
      // Timing inside the gateway (ms): arrival to answer, batching wait, backend time of the
      // batch (of the slowest sample when the request carries several); gateway_ms: handler
      // entry to just before the answer is serialised.
      timing: {
        latency_ms: ms3(answer.latencyS * 1000),
        gateway_ms: ms3(performance.now() - received),
        queue_ms: ms3(answer.waitS * 1000),
        backend_ms: ms3(answer.execS * 1000),
      },
    };
  } catch (e) {
    const status = e instanceof HetserveError ? e.httpStatus : 500;
    ctx.metrics.requests.labels(modelLabel, appLabel, String(status)).inc();
    stats?.requestFailed((performance.now() - received) / 1000);
    throw e;
  }
}
