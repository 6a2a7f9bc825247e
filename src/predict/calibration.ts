/**
 * Online latency calibration: learn the batch latency the system really shows and correct the
 * serverless profile the planners read when it has drifted (noisy neighbours, a new model version,
 * another CPU generation, a shared GPU).
 *
 * Pure and deterministic: the caller feeds measured batch latencies with its own clock's time
 * (`observe`); the calibrator never reads a clock or draws a random number, so the simulator and
 * the live gateway run the same loop.
 *
 * Per (function configuration, batch size) it keeps a ring buffer of the last `window` latencies.
 * A configuration becomes *suspect* when the mean of its last `minSamples` latencies leaves the
 * profile's average by more than `tolerance` (or the tail quantile of the window leaves the
 * profile's maximum by more than `tailTolerance`) for `confirm` observations in a row. A suspect
 * configuration forgets its window and collects fresh samples; only if those still deviate is the
 * profile refitted (so a burst of noise costs a confirmation round, never a re-plan). The refit
 * runs the profiler's fitter (src/profile/fit.ts) on the measured points, each weighted
 * `measuredWeight` times, plus anchor points the current profile gives for configurations nobody
 * measured, scaled by the resource's drift ratio when `transfer` is on.
 */
import { quantile } from 'simple-statistics';
import { HetserveError } from '../model/errors.ts';
import type { FunctionConfig } from '../model/plan.ts';
import type { ExpCoef, Point } from '../profile/fit.ts';
import { fitExponential, fitLinear } from '../profile/fit.ts';
import type { ServerlessProfile } from '../model/profile.ts';
import { cpuLatency, gpuLatency, gpuLatencyWhole, type Latency } from './latency.ts';

export interface CalibrationOptions {
  /** Latencies kept per (configuration, batch size) (default 256). */
  window?: number;
  /** Samples the mean is taken over, and fresh samples a suspect configuration needs before a refit (default 30). */
  minSamples?: number;
  /** Samples the tail quantile needs before it is compared with the profile's maximum (default 100). */
  minTailSamples?: number;
  /** Largest tolerated |measured mean / predicted average − 1| (default 0.15). */
  tolerance?: number;
  /** Largest tolerated |measured tail / predicted maximum − 1| (default 0.2). */
  tailTolerance?: number;
  /** Quantile the profile's maximum stands for (default 0.99, design §8.1). */
  tailQuantile?: number;
  /** Observations in a row out of tolerance before a configuration is suspect (default 5). */
  confirm?: number;
  /** How many anchor points one measured point counts for in the refit (default 4). */
  measuredWeight?: number;
  /**
   * Scale the configurations of a resource kind nobody measured by the drift measured on that kind
   * (default true: drift such as a slower CPU generation hits every vCPU size).
   */
  transfer?: boolean;
  /** Predicted latency of a profile (default: the predictor's formulas, GPU max overhead 1.2). */
  predict?: (profile: ServerlessProfile, fn: FunctionConfig, batch: number) => Latency;
}

type Required_ = Required<Omit<CalibrationOptions, 'predict'>>;

export const CALIBRATION_DEFAULTS: Readonly<Required_> = {
  window: 256,
  minSamples: 30,
  minTailSamples: 100,
  tolerance: 0.15,
  tailTolerance: 0.2,
  tailQuantile: 0.99,
  confirm: 5,
  measuredWeight: 4,
  transfer: true,
};

/** One configuration's measured vs predicted latency (for dashboards and /metrics). */
export interface CalibrationKeyStats {
  key: string;
  kind: 'cpu' | 'gpu';
  /** vCPU (cpu) or GPU memory in GB (gpu). */
  size: number;
  batch: number;
  /** Latencies in the window. */
  samples: number;
  /** Mean of the last `minSamples` latencies, s (NaN before any). */
  mean: number;
  /** Tail quantile of the window, s (NaN below `minTailSamples`). */
  tail: number;
  predicted: Latency;
  /** mean / predicted.avg − 1 (NaN before any sample). */
  error: number;
  state: 'tracking' | 'suspect';
}

