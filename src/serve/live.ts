/**
 * Live statistics: per-app request rates over a sliding window (for re-planning) and the
 * per-second series the dashboard draws (rate, latency percentiles vs SLO, batch sizes, cost per
 * request). Percentiles come from HDR histograms over the last `percentileWindowS` seconds.
 */
import type { Histogram } from 'hdr-histogram-js';
import { hdrHistogram } from '../simulate/metrics.ts';

/** Counts per whole second in a ring; rate = sum / covered seconds. */
export class RateMeter {
  private readonly slots: Float64Array;
  private readonly stamps: Float64Array;
  private readonly windowS: number;
  private readonly startedAt: number;

  constructor(windowS: number, now: number) {
    this.windowS = Math.max(1, Math.ceil(windowS));
    this.slots = new Float64Array(this.windowS);
    this.stamps = new Float64Array(this.windowS).fill(-1);
    this.startedAt = now;
  }

  add(now: number, n = 1): void {
    const sec = Math.floor(now);
    const i = sec % this.windowS;
    if (this.stamps[i] !== sec) {
      this.stamps[i] = sec;
      this.slots[i] = 0;
    }
    this.slots[i] += n;
  }

  /** Requests/s over the last windowS seconds (or since start, when younger than the window). */
  rate(now: number): number {
    const sec = Math.floor(now);
    let sum = 0;
    for (let i = 0; i < this.windowS; i++) {
      const s = this.stamps[i];
      if (s > sec - this.windowS && s <= sec) sum += this.slots[i];
    }
    const covered = Math.min(this.windowS, Math.max(1, now - this.startedAt));
    return sum / covered;
  }
}

export interface AppPoint {
  rps: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  sloMissRate: number | null;
}

export interface LivePoint {
  /** Seconds since the gateway started. */
  t: number;
  apps: Record<string, AppPoint>;
  /** Mean formed batch size per group key over the last second. */
  batch: Record<string, number | null>;
  /** Actual cost per request over the last second (null when idle). */
  costPerRequest: number | null;
  predictedCostPerRequest: number | null;
}

interface AppAcc {
  window: Histogram[];
  current: Histogram;
  count: number;
  misses: number;
}

const newHist = (): Histogram => hdrHistogram(2);

export class LiveSeries {
  readonly points: LivePoint[] = [];
  private readonly apps = new Map<string, AppAcc>();
  private readonly batches = new Map<string, { sum: number; n: number }>();
  private cost = 0;
  private costRequests = 0;
  private readonly maxPoints: number;
  private readonly percentileWindowS: number;
  predictedCost: number | null = null;

  constructor(opts: { maxPoints?: number; percentileWindowS?: number } = {}) {
    this.maxPoints = opts.maxPoints ?? 600;
    this.percentileWindowS = opts.percentileWindowS ?? 10;
  }

  private acc(app: string): AppAcc {
    let a = this.apps.get(app);
    if (!a) {
      a = { window: [], current: newHist(), count: 0, misses: 0 };
      this.apps.set(app, a);
    }
    return a;
  }

  /** A request answered after `latencyS` (failed ones count as misses with no latency). */
  request(app: string, latencyS: number | undefined, miss: boolean): void {
    const a = this.acc(app);
    a.count++;
    if (miss) a.misses++;
    if (latencyS !== undefined) a.current.recordValue(Math.max(1, Math.round(latencyS * 1e6)));
  }

  batch(group: string, size: number, cost: number): void {
    let b = this.batches.get(group);
    if (!b) this.batches.set(group, (b = { sum: 0, n: 0 }));
    b.sum += size;
    b.n++;
    this.cost += cost;
    this.costRequests += size;
  }

  /** Close the current second. */
  tick(t: number, groups: readonly string[]): LivePoint {
    const apps: Record<string, AppPoint> = {};
    for (const [name, a] of this.apps) {
      a.window.push(a.current);
      if (a.window.length > this.percentileWindowS) a.window.shift()!.destroy();
      const merged = newHist();
      for (const h of a.window) merged.add(h);
      const has = merged.totalCount > 0;
      apps[name] = {
        rps: a.count,
        p50: has ? merged.getValueAtPercentile(50) / 1e6 : null,
        p95: has ? merged.getValueAtPercentile(95) / 1e6 : null,
        p99: has ? merged.getValueAtPercentile(99) / 1e6 : null,
        sloMissRate: a.count > 0 ? a.misses / a.count : null,
      };
      merged.destroy();
      a.current = newHist();
      a.count = 0;
      a.misses = 0;
    }
    const batch: Record<string, number | null> = {};
    for (const g of groups) {
      const b = this.batches.get(g);
      batch[g] = b && b.n > 0 ? b.sum / b.n : null;
    }
    this.batches.clear();
    const p: LivePoint = {
      t,
      apps,
      batch,
      costPerRequest: this.costRequests > 0 ? this.cost / this.costRequests : null,
      predictedCostPerRequest: this.predictedCost,
    };
    this.cost = 0;
    this.costRequests = 0;
    this.points.push(p);
    if (this.points.length > this.maxPoints) this.points.shift();
    return p;
  }
}
