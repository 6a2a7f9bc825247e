/**
 * `http` backend: forwards a whole batch as one OIP (KServe v2) infer request to any endpoint (a
 * Lambda function URL, a Function Compute trigger, KServe, Triton, another hetserve) and expects
 * stacked outputs back. Per-attempt timeout, bounded retries, never past the batch's deadline.
 */
import { createRequire } from 'node:module';
import type { Agent } from 'undici';
import { HetserveError } from '../../model/errors.ts';
import type { BackendConfig } from '../../model/serve-config.ts';
import type { ModelIO, Tensor } from '../tensors.ts';
import { echoSpecs } from '../tensors.ts';
import type { Backend, BackendBatch, BackendContext } from './types.ts';

type HttpConfig = Extract<BackendConfig, { type: 'http' }>;

let undici: typeof import('undici') | undefined;
/**
 * undici, loaded with the first http backend: it took ~185 ms to import cold, which every gateway
 * start paid, with or without an http backend.
 */
const loadUndici = (): typeof import('undici') =>
  (undici ??= createRequire(import.meta.url)('undici') as typeof import('undici'));

export class HttpBackend implements Backend {
  readonly kind = 'http';
  readonly id: string;
  private readonly agent: Agent = new (loadUndici().Agent)({ keepAliveTimeout: 10_000, connections: 64 });
  private readonly url: string;
  private readonly cfg: HttpConfig;
  private readonly ctx: BackendContext;
  private io: ModelIO | undefined;

  constructor(cfg: HttpConfig, ctx: BackendContext) {
    this.cfg = cfg;
    this.ctx = ctx;
    this.id = ctx.id;
    const remote = encodeURIComponent(cfg.remoteModel ?? ctx.model.name);
    this.url = `${cfg.url.replace(/\/+$/, '')}/v2/models/${remote}/infer`;
    if (!ctx.model.inputs)
      throw new HetserveError(
        'E_CONFIG_INVALID',
        `models[${ctx.model.name}].inputs: required by the http backend`,
        {
          field: 'models.inputs',
          value: undefined,
        },
      );
  }

  async start(): Promise<ModelIO> {
    const inputs = this.ctx.model.inputs!;
    this.io = {
      name: this.ctx.model.name,
      platform: 'hetserve_http',
      inputs,
      outputs: this.ctx.model.outputs ?? echoSpecs(inputs),
    };
    return this.io;
  }

  async infer(batch: BackendBatch): Promise<Tensor[]> {
    const body = JSON.stringify({
      inputs: batch.inputs.map((t) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
        data: Array.from(t.data as ArrayLike<number>, Number),
      })),
    });
    let last: unknown;
    for (let attempt = 0; attempt <= this.cfg.retries; attempt++) {
      if (batch.signal.aborted) break;
      try {
        return await this.once(body, batch);
      } catch (e) {
        last = e;
      }
    }
    if (last instanceof HetserveError) throw last;
    if (batch.signal.aborted)
      throw new HetserveError('E_BACKEND_TIMEOUT', `${this.id}: deadline passed while calling ${this.url}`);
    throw new HetserveError('E_BACKEND_FAILED', `${this.id}: ${(last as Error)?.message ?? 'failed'}`);
  }

  private async once(body: string, batch: BackendBatch): Promise<Tensor[]> {
    const signal = AbortSignal.any([batch.signal, AbortSignal.timeout(this.cfg.timeoutMs)]);
    let res;
    try {
      res = await loadUndici().request(this.url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...this.cfg.headers },
        signal,
        dispatcher: this.agent,
      });
    } catch (e) {
      const timedOut = signal.aborted;
      throw new HetserveError(
        timedOut ? 'E_BACKEND_TIMEOUT' : 'E_BACKEND_FAILED',
        `${this.id}: ${timedOut ? 'timed out calling' : 'cannot reach'} ${this.url} (${(e as Error).message})`,
      );
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (e) {
      throw new HetserveError(
        'E_BACKEND_FAILED',
        `${this.id}: reading the answer of ${this.url} failed (${(e as Error).message})`,
      );
    }
    if (res.statusCode !== 200)
      throw new HetserveError(
        'E_BACKEND_FAILED',
        `${this.id}: ${this.url} answered ${res.statusCode}: ${text.slice(0, 200)}`,
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new HetserveError('E_BACKEND_FAILED', `${this.id}: ${this.url} answered invalid JSON`);
    }
    const outs = (parsed as { outputs?: unknown }).outputs;
    if (!Array.isArray(outs))
      throw new HetserveError('E_BACKEND_FAILED', `${this.id}: answer has no outputs array`);
    return outs.map((o: { name?: unknown; datatype?: unknown; shape?: unknown; data?: unknown }) => {
      if (typeof o?.name !== 'string' || !Array.isArray(o.shape) || !Array.isArray(o.data))
        throw new HetserveError('E_BACKEND_FAILED', `${this.id}: malformed output tensor in the answer`);
      return {
        name: o.name,
        datatype: o.datatype as Tensor['datatype'],
        shape: o.shape as number[],
        data: (o.data as unknown[]).flat(Infinity) as number[],
      };
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
