/**
 * Online latency calibration: learn the batch latency the system really shows and correct the
 * serverless profile the planners read when it has drifted (noisy neighbours, a new model version,
 * another CPU generation, a shared GPU).
 *
 * Pure and deterministic: the caller feeds measured batch latencies with its own clock's time
 * (`observe`); the calibrator never reads a clock or draws a random number, so the simulator and
 * the live gateway run the same loop.
 *
 * Estimates: per (function configuration, batch size), a ring buffer of the last `window`
 * latencies (mean and tail quantile, for dashboards). Detection pools the batch sizes of one
 * function configuration, each latency divided by the profile's prediction for its batch size, so
 * a group whose batches vary in size still gathers evidence quickly. A configuration becomes
 * *suspect* when the mean of its last `minSamples` ratios leaves 1 by more than `tolerance` (or the
 * tail quantile of latency / predicted maximum leaves 1 by more than `tailTolerance`) for `confirm`
 * observations in a row. A suspect configuration forgets its ratios and collects fresh ones; only
 * if those still deviate, by more than their own noise, is the profile refitted (a burst of noise
 * costs a confirmation round, never a re-plan), aimed at all of them. The refit runs the
 * profiler's fitter (src/profile/fit.ts) on the measured points, each weighted `measuredWeight`
 * times, plus anchor points the current profile gives for configurations nobody measured, scaled
 * by the resource's drift ratio when `transfer` is on. After a refit every configuration's ratios
 * start over against the new profile.
 */
import { quantile } from 'simple-statistics';
import { HetserveError } from '../model/errors.ts';
import type { FunctionConfig } from '../model/plan.ts';
import type { ExpCoef, Point } from './fit.ts';
import { expLatency, fitExponential, fitLinear } from './fit.ts';
import type { ServerlessProfile } from '../model/profile.ts';
import { cpuLatency, gpuLatency, gpuLatencyWhole, type Latency } from '../predict/latency.ts';
import { SortedWindow } from '../predict/sorted-window.ts';

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
   * Least time between two refits, s of the caller's clock (default 10). A drift confirmed sooner
   * waits, still suspect, and refits at its first confirmed observation after the gap: a backend
   * whose noise the profile's curves cannot follow would otherwise refit and re-plan every
   * `confirm` + `minSamples` batches. The gap doubles after each refit that comes within twice the
   * gap of the one before (at most 64 ×) and returns to this after a quiet spell.
   */
  minIntervalS?: number;
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
  minIntervalS: 10,
  transfer: true,
};

/** Refit events kept in memory (`events`); a long-lived gateway's disk log keeps them all. */
const KEEP_EVENTS = 1000;

/** Measured vs predicted latency of one (function configuration, batch size) (dashboards, /metrics). */
export interface CalibrationKeyStats {
  /** e.g. "cpu vcpu=1.55 batch=1". */
  key: string;
  /** Its function configuration, e.g. "cpu vcpu=1.55". */
  config: string;
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
  /** Detection state of its function configuration. */
  state: 'tracking' | 'suspect';
}

