/**
 * Benchmark output convention: human-readable lines first, then one JSON line per figure:
 * {"bench":…, "metric":…, "value":…, "unit":…}. Call `figure()` while measuring and `finish()`
 * at the end.
 */
import { cpus } from 'node:os';

export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
}

const figures: Figure[] = [];

export function figure(bench: string, metric: string, value: number, unit: string): void {
  figures.push({ bench, metric, value, unit });
}

/** Print the machine line and the JSON figures. */
export function finish(): void {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  console.log(`# machine: ${cpus().length} x ${cpu}, node ${process.version}`);
  for (const f of figures) console.log(JSON.stringify(f));
}

/** Median of a sample. */
export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** Percentile (nearest-rank on a sorted copy). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}
