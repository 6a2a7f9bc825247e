/**
 * `replay` backend: waits a latency per batch (fixed, drawn from samples, or from the model's
 * serverless profile: its measured samples when it has some, else its avg/max model) and answers
 * without computing: outputs named like an input echo that input, other outputs are zeros. For
 * load tests, benchmarks and the Kairos data.
 */
import { seededRandom as prng } from '../../model/random.ts';
import { HetserveError } from '../../model/errors.ts';
import type { ModelIO, Tensor } from '../tensors.ts';
import { echoSpecs } from '../tensors.ts';
import type { Backend, BackendBatch, BackendContext } from './types.ts';
import { abortError } from './types.ts';
import type { BackendConfig } from '../../model/serve-config.ts';
import type { LatencyTable } from '../../predict/latency-table.ts';
import { drawModelLatency, latencySd } from '../../predict/latency.ts';
import { Rng } from '../../workload/rng.ts';

type ReplayConfig = Extract<BackendConfig, { type: 'replay' }>;

export class ReplayBackend implements Backend {
  readonly kind = 'replay';
  readonly id: string;
  private io: ModelIO | undefined;
  private closed = false;
  private readonly rand: () => number;
  /** Normal draws of the avg/max model (a stream of its own, so the other draws stay as they were). */
  private readonly normal: Rng;
  private readonly cfg: ReplayConfig;
  private readonly ctx: BackendContext;
  /** Factor on every latency (config `latencyScale`); tests change it mid-run to simulate drift. */
  latencyScale: number;

  constructor(cfg: ReplayConfig, ctx: BackendContext, seed = 1) {
    this.cfg = cfg;
    this.ctx = ctx;
    this.id = ctx.id;
    this.rand = prng(seed);
    this.normal = new Rng(seed);
    this.latencyScale = cfg.latencyScale ?? 1;
    if (!ctx.model.inputs)
      throw new HetserveError(
        'E_CONFIG_INVALID',
        `models[${ctx.model.name}].inputs: required by the replay backend`,
        {
          field: 'models.inputs',
          value: undefined,
        },
      );
    if (
      cfg.latency !== 0 &&
      typeof cfg.latency === 'object' &&
      'profile' in cfg.latency &&
      !ctx.predictLatency
    )
      throw new HetserveError('E_CONFIG_INVALID', 'backend.latency: {profile: true} needs serverless mode', {
        field: 'backend.latency',
        value: cfg.latency,
      });
  }

  /** Kairos samples: the table, and the fixed size (undefined: each batch's own query size). */
  private kairos: { table: LatencyTable; type: string; size: number | undefined } | undefined;

  async start(): Promise<ModelIO> {
    const l = this.cfg.latency;
    if (typeof l === 'object' && 'kairos' in l) {
      const { LatencyTable } = await import('../../predict/latency-table.ts');
      const table = LatencyTable.bundled(l.kairos.model);
      if (!table.has(l.kairos.type))
        throw new HetserveError(
          'E_CONFIG_INVALID',
          `backend.latency.kairos.type: ${JSON.stringify(l.kairos.type)} is not in ${l.kairos.model}; known: ${table.types.join(', ')}`,
          { field: 'backend.latency.kairos.type', value: l.kairos.type },
        );
      this.kairos = { table, type: l.kairos.type, size: l.kairos.querySize };
    }
    const inputs = this.ctx.model.inputs!;
    this.io = {
      name: this.ctx.model.name,
      platform: 'hetserve_replay',
      inputs,
      outputs: this.ctx.model.outputs ?? echoSpecs(inputs),
    };
    return this.io;
  }

  /**
   * Latency of one batch in ms. Profile: one of the measured samples for the group's function and
   * this size, uniformly (`samples: 'auto'` and the profile has some), else the simulator's avg/max
   * model: normal around avg whose 99th percentile is max (`drawModelLatency`).
   */
  latencyMs(size: number, querySize = size): number {
    const l = this.cfg.latency;
    if (typeof l === 'number') return l;
    if ('samplesMs' in l) return l.samplesMs[Math.floor(this.rand() * l.samplesMs.length)];
    if ('kairos' in l) {
      const k = this.kairos!;
      // Beyond the profiled sizes the largest one stands in (the table has no larger samples).
      const at = Math.min(k.size ?? querySize, k.table.maxSize);
      const xs = k.table.samplesMs(k.type, at);
      return xs[Math.floor(this.rand() * xs.length)];
    }
    const measured = l.samples === 'auto' ? this.ctx.latencySamples?.(size) : undefined;
    if (measured && measured.length > 0) return measured[Math.floor(this.rand() * measured.length)] * 1000;
    const { avg, max } = this.ctx.predictLatency!(size);
    return drawModelLatency(avg, latencySd(avg, max), () => this.normal.normal()) * 1000;
  }

  infer(batch: BackendBatch): Promise<Tensor[]> {
    if (this.closed || !this.io)
      return Promise.reject(new HetserveError('E_BACKEND_FAILED', `${this.id}: not running`));
    if (this.cfg.failRate > 0 && this.rand() < this.cfg.failRate)
      return Promise.reject(new HetserveError('E_BACKEND_FAILED', `${this.id}: injected failure`));
    const out = this.answer(batch);
    const ms = this.latencyMs(batch.size, batch.querySize) * this.latencyScale;
    if (ms <= 0) return Promise.resolve(out);
    return new Promise((resolve, reject) => {
      if (batch.signal.aborted) return reject(abortError(batch.signal));
      const start = performance.now();
      const onAbort = (): void => {
        clearTimeout(t);
        reject(abortError(batch.signal));
      };
      // A replayed latency is a floor. Node timers can fire a millisecond or more early against
      // performance.now (libuv measures from its cached loop time), so wait out what is left.
      const fire = (): void => {
        const left = ms - (performance.now() - start);
        if (left > 0) {
          t = setTimeout(fire, left);
          return;
        }
        batch.signal.removeEventListener('abort', onAbort);
        resolve(out);
      };
      let t = setTimeout(fire, ms);
      batch.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private answer(batch: BackendBatch): Tensor[] {
    const io = this.io!;
    return io.outputs.map((spec) => {
      const i = io.inputs.findIndex((s) => s.name === spec.name && s.datatype === spec.datatype);
      if (i >= 0) return { ...batch.inputs[i], name: spec.name };
      let n = batch.size;
      for (const d of spec.shape) n *= d;
      return {
        name: spec.name,
        datatype: spec.datatype,
        shape: [batch.size, ...spec.shape],
        data: new Float64Array(n),
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