/** A refit: which configurations drove it, and what it changed. */
export interface CalibrationEvent {
  /** Version of the calibrated profile it produced (the uncalibrated profile is version 0). */
  version: number;
  /** Time of the observation that completed it (the caller's clock), s. */
  at: number;
  /**
   * Function configurations confirmed as drifted: measured / predicted (mean over fresh samples,
   * or the tail quantile / predicted maximum when the tail raised the suspicion).
   */
  drifted: { key: string; ratio: number; samples: number; tail: boolean }[];
  /** Drift ratio per resource kind applied to unmeasured configurations (1 when `transfer` is off). */
  ratio: { cpu: number; gpu: number };
  /** Largest |predicted / measured mean − 1| over the measured batch sizes before and after the refit. */
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

/** Fixed-size ring of numbers, newest last. */
class Ring {
  private readonly buf: Float64Array;
  private head = 0;
  count = 0;
  /** The window kept sorted too, for a ring whose quantile is read after every batch. */
  private readonly sorted: SortedWindow | undefined;
  constructor(size: number, sorted = false) {
    this.buf = new Float64Array(size);
    this.sorted = sorted ? new SortedWindow(size) : undefined;
  }
  push(x: number): void {
    this.sorted?.push(x);
    this.buf[this.head] = x;
    this.head = (this.head + 1) % this.buf.length;
    this.count++;
  }
  get size(): number {
    return Math.min(this.count, this.buf.length);
  }
  /** The i-th newest value (0 = newest). */
  back(i: number): number {
    return this.buf[(this.head - 1 - i + 2 * this.buf.length) % this.buf.length];
  }
  /** Mean of the newest k values (fewer when it holds fewer). */
  meanLast(k: number): number {
    const n = Math.min(k, this.size);
    let s = 0;
    for (let i = 0; i < n; i++) s += this.back(i);
    return n > 0 ? s / n : NaN;
  }
  quantile(q: number): number {
    if (this.sorted) return this.sorted.quantile(q);
    const n = this.size;
    const xs = new Array<number>(n);
    for (let i = 0; i < n; i++) xs[i] = this.back(i);
    return n > 0 ? quantile(xs, q) : NaN;
  }
  clear(): void {
    this.head = 0;
    this.count = 0;
    this.sorted?.clear();
  }
}

interface BatchState {
  batch: number;
  latencies: Ring;
  predicted: Latency | undefined;
}

interface ConfigState {
  key: string;
  kind: 'cpu' | 'gpu';
  size: number;
  fn: FunctionConfig;
  batches: Map<number, BatchState>;
  /** latency / predicted average, since the last refit (or suspicion). */
  rAvg: Ring;
  /** latency / predicted maximum, same samples. */
  rMax: Ring;
  /** Sum of the newest min(count, minSamples) entries of rAvg. */
  recentSum: number;
  /** Sum and sum of squares of every entry of rAvg (the samples since the last restart, up to `window`). */
  freshSum: number;
  freshSq: number;
  outside: number;
  state: 'tracking' | 'suspect';
  /** The tail raised the suspicion (its confirmation then needs minTailSamples). */
  tailTrigger: boolean;
  tailCache: number;
  tailDirty: number;
}

/** Identity of a function configuration, e.g. "cpu vcpu=1.55" or "gpu gpuMemoryGb=2". */
export function configKey(fn: FunctionConfig): string {
  return fn.kind === 'cpu' ? `cpu vcpu=${fn.vcpu}` : `gpu gpuMemoryGb=${fn.gpuMemoryGb}`;
}

export function calibrationKey(fn: FunctionConfig, batch: number): string {
  return `${configKey(fn)} batch=${batch}`;
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
  if (!(r.minIntervalS >= 0 && Number.isFinite(r.minIntervalS)))
    bad('minIntervalS', r.minIntervalS, 'must be a finite number >= 0');
  return r;
}

/**
 * Standard errors of the fresh mean beyond the tolerance that confirm a drift: on a backend
 * whose spread is far wider than the tolerance, a mean just outside it is noise.
 */
const SIGNIFICANCE = 3;

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
  private readonly configs = new Map<string, ConfigState>();
  private current: CalibratedProfile;
  /** The refits so far, oldest first (the newest 1000). */
  readonly events: CalibrationEvent[] = [];
  /** Suspicions cleared by their fresh samples (noise, not drift). */
  falseAlarms = 0;
  /**
   * Refits in a row that each came within twice the gap of the one before: the profile's curves
   * cannot follow this backend, so each one doubles the gap (up to 64 × minIntervalS).
   */
  private misfits = 0;

  /** Least time before the next refit, s: `minIntervalS`, doubled per misfit (at most 64 ×). */
  private refitGapS(): number {
    return this.o.minIntervalS * 2 ** Math.min(this.misfits, 6);
  }

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

  /** The last (function, batch size) observed and its states: a group's batches repeat them. */
  private last: { fn: FunctionConfig; batch: number; c: ConfigState; b: BatchState } | undefined;

  private config(fn: FunctionConfig): ConfigState {
    const key = configKey(fn);
    let c = this.configs.get(key);
    if (!c) {
      c = {
        key,
        kind: fn.kind,
        size: fn.kind === 'cpu' ? fn.vcpu : fn.gpuMemoryGb,
        fn,
        batches: new Map(),
        rAvg: new Ring(this.o.window),
        rMax: new Ring(this.o.window, true),
        recentSum: 0,
        freshSum: 0,
        freshSq: 0,
        outside: 0,
        state: 'tracking',
        tailTrigger: false,
        tailCache: NaN,
        tailDirty: 0,
      };
      this.configs.set(key, c);
    }
    return c;
  }

  private batchState(c: ConfigState, batch: number): BatchState {
    let b = c.batches.get(batch);
    if (!b) c.batches.set(batch, (b = { batch, latencies: new Ring(this.o.window), predicted: undefined }));
    return b;
  }

  private predicted(c: ConfigState, b: BatchState): Latency {
    if (!b.predicted) b.predicted = this.predictFn(this.current.profile, c.fn, b.batch);
    return b.predicted;
  }

