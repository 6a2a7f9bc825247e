/**
 * Measured latency samples in a serverless profile: compacting what a sweep measured into the
 * profile's `samples` (written by the profiler), and looking them up for the simulator, which
 * draws batch latency from them instead of the fitted curves.
 */
import { HetserveError } from '../model/errors.ts';
import type { FunctionConfig } from '../model/plan.ts';
import {
  sampleSetKey,
  type LatencySampleSet,
  type SampleDraw,
  type ServerlessProfile,
} from '../model/profile.ts';
import type { Measurement } from './measure.ts';
import { dropLargest } from './stats.ts';

/** Most samples kept per configuration unless told otherwise (`--max-samples`). */
export const DEFAULT_MAX_SAMPLES = 200;

/** Significant digits a sample keeps (0.05% relative error: below timer noise, and compact). */
const SIGNIFICANT_DIGITS = 4;

/**
 * Samples (seconds) → the profile's `latencyMs`: the single largest dropped as the fits do (a
 * straggler or cold run, see stats.ts), sorted ascending, thinned to at most `max` by taking evenly
 * spaced quantiles (so the kept samples still span the distribution, tail included), converted to
 * ms and rounded to 4 significant digits. The order of measurement is not kept.
 */
export function compactLatencies(samplesS: readonly number[], max = DEFAULT_MAX_SAMPLES): number[] {
  if (!(Number.isInteger(max) && max >= 1))
    throw new HetserveError('E_INVALID_OPTION', `max-samples: must be an integer ≥ 1 (got ${max})`, {
      field: 'maxSamples',
      value: max,
    });
  const sorted = dropLargest(samplesS.filter((v) => Number.isFinite(v) && v > 0)).sort((a, b) => a - b);
  const n = sorted.length;
  const kept =
    n <= max ? sorted : Array.from({ length: max }, (_, i) => sorted[Math.floor(((i + 0.5) * n) / max)]!);
  return kept.map((s) => Number((s * 1000).toPrecision(SIGNIFICANT_DIGITS)));
}

export interface SampleSetOptions {
  /** Most samples kept per configuration, ≥ 1. Default 200 (`DEFAULT_MAX_SAMPLES`). */
  maxSamples?: number;
}

/**
 * CPU sample sets of a (vCPU × batch) sweep, one per measured configuration with usable samples,
 * sorted by batch then vCPU. Measurements without a vCPU are skipped.
 */
export function cpuSampleSets(
  measurements: readonly Measurement[],
  opts: SampleSetOptions = {},
): LatencySampleSet[] {
  const sets = new Map<string, { vcpu: number; batch: number; s: number[] }>();
  for (const m of measurements) {
    if (m.vcpu === undefined || m.samples.length === 0) continue;
    const key = `${m.vcpu}|${m.batch}`;
    const e = sets.get(key) ?? { vcpu: m.vcpu, batch: m.batch, s: [] };
    e.s.push(...m.samples);
    sets.set(key, e);
  }
  return [...sets.values()]
    .sort((a, b) => a.batch - b.batch || a.vcpu - b.vcpu)
    .map((e) => ({
      kind: 'cpu' as const,
      vcpu: e.vcpu,
      batch: e.batch,
      latencyMs: compactLatencies(e.s, opts.maxSamples),
    }))
    .filter((e) => e.latencyMs.length > 0);
}

/**
 * GPU sample sets of a batch sweep measured at the whole GPU (no `gpuMemoryGb`), one per batch
 * size; measurements of one batch size at several vCPU values are pooled, as the GPU fit pools them.
 */
export function gpuSampleSets(
  measurements: readonly Measurement[],
  opts: SampleSetOptions = {},
): LatencySampleSet[] {
  const byBatch = new Map<number, number[]>();
  for (const m of measurements) {
    if (m.samples.length === 0) continue;
    byBatch.set(m.batch, [...(byBatch.get(m.batch) ?? []), ...m.samples]);
  }
  return [...byBatch]
    .sort((a, b) => a[0] - b[0])
    .map(([batch, s]) => ({ kind: 'gpu' as const, batch, latencyMs: compactLatencies(s, opts.maxSamples) }))
    .filter((e) => e.latencyMs.length > 0);
}

/**
 * Where the simulator takes batch latency from:
 * - 'auto' (default): the profile's samples when it has some for the function kind and batch size
 *   (exact configuration, else the nearest measured one, scaled; see `sampleLookup`), else the model.
 * - 'samples': the same, but a batch with no samples for its kind and batch size is an error
 *   (E_NO_SAMPLES), as is a profile without samples.
 * - 'model': always the fitted avg/max model (normal draw, design §8.1); samples are ignored.
 */
export type LatencyMode = 'auto' | 'samples' | 'model';
export const LATENCY_MODES: readonly LatencyMode[] = ['auto', 'samples', 'model'];

