/**
 * Robust summaries of latency samples, as the design prescribes: drop the single largest sample
 * (usually a straggler or the first, cold run; kairos design §4.2/§8), then the mean is the average
 * latency and a high percentile is the "maximum" latency (harmonybatch design §4.1).
 */
import { mean, quantileSorted } from 'simple-statistics';

export interface SampleSummary {
  /** Samples measured (before dropping the largest). */
  n: number;
  /** Mean after dropping the single largest sample. */
  avg: number;
  /** The given percentile of the samples left after dropping the largest. */
  max: number;
  /** Median of the samples left. */
  median: number;
  /** Smallest sample. */
  min: number;
}

/** Samples with the single largest removed; with one sample, that sample is kept. */
export function dropLargest(samples: readonly number[]): number[] {
  if (samples.length <= 1) return [...samples];
  const sorted = [...samples].sort((a, b) => a - b);
  sorted.pop();
  return sorted;
}

/**
 * Summarise latency samples. `percentile` is in (0, 100]; 100 means the largest sample left after
 * the drop. Throws a RangeError on an empty list (callers check for usable points first).
 */
export function summarise(samples: readonly number[], percentile = 99): SampleSummary {
  if (samples.length === 0) throw new RangeError('no samples');
  const kept = dropLargest(samples);
  return {
    n: samples.length,
    avg: mean(kept),
    max: quantileSorted(kept, Math.min(1, percentile / 100)),
    median: quantileSorted(kept, 0.5),
    min: kept[0]!,
  };
}