  private restart(c: ConfigState): void {
    c.rAvg.clear();
    c.rMax.clear();
    c.recentSum = 0;
    c.freshSum = 0;
    c.freshSq = 0;
    c.outside = 0;
    c.tailCache = NaN;
    c.tailDirty = 0;
  }

  private recentRatio(c: ConfigState): number {
    return c.rAvg.count === 0 ? NaN : c.recentSum / Math.min(c.rAvg.count, this.o.minSamples);
  }

  /**
   * Mean of every ratio since the restart and its standard error: a suspicion is judged, and a
   * refit aimed, on all the fresh samples, not on the newest `minSamples` that happened to leave
   * the tolerance (aiming at those would move the profile by the noise and make the next window
   * deviate in turn).
   */
  private fresh(c: ConfigState): { mean: number; se: number } {
    const n = c.rAvg.size;
    const mean = c.freshSum / n;
    const v = n > 1 ? Math.max(0, (c.freshSq - n * mean * mean) / (n - 1)) : 0;
    return { mean, se: Math.sqrt(v / n) };
  }

  private tailRatio(c: ConfigState): number {
    if (c.rMax.count < this.o.minTailSamples) return NaN;
    // Recomputed every tenth sample: the quantile over the window is the costly part of observe.
    if (c.tailDirty > 0 && (c.tailDirty >= 10 || Number.isNaN(c.tailCache))) {
      c.tailCache = c.rMax.quantile(this.o.tailQuantile);
      c.tailDirty = 0;
    }
    return c.tailCache;
  }

  /**
   * The fresh tail leaves the tolerance beyond its noise: the quantile's distribution-free bounds
   * (SIGNIFICANCE standard errors of the rank) both lie outside it. A high quantile of a few
   * hundred samples rests on a handful of them; refitting to each estimate would chase them.
   */
  private tailConfirmed(c: ConfigState): boolean {
    const q = this.o.tailQuantile;
    const n = c.rMax.size;
    const m = SIGNIFICANCE * Math.sqrt((q * (1 - q)) / n);
    const lo = c.rMax.quantile(Math.max(0, q - m));
    if (lo > 1 + this.o.tailTolerance) return true;
    // Too few samples for an upper bound on the quantile (its rank's bound passes the largest):
    // a lower tail is confirmed only when even the largest of a full window stays below it.
    if (q + m >= 1) return n >= this.o.window && c.rMax.quantile(1) < 1 - this.o.tailTolerance;
    return c.rMax.quantile(q + m) < 1 - this.o.tailTolerance;
  }

  /** Deviation of the mean and the tail from the prediction (NaN where there are too few samples). */
  private deviation(c: ConfigState): { mean: number; tail: number } {
    const mean = c.rAvg.count >= this.o.minSamples ? this.recentRatio(c) - 1 : NaN;
    return { mean, tail: this.tailRatio(c) - 1 };
  }

  /**
   * Record one batch's measured latency (seconds) on `fn` at `batch` requests, at time `t` of the
   * caller's clock. Returns the refit event when this observation completed one (the new profile
   * is then `profile`), else undefined. Non-finite or non-positive latencies are ignored, and so
   * are configurations the profile does not cover.
   */
  observe(fn: FunctionConfig, batch: number, latencyS: number, t: number): CalibrationEvent | undefined {
    if (!(latencyS > 0) || !Number.isFinite(latencyS) || !Number.isInteger(batch) || batch < 1)
      return undefined;
    const hit = this.last !== undefined && this.last.fn === fn && this.last.batch === batch;
    const c = hit ? this.last!.c : this.config(fn);
    const b = hit ? this.last!.b : this.batchState(c, batch);
    if (!hit) this.last = { fn, batch, c, b };
    const p = this.predicted(c, b);
    if (!(p.avg > 0) || !(p.max > 0)) return undefined;
    const o = this.o;
    b.latencies.push(latencyS);
    const r = latencyS / p.avg;
    if (c.rAvg.count >= o.minSamples) c.recentSum -= c.rAvg.back(o.minSamples - 1);
    if (c.rAvg.count >= o.window) {
      const old = c.rAvg.back(o.window - 1);
      c.freshSum -= old;
      c.freshSq -= old * old;
    }
    c.rAvg.push(r);
    c.recentSum += r;
    c.freshSum += r;
    c.freshSq += r * r;
    c.rMax.push(latencyS / p.max);
    c.tailDirty++;
    const d = this.deviation(c);
    if (c.state === 'tracking') {
      const out = Math.abs(d.mean) > o.tolerance || Math.abs(d.tail) > o.tailTolerance;
      c.outside = out ? c.outside + 1 : 0;
      if (c.outside >= o.confirm) {
        c.state = 'suspect';
        c.tailTrigger = !(Math.abs(d.mean) > o.tolerance);
        // Judge the suspicion on fresh samples only: the window mixes the regimes before and after a change.
        this.restart(c);
      }
      return undefined;
    }
    if (c.rAvg.count < o.minSamples) return undefined;
    // The fresh mean confirms whatever raised the suspicion when it leaves the tolerance by more
    // than its noise (SIGNIFICANCE standard errors); one outside the tolerance but within its
    // noise waits for more fresh samples. A tail suspicion with a mean in tolerance waits for
    // enough fresh samples to judge the tail itself.
    const f = this.fresh(c);
    const off = Math.abs(f.mean - 1);
    if (off - SIGNIFICANCE * f.se > o.tolerance) c.tailTrigger = false;
    else if (!c.tailTrigger && off > o.tolerance) return undefined;
    else if (c.tailTrigger && c.rAvg.count < o.minTailSamples) return undefined;
    else if (c.tailTrigger && Math.abs(d.tail) > o.tailTolerance && !this.tailConfirmed(c)) return undefined;
    else if (!c.tailTrigger || !(Math.abs(d.tail) > o.tailTolerance)) {
      c.state = 'tracking';
      c.outside = 0;
      this.falseAlarms++;
      return undefined;
    }
    if (this.current.version > 0 && t - this.current.at < this.refitGapS()) return undefined;
    return this.refit(t);
  }