export function parseLatencyMode(raw: string): LatencyMode {
  if ((LATENCY_MODES as readonly string[]).includes(raw)) return raw as LatencyMode;
  throw new HetserveError(
    'E_INVALID_OPTION',
    `latency: expected ${LATENCY_MODES.join(', ')} (got ${JSON.stringify(raw)})`,
    { field: 'latency', value: raw },
  );
}

/** What `sampleLookup` needs from the predictor: average batch latency, seconds. */
export type AverageLatency = (fn: FunctionConfig, batch: number) => number;

/**
 * The simulator's sample source for a profile (`ServerlessModel.samples`), or undefined when the
 * mode is 'model' or (in 'auto') the profile has no samples.
 *
 * For a function `fn` at batch size b:
 * 1. a set measured at exactly that configuration (same kind and b; same vCPU within 1e-9 for CPU,
 *    same GPU memory for GPU, absent = `gpu.sliceUnits`) is used as is: source 'samples';
 * 2. else the set of the same kind and b measured nearest to it (vCPU or GPU memory; a tie goes to
 *    the larger) is rescaled by avg(fn, b) / avg(measured configuration, b) of the fitted model:
 *    the measured spread, at the model's level for `fn` (source 'scaled-samples'). The planners'
 *    vCPU grid has a 0.05 step, so exact matches are rare with a coarse sweep;
 * 3. else undefined: the model's normal draw (mode 'auto'), or E_NO_SAMPLES (mode 'samples').
 */
export function sampleLookup(
  profile: ServerlessProfile,
  avgLatency: AverageLatency,
  mode: LatencyMode = 'auto',
): ((fn: FunctionConfig, batch: number) => SampleDraw | undefined) | undefined {
  if (mode === 'model') return undefined;
  const sets = profile.samples ?? [];
  if (sets.length === 0) {
    if (mode === 'auto') return undefined;
    throw new HetserveError(
      'E_NO_SAMPLES',
      `latency: profile ${JSON.stringify(profile.name)} has no latency samples`,
      {
        field: 'latency',
        value: mode,
        hint: 'profile with `hetserve profile onnx|http` (samples are written unless --no-samples), or use --latency auto|model',
      },
    );
  }
  const wholeGpu = profile.gpu?.sliceUnits;
  // Sets by kind and batch size, each with its resource amount (vCPU or GPU GB) and latencies in s.
  const index = new Map<string, { amount: number; latencies: number[] }[]>();
  for (const s of sets) {
    const amount = s.kind === 'cpu' ? s.vcpu : (s.gpuMemoryGb ?? wholeGpu);
    if (amount === undefined) continue; // a whole-GPU set without a gpu section matches no function
    const k = `${s.kind}|${s.batch}`;
    index.set(k, [...(index.get(k) ?? []), { amount, latencies: s.latencyMs.map((v) => v / 1000) }]);
  }
  const memo = new Map<string, SampleDraw | undefined>();
  return (fn, batch) => {
    const amount = fn.kind === 'cpu' ? fn.vcpu : fn.gpuMemoryGb;
    const key = `${fn.kind}|${amount}|${batch}`;
    if (memo.has(key)) return memo.get(key);
    const candidates = index.get(`${fn.kind}|${batch}`);
    let draw: SampleDraw | undefined;
    if (candidates) {
      let best = candidates[0]!;
      for (const c of candidates) {
        const d = Math.abs(c.amount - amount);
        const bd = Math.abs(best.amount - amount);
        if (d < bd - 1e-12 || (Math.abs(d - bd) <= 1e-12 && c.amount > best.amount)) best = c;
      }
      if (Math.abs(best.amount - amount) <= 1e-9) draw = { latencies: best.latencies, source: 'samples' };
      else {
        const measured: FunctionConfig =
          fn.kind === 'cpu' ? { ...fn, vcpu: best.amount } : { ...fn, gpuMemoryGb: best.amount };
        const ratio = avgLatency(fn, batch) / avgLatency(measured, batch);
        if (Number.isFinite(ratio) && ratio > 0)
          draw = { latencies: best.latencies.map((v) => v * ratio), source: 'scaled-samples' };
      }
    }
    if (draw === undefined && mode === 'samples')
      throw new HetserveError(
        'E_NO_SAMPLES',
        `latency: profile ${JSON.stringify(profile.name)} has no samples for a ${fn.kind} function at batch size ${batch} (sets: ${sets.map(sampleSetKey).join('; ')})`,
        {
          field: 'latency',
          value: `${fn.kind} batch=${batch}`,
          hint: 'profile that batch size (--batch), or use --latency auto to fall back to the model',
        },
      );
    memo.set(key, draw);
    return draw;
  };
}
