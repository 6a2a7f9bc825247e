/**
 * `onnx` backend: onnxruntime-node sessions in worker threads, fed real batched tensors. A
 * serverless function's vCPU maps to `threadsPerWorker` intra-op threads (default min(2,
 * ceil(vcpu))) and `workers` sessions (default ceil(vcpu / threadsPerWorker)); each worker runs
 * one batch at a time, further batches queue.
 *
 * Supervision: a worker is never terminated while it loads or runs (ending the thread under a
 * running ONNX Runtime call aborts the whole process). A batch whose deadline passes while running
 * is answered E_BACKEND_TIMEOUT at once and its worker is left to finish (the late result is
 * dropped); a worker that dies fails its batch with E_BACKEND_FAILED (the service retries it on
 * another backend) and is replaced, with a back-off when it dies before becoming ready.
 */
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { HetserveError } from '../../model/errors.ts';
import type { BackendConfig, Datatype, ModelSource, TensorSpec } from '../../model/serve-config.ts';
import type { ModelIO, Tensor } from '../tensors.ts';
import type { Backend, BackendBatch, BackendContext } from './types.ts';

type OnnxConfig = Extract<BackendConfig, { type: 'onnx' }>;

const ORT_TYPE: Record<Datatype, string> = {
  FP32: 'float32',
  FP64: 'float64',
  INT8: 'int8',
  UINT8: 'uint8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  BOOL: 'bool',
};
const OIP_TYPE: Record<string, Datatype> = Object.fromEntries(
  Object.entries(ORT_TYPE).map(([k, v]) => [v, k as Datatype]),
) as Record<string, Datatype>;

interface Job {
  id: number;
  feeds: { name: string; type: string; dims: number[]; data: ArrayBufferView }[];
  resolve: (t: Tensor[]) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
  settled: boolean;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  /** The batch the worker holds: running, or abandoned after its deadline until the worker is done. */
  job: Job | undefined;
  /** Loaded its session (a worker that dies before that is respawned after a back-off). */
  up: boolean;
  dead: boolean;
}

/** Respawn delay after a worker died before becoming ready (a model that cannot load). */
const RESPAWN_BACKOFF_MS = 1000;
/** close(): how long running batches may finish before their workers are ended anyway. */
const CLOSE_GRACE_MS = 10_000;

/** Model bytes from a config source: the built-in synthetic model or a file (operator-supplied). */
export async function loadModelBytes(
  source: ModelSource | undefined,
  baseDir: string,
  model: string,
): Promise<Uint8Array> {
  if (!source)
    throw new HetserveError('E_CONFIG_INVALID', `models[${model}].source: required by the onnx backend`, {
      field: 'models.source',
      value: undefined,
    });
  if ('synthetic' in source) {
    const { buildSynthetic } = await import('../../onnx/synthetic-models.ts');
    return buildSynthetic(source.synthetic, { ...source.options, seed: source.seed }).bytes;
  }
  const path = resolvePath(baseDir, source.onnx);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new HetserveError(
      'E_FILE_NOT_FOUND',
      `models[${model}].source.onnx: cannot read ${JSON.stringify(path)} (${(e as NodeJS.ErrnoException).code})`,
      {
        field: 'models.source.onnx',
        value: source.onnx,
      },
    );
  }
}

export class OnnxBackend implements Backend {
  readonly kind = 'onnx';
  readonly id: string;
  readonly workers: number;
  readonly threadsPerWorker: number;
  private readonly ctx: BackendContext;
  private slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private bytes: Uint8Array | undefined;
  private io: ModelIO | undefined;
  private nextId = 1;
  private closed = false;
  /** Workers replaced after dying (metrics, tests). */
  restarts = 0;

  /** One batch per worker session at a time. */
  get concurrency(): number {
    return this.workers;
  }

  constructor(cfg: OnnxConfig, ctx: BackendContext) {
    this.ctx = ctx;
    this.id = ctx.id;
    const vcpu = ctx.fn?.vcpu ?? 1;
    this.threadsPerWorker = cfg.threadsPerWorker ?? Math.min(2, Math.max(1, Math.ceil(vcpu)));
    this.workers = cfg.workers ?? Math.max(1, Math.ceil(vcpu / this.threadsPerWorker));
  }