/** A refit: which configurations drove it, and what it changed. */
export interface CalibrationEvent {
  /** Version of the calibrated profile it produced (the uncalibrated profile is version 0). */
  version: number;
  /** Time of the observation that completed it (the caller's clock), s. */
  at: number;
  /** Configurations confirmed as drifted: measured vs predicted before the refit. */
  drifted: { key: string; measured: number; predicted: number; ratio: number; tail: boolean }[];
  /** Drift ratio per resource kind applied to unmeasured configurations (1 when `transfer` is off). */
  ratio: { cpu: number; gpu: number };
  /** Largest |prediction / measurement − 1| at the measured points before and after the refit. */
  errorBefore: number;
  errorAfter: number;
}

/** A calibrated profile with its version (stored on disk and served at the admin endpoint). */
export interface CalibratedProfile {
  version: number;
  at: number;
  profile: ServerlessProfile;
  event: CalibrationEvent | null;
}

interface KeyState {
  key: string;
  kind: 'cpu' | 'gpu';
  size: number;
  batch: number;
  fn: FunctionConfig;
  buf: Float64Array;
  head: number;
  count: number;
  /** Sum of the last min(count, minSamples) latencies. */
  recentSum: number;
  outside: number;
  state: 'tracking' | 'suspect';
  /** Whether the suspicion came from the tail (then the confirmation needs minTailSamples). */
  tailTrigger: boolean;
  predicted: Latency | undefined;
  tailCache: number;
  tailDirty: number;
}

export function calibrationKey(fn: FunctionConfig, batch: number): string {
  return fn.kind === 'cpu'
    ? `cpu vcpu=${fn.vcpu} batch=${batch}`
    : `gpu gpuMemoryGb=${fn.gpuMemoryGb} batch=${batch}`;
}

function defaultPredict(profile: ServerlessProfile, fn: FunctionConfig, batch: number): Latency {
  return fn.kind === 'cpu' ? cpuLatency(profile, fn.vcpu, batch) : gpuLatency(profile, fn.gpuMemoryGb, batch);
}

function checkOptions(o: CalibrationOptions): Required_ {
  const r = { ...CALIBRATION_DEFAULTS, ...o } as Required_;
  const bad = (field: string, value: unknown, want: string): never => {
    throw new HetserveError(
      'E_INVALID_OPTION',
      `calibration.${field}: ${want}, got ${JSON.stringify(value)}`,
      {
        field: `calibration.${field}`,
        value,
      },
    );
  };
  for (const f of ['window', 'minSamples', 'minTailSamples', 'confirm'] as const)
    if (!Number.isInteger(r[f]) || r[f] < 1) bad(f, r[f], 'must be an integer >= 1');
  if (r.minSamples > r.window) bad('minSamples', r.minSamples, `must be <= window (${r.window})`);
  if (r.minTailSamples > r.window) bad('minTailSamples', r.minTailSamples, `must be <= window (${r.window})`);
  for (const f of ['tolerance', 'tailTolerance'] as const)
    if (!(r[f] > 0 && r[f] < 10)) bad(f, r[f], 'must be a number in (0, 10)');
  if (!(r.tailQuantile > 0.5 && r.tailQuantile < 1))
    bad('tailQuantile', r.tailQuantile, 'must be in (0.5, 1)');
  if (!(r.measuredWeight >= 1 && Number.isInteger(r.measuredWeight)))
    bad('measuredWeight', r.measuredWeight, 'must be an integer >= 1');
  return r;
}

/** Largest vCPU a fitted curve must stay positive at (serverless platforms stop at 16). */
const MAX_VCPU = 16;

