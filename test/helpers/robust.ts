/**
 * Robust statistics for the tests that measure real latencies (profilers on a shared machine):
 * a scheduler hiccup or a burst of load from a neighbour is an outlier to drop, and the verdict of
 * several independent measurements is their median, so no single disturbed run decides it.
 */
import { median, medianAbsoluteDeviation } from 'simple-statistics';
import type { SweepResult } from '../../src/profile/measure.ts';

/** 1.4826 × MAD estimates the standard deviation of normal data. */
const MAD_TO_SD = 1.4826;

/**
 * The samples within `k` robust standard deviations (1.4826 × MAD) of their median, in their
 * order. A floor of 1 % of the median keeps near-constant data (MAD ≈ 0) from losing its tail.
 */
export function withoutOutliers(samples: readonly number[], k = 3.5): number[] {
  if (samples.length < 3) return [...samples];
  const m = median([...samples]);
  const spread = Math.max(MAD_TO_SD * medianAbsoluteDeviation([...samples]), 0.01 * Math.abs(m));
  return samples.filter((x) => Math.abs(x - m) <= k * spread);
}

/** The sweep with each configuration's outlying samples dropped. */
export function withoutOutlierSamples<S extends SweepResult>(sweep: S): S {
  return {
    ...sweep,
    measurements: sweep.measurements.map((m) => ({ ...m, samples: withoutOutliers(m.samples) })),
  };
}

/** Median of a non-empty list. */
export function medianOf(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of nothing');
  return median([...xs]);
}

/** Robust relative spread: 1.4826 × MAD / |median| (0 for constant data). */
export function relativeSpread(xs: readonly number[]): number {
  const m = medianOf(xs);
  return m === 0 ? 0 : (MAD_TO_SD * medianAbsoluteDeviation([...xs])) / Math.abs(m);
}