  async start(): Promise<ModelIO> {
    this.bytes = await loadModelBytes(this.ctx.model.source, this.ctx.baseDir, this.ctx.model.name);
    let meta: { inputs: WireMeta[]; outputs: WireMeta[] } | undefined;
    for (let i = 0; i < this.workers; i++) this.slots.push(this.spawn((m) => (meta ??= m)));
    await Promise.all(this.slots.map((s) => s.ready));
    const toSpecs = (ms: WireMeta[], what: string): TensorSpec[] =>
      ms.map((m) => {
        const datatype = OIP_TYPE[m.type];
        const dims = m.shape.slice(1);
        if (!datatype || dims.some((d) => typeof d !== 'number'))
          throw new HetserveError(
            'E_CONFIG_INVALID',
            `models[${this.ctx.model.name}]: ${what} ${m.name} has type ${m.type} / shape ${JSON.stringify(m.shape)}; only numeric tensors with a batch dimension first and fixed other dimensions are served`,
            {
              field: `models.${what}`,
              value: m.name,
            },
          );
        return { name: m.name, datatype, shape: dims as number[] };
      });
    this.io = {
      name: this.ctx.model.name,
      platform: 'onnxruntime_onnx',
      inputs: this.ctx.model.inputs ?? toSpecs(meta!.inputs, 'inputs'),
      outputs: this.ctx.model.outputs ?? toSpecs(meta!.outputs, 'outputs'),
    };
    return this.io;
  }

