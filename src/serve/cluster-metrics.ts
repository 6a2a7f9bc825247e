/**
 * Prometheus metrics of cluster mode: latency and QoS per instance type and query-size bucket, the
 * pool, per-type utilisation, cost per hour and re-allocations. Registered once per gateway
 * registry (several cluster models share them through the `model` label).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Upper edges of the size buckets (query sizes, items): 1-10, 11-100, 101-200, 201-500, 501-1000, >1000. */
export const SIZE_BUCKET_EDGES = [10, 100, 200, 500, 1000] as const;

export function sizeBucket(size: number): string {
  let lo = 1;
  for (const hi of SIZE_BUCKET_EDGES) {
    if (size <= hi) return `${lo}-${hi}`;
    lo = hi + 1;
  }
  return `>${SIZE_BUCKET_EDGES[SIZE_BUCKET_EDGES.length - 1]}`;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5];

export class ClusterMetrics {
  readonly latency: Histogram<'model' | 'type' | 'size_bucket'>;
  readonly queries: Counter<'model' | 'type' | 'size_bucket' | 'qos'>;
  readonly instances: Gauge<'model' | 'type'>;
  readonly utilisation: Gauge<'model' | 'type'>;
  readonly qosMetRatio: Gauge<'model'>;
  readonly costPerHour: Gauge<'model'>;
  readonly measuredRate: Gauge<'model'>;
  readonly reallocations: Counter<'model' | 'action'>;

  private constructor(r: Registry) {
    const registers = [r];
    this.latency = new Histogram({
      name: 'hetserve_cluster_query_seconds',
      help: 'Cluster mode: arrival to answer per instance type and query-size bucket',
      labelNames: ['model', 'type', 'size_bucket'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.queries = new Counter({
      name: 'hetserve_cluster_queries_total',
      help: 'Cluster mode: queries answered per instance type and size bucket; qos = met, missed or failed',
      labelNames: ['model', 'type', 'size_bucket', 'qos'],
      registers,
    });
    this.instances = new Gauge({
      name: 'hetserve_cluster_instances',
      help: 'Cluster mode: instances in the pool per type (draining ones excluded)',
      labelNames: ['model', 'type'],
      registers,
    });
    this.utilisation = new Gauge({
      name: 'hetserve_cluster_utilisation_ratio',
      help: 'Cluster mode: busy share of the instances of a type over the last tick',
      labelNames: ['model', 'type'],
      registers,
    });
    this.qosMetRatio = new Gauge({
      name: 'hetserve_cluster_qos_met_ratio',
      help: 'Cluster mode: share of queries answered within the QoS over the rate window',
      labelNames: ['model'],
      registers,
    });
    this.costPerHour = new Gauge({
      name: 'hetserve_cluster_cost_usd_per_hour',
      help: 'Cluster mode: hourly price of the pool (instances priced by the re-allocation pool or the EC2 table)',
      labelNames: ['model'],
      registers,
    });
    this.measuredRate = new Gauge({
      name: 'hetserve_cluster_rate_qps',
      help: 'Cluster mode: measured query rate over the rate window',
      labelNames: ['model'],
      registers,
    });
    this.reallocations = new Counter({
      name: 'hetserve_cluster_reallocations_total',
      help: 'Cluster mode: pool changes made by the re-allocation (grow or shrink)',
      labelNames: ['model', 'action'],
      registers,
    });
  }

  static readonly #byRegistry = new WeakMap<Registry, ClusterMetrics>();

  /** The cluster metrics of a registry (created on first use). */
  static of(r: Registry): ClusterMetrics {
    let m = ClusterMetrics.#byRegistry.get(r);
    if (!m) ClusterMetrics.#byRegistry.set(r, (m = new ClusterMetrics(r)));
    return m;
  }
}