/** vCPU values where the current CPU curve anchors the refit (the fit range when the profile has one). */
function cpuAnchorGrid(profile: ServerlessProfile): number[] {
  const [lo, hi] = profile.cpu?.fitRange ?? [0.25, 4];
  const n = 8;
  return Array.from({ length: n }, (_, i) => +(lo + ((hi - lo) * i) / (n - 1)).toFixed(4));
}

export class LatencyCalibrator {
  private readonly o: Required_;
  private readonly predictFn: NonNullable<CalibrationOptions['predict']>;
  private readonly keys = new Map<string, KeyState>();
  private current: CalibratedProfile;
  /** Every refit so far, oldest first. */
  readonly events: CalibrationEvent[] = [];
  /** Configurations that became suspect and were cleared by their fresh samples (noise). */
  falseAlarms = 0;

  constructor(profile: ServerlessProfile, options: CalibrationOptions = {}) {
    this.o = checkOptions(options);
    this.predictFn = options.predict ?? defaultPredict;
    this.current = { version: 0, at: 0, profile, event: null };
  }

  /** The profile to plan with now (the input profile until the first refit). */
  get profile(): ServerlessProfile {
    return this.current.profile;
  }

  get version(): number {
    return this.current.version;
  }

  get calibrated(): CalibratedProfile {
    return this.current;
  }

  get options(): Readonly<Required_> {
    return this.o;
  }

  private state(fn: FunctionConfig, batch: number): KeyState {
    const key = calibrationKey(fn, batch);
    let s = this.keys.get(key);
    if (!s) {
      s = {
        key,
        kind: fn.kind,
        size: fn.kind === 'cpu' ? fn.vcpu : fn.gpuMemoryGb,
        batch,
        fn,
        buf: new Float64Array(this.o.window),
        head: 0,
        count: 0,
        recentSum: 0,
        outside: 0,
        state: 'tracking',
        tailTrigger: false,
        predicted: undefined,
        tailCache: NaN,
        tailDirty: 0,
      };
      this.keys.set(key, s);
    }
    return s;
  }

  private predicted(s: KeyState): Latency {
    if (!s.predicted) s.predicted = this.predictFn(this.current.profile, s.fn, s.batch);
    return s.predicted;
  }

  private recentMean(s: KeyState): number {
    return s.count === 0 ? NaN : s.recentSum / Math.min(s.count, this.o.minSamples);
  }

  private tail(s: KeyState): number {
    if (s.count < this.o.minTailSamples) return NaN;
    // Recomputed every tenth sample: a quantile over the window is the costly part of observe.
    if (s.tailDirty > 0 && (s.tailDirty >= 10 || Number.isNaN(s.tailCache))) {
      const n = Math.min(s.count, this.o.window);
      const xs = new Array<number>(n);
      for (let i = 0; i < n; i++) xs[i] = s.buf[(s.head - 1 - i + this.o.window) % this.o.window];
      s.tailCache = quantile(xs, this.o.tailQuantile);
      s.tailDirty = 0;
    }
    return s.tailCache;
  }

  private clear(s: KeyState): void {
    s.head = 0;
    s.count = 0;
    s.recentSum = 0;
    s.outside = 0;
    s.tailCache = NaN;
    s.tailDirty = 0;
  }

  private push(s: KeyState, x: number): void {
    const w = this.o.window;
    const m = this.o.minSamples;
    if (s.count >= m) s.recentSum -= s.buf[(s.head - m + w) % w];
    s.buf[s.head] = x;
    s.head = (s.head + 1) % w;
    s.count++;
    s.recentSum += x;
    s.tailDirty++;
  }

  /** Deviation of the mean and the tail from the prediction (NaN where there are too few samples). */
  private deviation(s: KeyState): { mean: number; tail: number } {
    const p = this.predicted(s);
    const mean = s.count >= this.o.minSamples ? this.recentMean(s) / p.avg - 1 : NaN;
    const t = this.tail(s);
    return { mean, tail: Number.isNaN(t) ? NaN : t / p.max - 1 };
  }