  /** Measured vs predicted for every (configuration, batch size) seen, sorted by key. */
  stats(): CalibrationKeyStats[] {
    const out: CalibrationKeyStats[] = [];
    for (const c of this.configs.values())
      for (const b of c.batches.values()) {
        const predicted = this.predicted(c, b);
        const mean = b.latencies.meanLast(this.o.minSamples);
        out.push({
          key: `${c.key} batch=${b.batch}`,
          config: c.key,
          kind: c.kind,
          size: c.size,
          batch: b.batch,
          samples: b.latencies.size,
          mean,
          tail: b.latencies.size >= this.o.minTailSamples ? b.latencies.quantile(this.o.tailQuantile) : NaN,
          predicted,
          error: mean / predicted.avg - 1,
          state: c.state,
        });
      }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Refit the profile from every configuration with `minSamples` ratios: suspect ones (fresh
   * samples) lead and set the resource's drift ratio; tracking ones within tolerance anchor their
   * own configuration at what they measure.
   */
  private refit(t: number): CalibrationEvent {
    const o = this.o;
    const base = this.current.profile;
    type M = { c: ConfigState; rAvg: number; rMax: number; drifted: boolean; batches: BatchState[] };
    const measured: M[] = [];
    for (const c of this.configs.values()) {
      if (c.rAvg.count < o.minSamples) continue;
      const drifted = c.state === 'suspect';
      const dev = this.deviation(c);
      // A tracking configuration out of tolerance is left out: it is on its way to its own check.
      if (!drifted && (Math.abs(dev.mean) > o.tolerance || Math.abs(dev.tail) > o.tailTolerance)) continue;
      // A drifted configuration is measured on all its fresh samples (see `fresh`).
      const rAvg = drifted ? this.fresh(c).mean : this.recentRatio(c);
      const tail = this.tailRatio(c);
      // Max: the measured tail where there are enough samples, else the mean's ratio (the profile's
      // max/avg shape); for a drifted configuration no less than the tail of its fresh samples
      // (at least minSamples): a wider spread than the profile's would otherwise be learnt only
      // by the next tail check, one more refit. Never less: a tail of a few dozen samples can
      // miss the rare slow batch, and too low a maximum costs SLOs.
      const rMax = !Number.isNaN(tail)
        ? tail
        : drifted
          ? Math.max(rAvg, c.rMax.quantile(o.tailQuantile))
          : rAvg;
      measured.push({
        c,
        rAvg,
        rMax,
        drifted,
        batches: [...c.batches.values()].filter((b) => b.latencies.count > 0),
      });
    }
    const ratioOf = (kind: 'cpu' | 'gpu', which: 'rAvg' | 'rMax' = 'rAvg'): number => {
      if (!o.transfer) return 1;
      let w = 0;
      let l = 0;
      for (const m of measured)
        if (m.drifted && m.c.kind === kind) {
          w += m.c.rAvg.size;
          l += m.c.rAvg.size * Math.log(m[which]);
        }
      return w > 0 ? Math.exp(l / w) : 1;
    };
    const ratio = { cpu: ratioOf('cpu'), gpu: ratioOf('gpu') };
    // The maximum curve moves by the measured tail's drift: anchors moved by the mean's would pull
    // the fitted curve away from the measured tail, and the next tail check would refit again.
    const cpuRatio = { avg: ratio.cpu, max: ratioOf('cpu', 'rMax') };
    const next = structuredClone(base);
    delete next.samples; // measured before the drift: they no longer describe the system
    next.source = `${base.source ?? base.name}; calibrated v${this.current.version + 1}`;
    const w = o.measuredWeight;
    if (next.cpu && base.cpu) {
      const grid = cpuAnchorGrid(base);
      for (let b = 1; b <= base.cpu.avg.length; b++) {
        const here = measured.filter((m) => m.c.kind === 'cpu' && m.batches.some((x) => x.batch === b));
        for (const which of ['avg', 'max'] as const) {
          const coef = base.cpu[which][b - 1]!;
          const r = cpuRatio[which];
          const scaled: ExpCoef = [coef[0] * r, coef[1], coef[2] * r];
          if (here.length === 0) {
            next.cpu[which][b - 1] = scaled;
            continue;
          }
          const pts: Point[] = [];
          let onScaled = true;
          for (const m of here) {
            const p = this.predictFn(base, m.c.fn, b);
            const y = which === 'avg' ? p.avg * m.rAvg : p.max * m.rMax;
            onScaled &&= Math.abs(expLatency(scaled, m.c.size) / y - 1) < 1e-9;
            for (let k = 0; k < w; k++) pts.push({ x: m.c.size, y });
          }
          // The moved curve already passes through every measured point (one configuration
          // measured, the usual case): nothing to fit, and no tens of ms of fitting on the answer path.
          if (onScaled) {
            next.cpu[which][b - 1] = scaled;
            continue;
          }
          for (const x of grid)
            if (!here.some((m) => Math.abs(m.c.size - x) < 0.05))
              pts.push({ x, y: scaled[0] * Math.exp(-x / scaled[1]) + scaled[2] });
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
      const here = measured.filter((m) => m.c.kind === 'gpu');
      if (here.length > 0 || ratio.gpu !== 1) {
        const seen = new Set(here.flatMap((m) => m.batches.map((x) => x.batch)));
        const maxB = Math.max(2, ...base.gpu.gpuMemThresholds, ...seen);
        const pts: Point[] = [];
        // At a fixed GPU memory the latency is proportional to L0(b): move L0 by the measured ratio.
        for (const m of here)
          for (const x of m.batches)
            for (let k = 0; k < w; k++) pts.push({ x: x.batch, y: gpuLatencyWhole(base, x.batch) * m.rAvg });
        for (let b = 1; b <= maxB; b++)
          if (!seen.has(b)) pts.push({ x: b, y: gpuLatencyWhole(base, b) * ratio.gpu });
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
    // Error at the measured points: the measured mean at a batch size is its prediction × the pooled ratio.
    const errAt = (prof: ServerlessProfile): number => {
      let e = 0;
      for (const m of measured)
        for (const x of m.batches) {
          const want = this.predictFn(base, m.c.fn, x.batch).avg * m.rAvg;
          e = Math.max(e, Math.abs(this.predictFn(prof, m.c.fn, x.batch).avg / want - 1));
        }
      return e;
    };
    const event: CalibrationEvent = {
      version: this.current.version + 1,
      at: t,
      drifted: measured
        .filter((m) => m.drifted)
        .map((m) => ({
          key: m.c.key,
          ratio: m.c.tailTrigger ? m.rMax : m.rAvg,
          samples: m.c.rAvg.size,
          tail: m.c.tailTrigger,
        })),
      ratio,
      errorBefore: errAt(base),
      errorAfter: errAt(next),
    };
    // A refit due again as soon as it may be: the curves keep missing this backend (noise wider
    // than `tolerance`); one after a quiet spell is a new drift.
    this.misfits =
      this.current.version > 0 && t - this.current.at < 2 * this.refitGapS() ? this.misfits + 1 : 0;
    this.current = { version: event.version, at: t, profile: next, event };
    this.events.push(event);
    if (this.events.length > KEEP_EVENTS) this.events.splice(0, this.events.length - KEEP_EVENTS);
    for (const c of this.configs.values()) {
      for (const b of c.batches.values()) b.predicted = undefined;
      this.restart(c);
      c.state = 'tracking';
    }
    return event;
  }
}