  private spawn(onMeta?: (m: { inputs: WireMeta[]; outputs: WireMeta[] }) => void): Slot {
    const worker = new Worker(new URL('./onnx-worker.mjs', import.meta.url));
    worker.unref();
    const slot: Slot = { worker, ready: Promise.resolve(), job: undefined, up: false, dead: false };
    slot.ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: { type: string; message?: string; inputs?: WireMeta[]; outputs?: WireMeta[] }) => {
        if (m.type === 'ready') {
          onMeta?.({ inputs: m.inputs!, outputs: m.outputs! });
          worker.off('message', onMsg);
          slot.up = true;
          worker.on('message', (r) => this.onResult(slot, r));
          resolve();
          this.pump();
        } else if (m.type === 'error') {
          // The load finished (with an error): ending the thread now is safe.
          void worker.terminate();
          reject(
            new HetserveError(
              'E_BACKEND_FAILED',
              `${this.id}: ONNX Runtime cannot load the model: ${m.message}`,
            ),
          );
        }
      };
      worker.on('message', onMsg);
      worker.once('error', (e) =>
        reject(new HetserveError('E_BACKEND_FAILED', `${this.id}: worker failed: ${e.message}`)),
      );
    });
    slot.ready.catch(() => undefined);
    worker.on('error', () => undefined);
    worker.on('exit', () => this.onExit(slot));
    worker.postMessage({ type: 'init', bytes: this.bytes, threads: this.threadsPerWorker });
    return slot;
  }

  private onExit(slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    const job = slot.job;
    slot.job = undefined;
    if (job)
      this.settle(
        job,
        new HetserveError(
          'E_BACKEND_FAILED',
          `${this.id}: worker exited while running a batch of ${job.feeds[0]?.dims[0] ?? '?'}; it is replaced`,
        ),
      );
    // Before start() succeeded a dead worker means the model cannot load: start() reports it.
    if (this.closed || !this.io) return;
    this.restarts++;
    const replace = (): void => {
      const i = this.slots.indexOf(slot);
      if (this.closed || i < 0) return;
      this.slots[i] = this.spawn();
      this.pump();
    };
    if (slot.up) replace();
    else setTimeout(replace, RESPAWN_BACKOFF_MS).unref();
  }

  private onResult(
    slot: Slot,
    m: {
      type: string;
      id: number;
      outputs?: { name: string; type: string; dims: number[]; data: ArrayLike<number> }[];
      message?: string;
    },
  ): void {
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    slot.job = undefined;
    if (job.settled) {
      // The batch was abandoned at its deadline; the worker is free again.
      this.pump();
      return;
    }
    if (m.type === 'result') {
      this.settle(
        job,
        undefined,
        m.outputs!.map((o) => ({
          name: o.name,
          datatype: OIP_TYPE[o.type] ?? 'FP32',
          shape: o.dims,
          data: o.data,
        })),
      );
    } else {
      this.settle(job, new HetserveError('E_BACKEND_FAILED', `${this.id}: ${m.message}`));
    }
    this.pump();
  }

  private settle(job: Job, err: unknown, out?: Tensor[]): void {
    if (job.settled) return;
    job.settled = true;
    job.signal.removeEventListener('abort', job.onAbort);
    if (err) job.reject(err);
    else job.resolve(out!);
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job || slot.dead) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      void slot.ready.then(
        () => {
          if (slot.job === job) slot.worker.postMessage({ type: 'run', id: job.id, feeds: job.feeds });
        },
        () => undefined,
      );
    }
  }

  infer(batch: BackendBatch): Promise<Tensor[]> {
    if (this.closed || !this.io)
      return Promise.reject(new HetserveError('E_BACKEND_FAILED', `${this.id}: not running`));
    const feeds = batch.inputs.map((t) => ({
      name: t.name,
      type: ORT_TYPE[t.datatype],
      dims: t.shape,
      data: t.data as unknown as ArrayBufferView,
    }));
    return new Promise<Tensor[]>((resolve, reject) => {
      if (batch.signal.aborted)
        return reject(
          new HetserveError('E_BACKEND_TIMEOUT', `${this.id}: deadline passed before the batch started`),
        );
      const job: Job = {
        id: this.nextId++,
        feeds,
        resolve,
        reject,
        signal: batch.signal,
        onAbort: () => undefined,
        settled: false,
      };
      job.onAbort = () => {
        const qi = this.queue.indexOf(job);
        if (qi >= 0) this.queue.splice(qi, 1);
        // A running ORT call cannot be cancelled, and ending its thread would abort the process:
        // the worker keeps the batch (slot.job) until it finishes, and its result is dropped.
        this.settle(
          job,
          new HetserveError(
            'E_BACKEND_TIMEOUT',
            `${this.id}: batch of ${batch.size} did not finish before its deadline`,
          ),
        );
      };
      batch.signal.addEventListener('abort', job.onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  /**
   * Fault injection (tests, soak benchmark): worker `i` dies as a crashed process would, at the
   * first point where that is safe: now when idle, else right after its running batch, leaving
   * that batch unanswered. Resolves when it has exited.
   */
  killWorker(i = 0): Promise<void> {
    const slot = this.slots[i];
    if (!slot || slot.dead) return Promise.resolve();
    const exited = new Promise<void>((r) => slot.worker.once('exit', () => r()));
    slot.worker.postMessage({ type: 'crash' });
    return exited;
  }

  /** Workers now (tests). */
  get liveWorkers(): number {
    return this.slots.filter((s) => !s.dead).length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const j of this.queue.splice(0))
      this.settle(j, new HetserveError('E_BACKEND_FAILED', `${this.id}: closed`));
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.job) this.settle(s.job, new HetserveError('E_BACKEND_FAILED', `${this.id}: closed`));
        // Let a loading or running worker reach a safe point before ending it (see the header).
        if (!s.dead && (s.job || !s.up)) await this.idle(s, CLOSE_GRACE_MS);
        s.dead = true;
        await s.worker.terminate();
      }),
    );
  }

  /** Resolves once the slot's worker holds no batch and is loaded (or died), or after `ms`. */
  private idle(s: Slot, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      const poll = setInterval(() => {
        if ((!s.job && s.up) || s.dead) done();
      }, 5);
      function done(): void {
        clearTimeout(t);
        clearInterval(poll);
        resolve();
      }
      s.worker.once('exit', done);
    });
  }
}

interface WireMeta {
  name: string;
  type: string;
  shape: (number | string)[];
}
