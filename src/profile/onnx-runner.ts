/**
 * Local ONNX runner: measures a model with onnxruntime-node over a (vCPU, batch size) grid.
 *
 * vCPU emulation (the honest version). A serverless CPU function with c vCPU is a container with a
 * CFS quota of c CPUs. We cannot set a quota from inside the process, so we run the model with
 * k = ⌈c⌉ intra-op threads (thread spinning off, so CPU time is work, not busy-waiting), measure the
 * wall time w and the process CPU time u of each run, and report the latency a quota of c CPUs
 * allows in the fluid limit:
 *   - k = 1: L = u / c   (one thread on a dedicated core takes u; a quota of c < 1 stretches it)
 *   - k > 1: L = max(w, u / c)   (the threads cannot finish before the quota has paid for u)
 * Limits: a real quota is enforced per period (100 ms by default), so short runs under a small quota
 * see a bursty tail that this model smooths away; runs with more threads than free cores measure
 * contention, not the function (reported in `notes`); memory bandwidth and caches are shared with
 * whatever else runs on the machine. `cpus` pins the process (and so ORT's threads) with taskset for
 * the sweep; pinning keeps the runs on chosen cores but cannot give them a core to themselves.
 */
import { seededRandom as prng } from '../model/random.ts';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import type * as OrtTypes from 'onnxruntime-node';
import { HetserveError, badField } from '../model/errors.ts';
import type { Configuration, Measurement, ProgressFn, SweepResult } from './measure.ts';

export interface OnnxProfileOptions {
  /** vCPU values to emulate (each > 0). Required. */
  vcpus: readonly number[];
  /** Batch sizes (positive integers). Required. */
  batches: readonly number[];
  /** Measured runs per configuration, after warm-up. Default 100 (the paper's protocol). */
  runs?: number;
  /** Warm-up runs per configuration, discarded. Default 3. */
  warmup?: number;
  /**
   * Sizes for symbolic dimensions other than the batch dimension, by name (e.g. `{ seq: 128 }`).
   * Default none: a model with another symbolic dimension is refused with a message naming it.
   */
  dims?: Readonly<Record<string, number>>;
  /** Seed of the generated input data. Default 1. */
  seed?: number;
  /**
   * `interleaved` (default): configurations take turns in blocks of `block` runs, so drift in
   * machine load hits all of them alike; each block starts with one extra, discarded run that
   * re-warms the caches the other configurations evicted (measured: without it, latencies read
   * ~10% high against a fresh single-configuration measurement). Warm-up runs come first.
   * `sequential`: all runs of one configuration, then the next (vCPU-major, batch ascending).
   */
  order?: 'interleaved' | 'sequential';
  /** Kept runs per block in `interleaved` order. Default 5. */
  block?: number;
  /**
   * CPU list to pin the profiling process to for the sweep (taskset syntax, e.g. "0" or "0-1"),
   * restored afterwards; keeps the runs off cores other work uses. Needs `taskset` (util-linux);
   * without it the sweep runs unpinned and `notes` says so. Default none (affinity unchanged).
   */
  cpus?: string;
  /** Called after every run. Default none. */
  onProgress?: ProgressFn;
}

/** Current CPU affinity list of this process ("0-1"), or undefined without taskset. */
function currentAffinity(): string | undefined {
  try {
    const out = execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8', stdio: 'pipe' });
    return out.trim().split(':').pop()!.trim();
  } catch {
    return undefined;
  }
}

/** Pin every thread of this process (ORT's threads inherit it when created later) to `cpus`. */
function setAffinity(cpus: string): void {
  try {
    execFileSync('taskset', ['-a', '-cp', cpus, String(process.pid)], { stdio: 'pipe' });
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? (e as Error).message).trim();
    throw badField('E_INVALID_OPTION', 'cpus', cpus, `taskset refused it (${stderr.split('\n')[0]})`, {
      hint: 'give CPUs this machine has, in taskset list syntax, e.g. 0 or 0-1',
    });
  }
}

/** One model input as the runner sees it. */
export interface InputSpec {
  name: string;
  type: string;
  /** Shape with the batch dimension as `null`. */
  shape: (number | null)[];
}

/** Element types we can generate data for. */
const GENERATABLE = new Set(['float32', 'float64', 'int32', 'int64', 'int8', 'uint8', 'bool', 'float16']);

async function loadOrt(): Promise<typeof OrtTypes> {
  return import('onnxruntime-node');
}

