/**
 * Streaming metrics with memory independent of the number of requests: counters, an HDR histogram
 * of latencies (hdr-histogram-js, 3 significant digits, values recorded in microseconds), and a
 * batch-size histogram (one counter per size).
 */
import type { Histogram } from 'hdr-histogram-js';
import Int32HistogramModule from 'hdr-histogram-js/dist/Int32Histogram.js';

/**
 * An HDR histogram of integers in [1, 3.6e9] (µs: up to an hour) with `digits` significant digits:
 * what `hdr.build()` gives for these bounds (32-bit counts, auto-resize on). Built from the JS class
 * itself because the package's index also loads its WebAssembly build (pako, base64, a wasm loader:
 * ~300 kB of a command bundle and 30-40 ms of a cold start), which nothing here uses.
 */
export function hdrHistogram(digits: number): Histogram {
  const h = new Int32HistogramModule.default(1, 3_600_000_000, digits);
  h.autoResize = true;
  return h;
}

/** Latency histogram in seconds (stored as integer µs, 3 significant digits). */
export class LatencyHistogram {
  private readonly h: Histogram;
  constructor() {
    this.h = hdrHistogram(3);
  }
  record(seconds: number): void {
    const us = Math.round(seconds * 1e6);
    this.h.recordValue(us < 1 ? 1 : us > 3_600_000_000 ? 3_600_000_000 : us);
  }
  get count(): number {
    return this.h.totalCount;
  }
  /** Latency (seconds) at percentile p (0..100); NaN when empty. */
  percentile(p: number): number {
    return this.h.totalCount === 0 ? NaN : this.h.getValueAtPercentile(p) / 1e6;
  }
  mean(): number {
    return this.h.totalCount === 0 ? NaN : this.h.mean / 1e6;
  }
  add(other: LatencyHistogram): void {
    this.h.add(other.h);
  }
  /** Bytes the histogram holds (for the memory-bounded claim). */
  get estimatedFootprint(): number {
    return this.h.estimatedFootprintInBytes;
  }
}

/** Per-application serverless metrics. */
export class AppMetrics {
  requests = 0;
  violations = 0;
  /** Measured cost attributed to this app's requests (batch cost split equally over its requests). */
  cost = 0;
  /** Requests whose latency draw was non-positive (the prototype's "bad requests"). */
  bad = 0;
  readonly latency = new LatencyHistogram();
  /** Σ waiting time (s) from arrival to batch release. */
  waitSum = 0;

  constructor(
    readonly name: string,
    readonly slo: number,
  ) {}

  record(latencyS: number, waitS: number, cost: number): void {
    this.requests++;
    this.cost += cost;
    this.waitSum += waitS;
    this.latency.record(latencyS);
    if (latencyS > this.slo) this.violations++;
  }

  summary(): AppSummary {
    return {
      app: this.name,
      slo: this.slo,
      requests: this.requests,
      sloViolations: this.violations,
      sloViolationRate: this.requests ? this.violations / this.requests : 0,
      latencyP50: this.latency.percentile(50),
      latencyP95: this.latency.percentile(95),
      latencyP99: this.latency.percentile(99),
      meanWait: this.requests ? this.waitSum / this.requests : 0,
      cost: this.cost,
      costPerRequest: this.requests ? this.cost / this.requests : 0,
    };
  }
}

export interface AppSummary {
  app: string;
  slo: number;
  requests: number;
  sloViolations: number;
  sloViolationRate: number;
  /** Seconds. */
  latencyP50: number;
  latencyP95: number;
  latencyP99: number;
  meanWait: number;
  cost: number;
  costPerRequest: number;
}

/** Counts of released batches by size (index = size). Grows to the largest size seen. */
export class BatchSizeHistogram {
  counts: number[] = [];
  total = 0;
  record(size: number): void {
    while (this.counts.length <= size) this.counts.push(0);
    this.counts[size]++;
    this.total++;
  }
  /** Empirical P(batch size = k), k = 1..max. */
  distribution(): number[] {
    return this.counts.map((c) => (this.total ? c / this.total : 0));
  }
  mean(): number {
    let s = 0;
    this.counts.forEach((c, k) => (s += c * k));
    return this.total ? s / this.total : 0;
  }
}
