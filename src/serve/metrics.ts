/**
 * Prometheus metrics of the gateway (prom-client, one registry per gateway so several can run in
 * one process). Label children are cached per app/group so the hot path does no label lookups.
 */
import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One label set of a histogram: what the hot path calls. */
export interface HistogramChild {
  observe(value: number): void;
}

/** One label set of a counter: what the hot path calls. */
export interface CounterChild {
  inc(value?: number): void;
}

/** The values prom-client 15 keeps per label set (its `hashMap`), read by the children below. */
interface HistogramValues {
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}
interface PromInternals<V> {
  hashMap: Record<string, V>;
  sortedLabelNames: string[];
  labelNames: string[];
  upperBounds?: readonly number[];
}

/** prom-client's own label-set key (undefined when its layout is not the one these children know). */
const hashObject = ((): ((labels: Record<string, string>, names: string[]) => string) | undefined => {
  try {
    const util = createRequire(import.meta.url)('prom-client/lib/util.js') as { hashObject?: unknown };
    return typeof util.hashObject === 'function' ? (util.hashObject as never) : undefined;
  } catch {
    return undefined;
  }
})();

/** The metric's internals and the key of one label set, when the layout is the known one. */
function internals<V>(
  metric: object,
  values: readonly string[],
): { raw: PromInternals<V>; key: string } | undefined {
  const raw = metric as Partial<PromInternals<V>>;
  if (
    !hashObject ||
    typeof raw.hashMap !== 'object' ||
    !Array.isArray(raw.sortedLabelNames) ||
    !Array.isArray(raw.labelNames) ||
    raw.labelNames.length !== values.length
  )
    return undefined;
  const labels: Record<string, string> = {};
  raw.labelNames.forEach((n, i) => (labels[n] = values[i]));
  return { raw: raw as PromInternals<V>, key: hashObject(labels, raw.sortedLabelNames) };
}

/**
 * A histogram's child for one label set that updates prom-client's values in place: its own
 * `labels(...).observe` re-validates and re-keys the labels on every call, which the per-request
 * path pays for. The first observation of the set (or one after a reset or remove), and any
 * value prom-client would refuse, go through prom-client itself, so the exposition is unchanged.
 */
export function histogramChild<T extends string>(h: Histogram<T>, ...values: string[]): HistogramChild {
  const child = h.labels(...values);
  const at = internals<HistogramValues>(h, values);
  const bounds = at?.raw.upperBounds;
  if (!at || !Array.isArray(bounds)) return child;
  const { raw, key } = at;
  const names = bounds.map(String);
  return {
    observe(v: number): void {
      const e = raw.hashMap[key];
      if (e === undefined || !Number.isFinite(v)) return child.observe(v);
      e.sum += v;
      e.count += 1;
      for (let i = 0; i < bounds.length; i++)
        if (v <= bounds[i]) {
          e.bucketValues[names[i]] += 1;
          break;
        }
    },
  };
}

/** A counter's child for one label set, updated in place (see `histogramChild`). */
export function counterChild<T extends string>(c: Counter<T>, ...values: string[]): CounterChild {
  const child = c.labels(...values);
  const at = internals<{ value: number }>(c, values);
  if (!at) return child;
  const { raw, key } = at;
  return {
    inc(v = 1): void {
      const e = raw.hashMap[key];
      if (e === undefined || !(v >= 0) || !Number.isFinite(v)) return child.inc(v);
      e.value += v;
    },
  };
}

const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.5, 2, 5,
];
const BATCH_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'app' | 'code'>;
  readonly sloMisses: Counter<'model' | 'app'>;
  readonly queueWait: Histogram<'model' | 'app'>;
  readonly e2e: Histogram<'model' | 'app'>;
  readonly batchExec: Histogram<'model' | 'group' | 'backend'>;
  readonly batchSize: Histogram<'model' | 'group'>;
  readonly batchFailures: Counter<'model' | 'group' | 'backend'>;
  readonly costActual: Counter<'model' | 'group'>;
  readonly costPredicted: Gauge<'model' | 'group'>;
  readonly planInfo: Gauge<'model' | 'group' | 'apps' | 'function' | 'batch_size'>;
  readonly planVersion: Gauge<'model'>;
  readonly appRate: Gauge<'model' | 'app'>;
  readonly inflight: Gauge<'model'>;
  readonly rejected: Counter<'model' | 'reason'>;

  constructor(defaultMetrics = true) {
    const r = [this.registry];
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'hetserve_' });
    this.requests = new Counter({
      name: 'hetserve_requests_total',
      help: 'Infer requests answered, by HTTP status',
      labelNames: ['model', 'app', 'code'],
      registers: r,
    });
    this.sloMisses = new Counter({
      name: 'hetserve_slo_misses_total',
      help: 'Requests whose end-to-end latency exceeded the app SLO (or that failed)',
      labelNames: ['model', 'app'],
      registers: r,
    });
    this.queueWait = new Histogram({
      name: 'hetserve_queue_wait_seconds',
      help: 'Arrival to batch release',
      labelNames: ['model', 'app'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.e2e = new Histogram({
      name: 'hetserve_e2e_latency_seconds',
      help: 'Arrival to answer, inside the gateway',
      labelNames: ['model', 'app'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.batchExec = new Histogram({
      name: 'hetserve_batch_exec_seconds',
      help: 'Backend time per batch',
      labelNames: ['model', 'group', 'backend'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.batchSize = new Histogram({
      name: 'hetserve_batch_size',
      help: 'Formed batch size',
      labelNames: ['model', 'group'],
      buckets: BATCH_BUCKETS,
      registers: r,
    });
    this.batchFailures = new Counter({
      name: 'hetserve_batch_failures_total',
      help: 'Backend attempts that failed or timed out',
      labelNames: ['model', 'group', 'backend'],
      registers: r,
    });
    this.costActual = new Counter({
      name: 'hetserve_cost_actual_total',
      help: 'Cost of executed batches under the price table (measured duration)',
      labelNames: ['model', 'group'],
      registers: r,
    });
    this.costPredicted = new Gauge({
      name: 'hetserve_cost_predicted_per_request',
      help: "Plan's predicted cost per request",
      labelNames: ['model', 'group'],
      registers: r,
    });
    this.planInfo = new Gauge({
      name: 'hetserve_plan_info',
      help: 'Current plan groups (value 1)',
      labelNames: ['model', 'group', 'apps', 'function', 'batch_size'],
      registers: r,
    });
    this.planVersion = new Gauge({
      name: 'hetserve_plan_version',
      help: 'Plan swaps since start',
      labelNames: ['model'],
      registers: r,
    });
    this.appRate = new Gauge({
      name: 'hetserve_app_rate_rps',
      help: 'Measured request rate over the sliding window',
      labelNames: ['model', 'app'],
      registers: r,
    });
    this.inflight = new Gauge({
      name: 'hetserve_inflight_requests',
      help: 'Accepted requests not yet answered',
      labelNames: ['model'],
      registers: r,
    });
    this.rejected = new Counter({
      name: 'hetserve_rejected_total',
      help: 'Requests refused before batching',
      labelNames: ['model', 'reason'],
      registers: r,
    });
  }
}