/** Read the model bytes, or a coded error naming the path. */
export function readModelFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new HetserveError(
      'E_FILE_NOT_FOUND',
      `model: cannot read ${JSON.stringify(path)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { field: 'model', value: path },
    );
  }
}

async function createSession(
  ort: typeof OrtTypes,
  bytes: Uint8Array,
  threads: number,
  what: string,
): Promise<OrtTypes.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Spinning threads burn CPU time while idle; off, CPU time measures work (see module comment).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (e) {
    throw new HetserveError(
      'E_NOT_ONNX',
      `model: ${what} is not a model onnxruntime can load (${(e as Error).message.split('\n')[0]})`,
      {
        field: 'model',
        value: what,
        hint: 'pass an .onnx file (hetserve profile synth mlp --out mlp.onnx makes one)',
      },
    );
  }
}

/**
 * Input specs from the model metadata. The first dimension of every input is the batch dimension:
 * it must be symbolic (or −1), otherwise E_FIXED_BATCH_DIM. Other symbolic dimensions take their
 * size from `dims`.
 */
export function inputSpecs(
  session: OrtTypes.InferenceSession,
  dims: Readonly<Record<string, number>> = {},
): InputSpec[] {
  return session.inputMetadata.map((meta) => {
    if (!meta.isTensor) {
      throw badField(
        'E_INVALID_INPUT',
        `input ${meta.name}`,
        meta.name,
        'only tensor inputs can be generated',
      );
    }
    const type = meta.type as string;
    if (!GENERATABLE.has(type)) {
      throw badField(
        'E_INVALID_INPUT',
        `input ${meta.name}`,
        type,
        `cannot generate data of this element type`,
      );
    }
    const shape = meta.shape;
    if (shape.length === 0) {
      throw badField(
        'E_FIXED_BATCH_DIM',
        `input ${meta.name}`,
        shape,
        'has no batch dimension (a scalar input)',
        {
          hint: 're-export the model with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={name: {0: "batch"}}))',
        },
      );
    }
    const first = shape[0];
    if (typeof first === 'number' && first > 0) {
      throw badField(
        'E_FIXED_BATCH_DIM',
        `input ${meta.name}`,
        shape,
        `batch dimension is fixed to ${first}`,
        {
          hint: 're-export the model with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={name: {0: "batch"}}))',
        },
      );
    }
    const rest = shape.slice(1).map((d, i) => {
      if (typeof d === 'number' && d > 0) return d;
      const key = typeof d === 'string' ? d : `${meta.name}:${i + 1}`;
      const size = dims[key];
      if (size === undefined) {
        throw badField(
          'E_INVALID_INPUT',
          `input ${meta.name}`,
          shape,
          `dimension ${i + 1} (${JSON.stringify(key)}) is symbolic; give its size`,
          { hint: `pass --dim ${key}=SIZE` },
        );
      }
      return size;
    });
    return { name: meta.name, type, shape: [null, ...rest] };
  });
}

/** Generate one input tensor for a batch size: floats in [−1, 1), integers in [0, 10) (valid ids). */
export function makeTensor(
  ort: typeof OrtTypes,
  spec: InputSpec,
  batch: number,
  seed: number,
): OrtTypes.Tensor {
  const dims = spec.shape.map((d) => d ?? batch);
  const n = dims.reduce((a, b) => a * b, 1);
  const rand = prng(seed);
  switch (spec.type) {
    case 'float32':
      return new ort.Tensor(
        'float32',
        Float32Array.from({ length: n }, () => rand() * 2 - 1),
        dims,
      );
    case 'float64':
      return new ort.Tensor(
        'float64',
        Float64Array.from({ length: n }, () => rand() * 2 - 1),
        dims,
      );
    case 'float16':
      // 0x3c00 = 1.0 in IEEE half precision; a constant is enough to exercise the kernels.
      return new ort.Tensor('float16', new Uint16Array(n).fill(0x3c00), dims);
    case 'int64':
      return new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rand() * 10))),
        dims,
      );
    case 'int32':
      return new ort.Tensor(
        'int32',
        Int32Array.from({ length: n }, () => Math.floor(rand() * 10)),
        dims,
      );
    case 'int8':
      return new ort.Tensor(
        'int8',
        Int8Array.from({ length: n }, () => Math.floor(rand() * 10)),
        dims,
      );
    case 'uint8':
      return new ort.Tensor(
        'uint8',
        Uint8Array.from({ length: n }, () => Math.floor(rand() * 10)),
        dims,
      );
    default:
      return new ort.Tensor(
        'bool',
        Uint8Array.from({ length: n }, () => (rand() < 0.5 ? 1 : 0)),
        dims,
      );
  }
}

function checkGrid(opts: OnnxProfileOptions): void {
  if (opts.vcpus.length === 0)
    throw badField('E_INVALID_OPTION', 'vcpu', opts.vcpus, 'give at least one vCPU value');
  for (const c of opts.vcpus) {
    if (!(Number.isFinite(c) && c > 0 && c <= 64))
      throw badField('E_INVALID_OPTION', 'vcpu', c, 'must be in (0, 64]');
  }
  if (opts.batches.length === 0)
    throw badField('E_INVALID_OPTION', 'batch', opts.batches, 'give at least one batch size');
  for (const b of opts.batches) {
    if (!(Number.isInteger(b) && b >= 1 && b <= 4096)) {
      throw badField('E_INVALID_OPTION', 'batch', b, 'must be an integer in 1..4096');
    }
  }
  const runs = opts.runs ?? 100;
  if (!(Number.isInteger(runs) && runs >= 2))
    throw badField('E_INVALID_OPTION', 'runs', runs, 'must be an integer >= 2');
  const warmup = opts.warmup ?? 3;
  if (!(Number.isInteger(warmup) && warmup >= 0)) {
    throw badField('E_INVALID_OPTION', 'warmup', warmup, 'must be an integer >= 0');
  }
}

/** Emulated latency of one run under a quota of `vcpu` CPUs (module comment). */
export function quotaLatency(wallS: number, cpuS: number, vcpu: number, threads: number): number {
  return threads === 1 ? cpuS / vcpu : Math.max(wallS, cpuS / vcpu);
}

/**
 * Profile an ONNX model (a path or its bytes) over vcpus × batches. One session per thread count
 * is shared by every configuration with that count; measurements come back vCPU-major, batch
 * ascending.
 */
export async function profileOnnx(
  model: string | Uint8Array,
  opts: OnnxProfileOptions,
): Promise<SweepResult> {
  checkGrid(opts);
  const ort = await loadOrt();
  const bytes = typeof model === 'string' ? readModelFile(model) : model;
  const what = typeof model === 'string' ? JSON.stringify(model) : 'the given bytes';
  const name = typeof model === 'string' ? basename(model).replace(/\.onnx$/i, '') : 'model';
  const runs = opts.runs ?? 100;
  const warmup = opts.warmup ?? 3;
  const seed = opts.seed ?? 1;
  const order = opts.order ?? 'interleaved';
  const block = opts.block ?? 5;
  if (!(Number.isInteger(block) && block >= 1))
    throw badField('E_INVALID_OPTION', 'block', block, 'must be an integer >= 1');
  const blocks = Math.ceil(runs / block);
  const notes: string[] = [];
  const vcpus = [...new Set(opts.vcpus)];
  const batches = [...new Set(opts.batches)].sort((a, b) => a - b);
  const perConfig = runs + warmup + (order === 'interleaved' ? blocks : 0);
  const total = vcpus.length * batches.length * perConfig;
  let done = 0;
  const started = performance.now();
  const sessions = new Map<number, OrtTypes.InferenceSession>();
  interface Slot {
    config: Configuration & { vcpu: number };
    threads: number;
    session: OrtTypes.InferenceSession;
    feeds: Record<string, OrtTypes.Tensor>;
    samples: number[];
    rssMb: number;
  }
  const slots: Slot[] = [];
  let restoreAffinity: string | undefined;
  if (opts.cpus !== undefined) {
    restoreAffinity = currentAffinity();
    if (restoreAffinity === undefined) notes.push('taskset not found: the sweep ran without CPU pinning');
    else setAffinity(opts.cpus);
  }
  // After pinning: the cores this sweep may use.
  const cores = availableParallelism();
  try {
    for (const vcpu of vcpus) {
      const threads = Math.max(1, Math.ceil(vcpu));
      if (threads > cores) {
        notes.push(
          `vCPU ${vcpu} needs ${threads} threads but only ${cores} cores are available: it measures contention`,
        );
      }
      let session = sessions.get(threads);
      if (!session) {
        session = await createSession(ort, bytes, threads, what);
        sessions.set(threads, session);
      }
      const specs = inputSpecs(session, opts.dims);
      for (const batch of batches) {
        const feeds: Record<string, OrtTypes.Tensor> = {};
        specs.forEach((s, i) => (feeds[s.name] = makeTensor(ort, s, batch, seed + i)));
        slots.push({ config: { vcpu, batch }, threads, session, feeds, samples: [], rssMb: 0 });
      }
    }
    const runOnce = async (slot: Slot, keep: boolean): Promise<void> => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await slot.session.run(slot.feeds);
      const wall = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      if (keep)
        slot.samples.push(quotaLatency(wall, (cpu.user + cpu.system) / 1e6, slot.config.vcpu, slot.threads));
      slot.rssMb = Math.max(slot.rssMb, process.memoryUsage().rss / 2 ** 20);
      opts.onProgress?.(++done, total, slot.config);
    };
    if (order === 'sequential') {
      for (const slot of slots) for (let r = 0; r < warmup + runs; r++) await runOnce(slot, r >= warmup);
    } else {
      for (const slot of slots) for (let r = 0; r < warmup; r++) await runOnce(slot, false);
      for (let k = 0; k < blocks; k++) {
        for (const slot of slots) {
          await runOnce(slot, false);
          const n = Math.min(block, runs - k * block);
          for (let r = 0; r < n; r++) await runOnce(slot, true);
        }
      }
    }
  } finally {
    for (const s of sessions.values()) await s.release();
    if (restoreAffinity !== undefined) setAffinity(restoreAffinity);
  }
  const measurements: Measurement[] = slots.map((s) => ({ ...s.config, samples: s.samples, rssMb: s.rssMb }));
  return {
    name,
    source: `hetserve profile onnx (onnxruntime-node ${ort.env.versions.common ?? ''} on ${cores} cores, vCPU emulated by CPU-time quota, ${runs} runs + ${warmup} warm-up per configuration)`,
    measurements,
    sweepSeconds: (performance.now() - started) / 1000,
    notes,
  };
}