  /**
   * Record one batch's measured latency (seconds) on `fn` at `batch` requests, at time `t` of the
   * caller's clock. Returns the refit event when this observation completed one (the new profile
   * is then `profile`), else undefined. Non-finite or non-positive latencies are ignored.
   */
  observe(fn: FunctionConfig, batch: number, latencyS: number, t: number): CalibrationEvent | undefined {
    if (!(latencyS > 0) || !Number.isFinite(latencyS) || !(batch >= 1)) return undefined;
    const s = this.state(fn, batch);
    const p = this.predicted(s);
    // Unprofiled configuration (e.g. batch beyond the CPU table): nothing to compare with.
    if (!(p.avg > 0) || !(p.max > 0)) return undefined;
    this.push(s, latencyS);
    const o = this.o;
    const d = this.deviation(s);
    if (s.state === 'tracking') {
      const out = Math.abs(d.mean) > o.tolerance || Math.abs(d.tail) > o.tailTolerance;
      s.outside = out ? s.outside + 1 : 0;
      if (s.outside >= o.confirm) {
        s.state = 'suspect';
        s.tailTrigger = !(Math.abs(d.mean) > o.tolerance);
        // Judge the suspicion on fresh samples only: the window mixes the regimes before and after a change.
        this.clear(s);
      }
      return undefined;
    }
    const need = s.tailTrigger ? o.minTailSamples : o.minSamples;
    if (s.count < need) return undefined;
    const still = s.tailTrigger ? Math.abs(d.tail) > o.tailTolerance : Math.abs(d.mean) > o.tolerance;
    if (!still) {
      s.state = 'tracking';
      s.outside = 0;
      this.falseAlarms++;
      return undefined;
    }
    return this.refit(t);
  }

  /** Measured vs predicted for every configuration seen, sorted by key. */
  stats(): CalibrationKeyStats[] {
    return [...this.keys.values()]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((s) => {
        const predicted = this.predicted(s);
        const mean = this.recentMean(s);
        return {
          key: s.key,
          kind: s.kind,
          size: s.size,
          batch: s.batch,
          samples: Math.min(s.count, this.o.window),
          mean,
          tail: this.tail(s),
          predicted,
          error: mean / predicted.avg - 1,
          state: s.state,
        };
      });
  }

