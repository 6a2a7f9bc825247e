/**
 * `onnx` backend: onnxruntime-node sessions in worker threads, fed real batched tensors. A
 * serverless function's vCPU maps to `threadsPerWorker` intra-op threads (default min(2,
 * ceil(vcpu))) and `workers` sessions (default ceil(vcpu / threadsPerWorker)); each worker runs
 * one batch at a time, further batches queue. A batch whose deadline passes while running
 * terminates that worker (a hung session cannot be interrupted otherwise) and a fresh one is
 * started; a worker that dies fails its batch with E_BACKEND_FAILED and is replaced.
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
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  job: Job | undefined;
  dead: boolean;
}

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
    const slot: Slot = { worker, ready: Promise.resolve(), job: undefined, dead: false };
    slot.ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: { type: string; message?: string; inputs?: WireMeta[]; outputs?: WireMeta[] }) => {
        if (m.type === 'ready') {
          onMeta?.({ inputs: m.inputs!, outputs: m.outputs! });
          worker.off('message', onMsg);
          worker.on('message', (r) => this.onResult(slot, r));
          resolve();
          this.pump();
        } else if (m.type === 'error') {
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
        new HetserveError('E_BACKEND_FAILED', `${this.id}: worker exited while running a batch`),
      );
    if (!this.closed) {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
    }
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
      };
      job.onAbort = () => {
        const qi = this.queue.indexOf(job);
        if (qi >= 0) this.queue.splice(qi, 1);
        const slot = this.slots.find((s) => s.job === job);
        if (slot) {
          // A running ORT call cannot be cancelled: replace the worker so the batch stops using it.
          slot.job = undefined;
          slot.dead = true;
          void slot.worker.terminate();
          const i = this.slots.indexOf(slot);
          if (!this.closed && i >= 0) this.slots[i] = this.spawn();
        }
        job.reject(
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

  /** Test hook: terminate worker `i` as if the OS had killed it. */
  killWorker(i = 0): Promise<number> {
    return this.slots[i].worker.terminate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const j of this.queue.splice(0))
      this.settle(j, new HetserveError('E_BACKEND_FAILED', `${this.id}: closed`));
    await Promise.all(
      this.slots.map(async (s) => {
        s.dead = true;
        if (s.job) this.settle(s.job, new HetserveError('E_BACKEND_FAILED', `${this.id}: closed`));
        await s.worker.terminate();
      }),
    );
  }
}

interface WireMeta {
  name: string;
  type: string;
  shape: (number | string)[];
}