  /**
   * Refit the profile now from every configuration with `minSamples` samples (suspect ones with
   * fresh samples lead; the others anchor their own configuration at what they measure).
   */
  private refit(t: number): CalibrationEvent {
    const o = this.o;
    const base = this.current.profile;
    type M = { s: KeyState; mean: number; tail: number; p: Latency; drifted: boolean };
    const measured: M[] = [];
    for (const s of this.keys.values()) {
      if (s.count < o.minSamples) continue;
      const drifted = s.state === 'suspect';
      const dev = this.deviation(s);
      // A tracking configuration out of tolerance is left out: it is on its way to its own check.
      if (!drifted && (Math.abs(dev.mean) > o.tolerance || Math.abs(dev.tail) > o.tailTolerance)) continue;
      measured.push({ s, mean: this.recentMean(s), tail: this.tail(s), p: this.predicted(s), drifted });
    }
    const ratioOf = (kind: 'cpu' | 'gpu'): number => {
      if (!o.transfer) return 1;
      let w = 0;
      let l = 0;
      for (const m of measured)
        if (m.drifted && m.s.kind === kind) {
          const n = Math.min(m.s.count, o.window);
          w += n;
          l += n * Math.log(m.mean / m.p.avg);
        }
      return w > 0 ? Math.exp(l / w) : 1;
    };
    const ratio = { cpu: ratioOf('cpu'), gpu: ratioOf('gpu') };
    const next = structuredClone(base);
    delete next.samples; // measured before the drift: they no longer describe the system
    next.source = `${base.source ?? base.name}; calibrated v${this.current.version + 1}`;
    const w = o.measuredWeight;
    if (next.cpu && base.cpu) {
      const grid = cpuAnchorGrid(base);
      for (let b = 1; b <= base.cpu.avg.length; b++) {
        const here = measured.filter((m) => m.s.kind === 'cpu' && m.s.batch === b);
        for (const which of ['avg', 'max'] as const) {
          const coef = base.cpu[which][b - 1]!;
          const scaled: ExpCoef = [coef[0] * ratio.cpu, coef[1], coef[2] * ratio.cpu];
          if (here.length === 0) {
            next.cpu[which][b - 1] = scaled;
            continue;
          }
          const pts: Point[] = [];
          for (const m of here) {
            // Max: the measured tail where the window is long enough, else the predicted max moved by the mean's ratio.
            const y = which === 'avg' ? m.mean : Number.isNaN(m.tail) ? (m.p.max * m.mean) / m.p.avg : m.tail;
            for (let k = 0; k < w; k++) pts.push({ x: m.s.size, y });
          }
          for (const c of grid)
            if (!here.some((m) => Math.abs(m.s.size - c) < 0.05))
              pts.push({ x: c, y: scaled[0] * Math.exp(-c / scaled[1]) + scaled[2] });
          let fit: ExpCoef = scaled;
          try {
            fit = fitExponential(pts, { what: `calibration cpu.${which} b=${b}` });
          } catch {
            // A fit that does not converge keeps the scaled curve.
          }
          // The curve falls with vCPU towards γ: it must stay positive up to the largest function.
          next.cpu[which][b - 1] = fit[0] * Math.exp(-MAX_VCPU / fit[1]) + fit[2] > 0 ? fit : scaled;
        }
      }
    }
    if (next.gpu && base.gpu) {
      const here = measured.filter((m) => m.s.kind === 'gpu');
      if (here.length > 0 || ratio.gpu !== 1) {
        const maxB = Math.max(2, ...base.gpu.gpuMemThresholds, ...here.map((m) => m.s.batch));
        const pts: Point[] = [];
        // At a fixed GPU memory the latency is proportional to L0(b): move L0 by the measured ratio.
        for (const m of here)
          for (let k = 0; k < w; k++)
            pts.push({ x: m.s.batch, y: (gpuLatencyWhole(base, m.s.batch) * m.mean) / m.p.avg });
        for (let b = 1; b <= maxB; b++)
          if (!here.some((m) => m.s.batch === b)) pts.push({ x: b, y: gpuLatencyWhole(base, b) * ratio.gpu });
        try {
          const f = fitLinear(pts, 'calibration gpu');
          if (!(f.slope >= 0 && f.slope + f.intercept > 0)) throw new Error('not a latency line');
          next.gpu.xi1 = f.slope;
          next.gpu.xi2 = f.intercept;
        } catch {
          next.gpu.xi1 = base.gpu.xi1 * ratio.gpu;
          next.gpu.xi2 = base.gpu.xi2 * ratio.gpu;
        }
      }
    }
    const errAt = (prof: ServerlessProfile): number =>
      Math.max(0, ...measured.map((m) => Math.abs(this.predictFn(prof, m.s.fn, m.s.batch).avg / m.mean - 1)));
    const event: CalibrationEvent = {
      version: this.current.version + 1,
      at: t,
      drifted: measured
        .filter((m) => m.drifted)
        .map((m) => {
          const tail = m.s.tailTrigger;
          const measuredV = tail ? m.tail : m.mean;
          const predictedV = tail ? m.p.max : m.p.avg;
          return {
            key: m.s.key,
            measured: measuredV,
            predicted: predictedV,
            ratio: measuredV / predictedV,
            tail,
          };
        }),
      ratio,
      errorBefore: errAt(base),
      errorAfter: errAt(next),
    };
    this.current = { version: event.version, at: t, profile: next, event };
    this.events.push(event);
    for (const s of this.keys.values()) {
      s.predicted = undefined;
      s.outside = 0;
      if (s.state === 'suspect') s.state = 'tracking';
    }
    return event;
  }
}
