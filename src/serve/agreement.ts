/**
 * One cluster configuration run twice, live and in the simulator, so their QoS-met ratios and
 * per-type shares can be compared (bench/sim-vs-live.ts, test/serve/sim-vs-live.test.ts). Live: an
 * in-process gateway whose replay instances draw the Kairos samples of their type at each query's
 * size, loaded open-loop by `runLoad` at a fixed Poisson rate with sizes from the mix. Simulated: the
 * same pool, distributor, table, QoS, rate and mix in virtual time.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { LatencyTable } from '../predict/latency-table.ts';
import type { QuerySizeDistribution } from '../workload/query-sizes.ts';
import { simulateCluster } from '../simulate/cluster.ts';
import { distributorFactory } from '../simulate/distributors.ts';
import { parseServeConfig } from '../model/serve-config.ts';
import { Gateway } from './gateway.ts';
import { runLoad } from './load.ts';

export interface AgreementCase {
  /** Bundled Kairos model (rm2, dien, wnd, mtwnd, ncf). */
  model: string;
  /** Instance types, one entry per instance. */
  instances: readonly string[];
  baseType: string;
  qosMs: number;
  sizes: QuerySizeDistribution;
  rateQps: number;
  seed?: number;
}

export interface AgreementRun {
  queries: number;
  /**
   * Share of sent queries answered within the QoS. Live: as the load generator measured it (from
   * each query's scheduled send to its answer, both sides' host delays included).
   */
  qosMetRatio: number;
  /**
   * Live only: the gateway's own share (`hetserve_cluster_queries_total{qos="met"}` over all
   * answered: arrival at the gateway to answer), the span the simulator models.
   */
  gatewayQosMetRatio?: number;
  /** Share of answered queries per instance type. */
  servedByType: Record<string, number>;
  /** Live only: share of answered queries per size bucket (cluster-metrics.ts `sizeBucket`). */
  servedBySize?: Record<string, number>;
  /**
   * Live only: p99 of the event loop's delay during the run, ms. The simulator has no host: on a
   * starved machine live latencies grow by about this much.
   */
  loopDelayP99Ms?: number;
}

/** The simulator's run: `queries` arrivals at the rate (no early stop: the ratio over all of them). */
export function simulateCase(c: AgreementCase, queries: number): AgreementRun {
  const table = LatencyTable.bundled(c.model);
  const r = simulateCluster({
    table,
    instances: c.instances,
    createDistributor: distributorFactory({ name: 'kairos', baseType: c.baseType }),
    qosMs: c.qosMs,
    rateQps: c.rateQps,
    queries,
    sizes: c.sizes,
    seed: c.seed ?? 1,
    earlyStop: false,
  });
  return { queries: r.queries, qosMetRatio: r.qosMetRatio, servedByType: r.servedByType };
}

/** The live run: a gateway on an ephemeral port for `durationS` seconds of open-loop load. */
export async function liveCase(c: AgreementCase, durationS: number): Promise<AgreementRun> {
  const config = parseServeConfig({
    listen: { host: '127.0.0.1', port: 0 },
    models: [{ name: c.model, inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] }],
    applications: [{ name: 'q', slo: 10 * (c.qosMs / 1000), rps: c.rateQps }],
    serving: {
      mode: 'cluster',
      qosMs: c.qosMs,
      baseType: c.baseType,
      kairos: { model: c.model },
      instances: c.instances.map((type, i) => ({
        name: `i${i}`,
        type,
        backend: { type: 'replay', latency: { kairos: { model: c.model, type } } },
      })),
    },
    replan: { intervalS: 0, windowS: Math.max(10, durationS) },
    limits: { hardDeadlineFactor: 10 },
    logLevel: 'silent',
  });
  const gw = new Gateway({ config, logger: pino({ level: 'silent' }) });
  const { url } = await gw.start();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  try {
    const rep = await runLoad({
      url,
      model: c.model,
      apps: [{ name: 'q', rps: c.rateQps, slo: c.qosMs / 1000 }],
      durationS,
      querySizes: c.sizes,
      seed: c.seed ?? 1,
      connections: 256,
    });
    const text = await gw.metrics.registry.metrics();
    lag.disable();
    const served: Record<string, number> = {};
    const bySize: Record<string, number> = {};
    let total = 0;
    let met = 0;
    for (const m of text.matchAll(
      /hetserve_cluster_queries_total\{model="[^"]+",type="([^"]+)",size_bucket="([^"]+)",qos="([^"]+)"\} (\d+)/g,
    )) {
      served[m[1]] = (served[m[1]] ?? 0) + Number(m[4]);
      bySize[m[2]] = (bySize[m[2]] ?? 0) + Number(m[4]);
      total += Number(m[4]);
      if (m[3] === 'met') met += Number(m[4]);
    }
    const share = (r: Record<string, number>) =>
      Object.fromEntries(Object.entries(r).map(([t, n]) => [t, total ? n / total : 0]));
    return {
      queries: rep.sent,
      qosMetRatio: rep.apps[0].sloAttainment ?? 0,
      gatewayQosMetRatio: total ? met / total : 0,
      servedByType: share(served),
      servedBySize: share(bySize),
      loopDelayP99Ms: lag.percentile(99) / 1e6,
    };
  } finally {
    await gw.close();
  }
}

export interface ServerlessAgreement {
  /**
   * Share of requests not answered within their app's SLO. Live: as the load generator measured
   * it (send to answer received, HTTP and both processes' delays included).
   */
  sloMissRate: number;
  /**
   * Live only: the gateway's own count (`hetserve_slo_misses_total`: arrival at the gateway to
   * answer), the span the simulator models.
   */
  gatewaySloMissRate?: number;
  /** Mean batch size per plan group (apps joined with ','). */
  meanBatch: Record<string, number>;
  /**
   * Share of batches per size bin of the gateway's `hetserve_batch_size` histogram (bin = its
   * upper bound `le`, e.g. "6" = sizes 5–6), per group.
   */
  batchShares: Record<string, Record<string, number>>;
  /** Live only: batches per group, the count the shares are proportions of. */
  batches?: Record<string, number>;
  /** Live only: p99 of this process's event-loop delay during the run, in ms. */
  loopDelayP99Ms?: number;
  requests: number;
}

/** Upper bounds of the gateway's batch-size histogram (src/serve/metrics.ts). */
const BATCH_BINS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64];

/** Binned shares from P(size = k) (index k). */
function binShares(dist: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  dist.forEach((p, k) => {
    if (k === 0 || p === 0) return;
    const le = BATCH_BINS.find((b) => k <= b) ?? Infinity;
    out[String(le)] = (out[String(le)] ?? 0) + p;
  });
  return out;
}

/** Largest difference between two binned distributions' shares (0–1). */
export function largestShareGap(a: Record<string, number>, b: Record<string, number>): number {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return Math.max(0, ...[...keys].map((k) => Math.abs((a[k] ?? 0) - (b[k] ?? 0))));
}

/**
 * The README case (VGG19, four apps at 5/5/5/15 req/s with SLOs 0.5–1 s) live and simulated: the
 * gateway plans it (serverless mode, replay functions drawing the profile's latencies), the load
 * generator sends the apps' Poisson rates for `durationS`; the simulator runs the same plan, profile
 * and rates for `simS` seconds.
 */
export async function serverlessReadmeCase(
  durationS: number,
  simS = 600,
  /**
   * Factor on every batch latency on both sides (live: the replay backend's `latencyScale`;
   * simulated: a drift from minute 0), the plan unchanged: above 1 the plan's slack is gone and
   * misses become frequent enough to compare in a short run. Default 1.
   */
  latencyScale = 1,
): Promise<{ live: ServerlessAgreement; sim: ServerlessAgreement }> {
  const apps = [
    { name: 'app0', slo: 0.5, rps: 5 },
    { name: 'app1', slo: 0.6, rps: 5 },
    { name: 'app2', slo: 0.8, rps: 5 },
    { name: 'app3', slo: 1.0, rps: 15 },
  ];
  const config = parseServeConfig({
    listen: { host: '127.0.0.1', port: 0 },
    models: [{ name: 'vgg', profile: 'VGG19', inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] }],
    applications: apps,
    serving: {
      mode: 'serverless',
      backend: { type: 'replay', latency: { profile: true }, latencyScale },
    },
    replan: { intervalS: 0, windowS: 60 },
    // The simulator runs the plan as planned: no refits of the latency model from live batches.
    calibration: { enabled: false },
    logLevel: 'silent',
  });
  const gw = new Gateway({ config, logger: pino({ level: 'silent' }) });
  const { url } = await gw.start();
  let live: ServerlessAgreement;
  const plan = gw.serverless('vgg').plan;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  try {
    const rep = await runLoad({ url, model: 'vgg', apps, durationS, connections: 256 });
    const text = await gw.metrics.registry.metrics();
    lag.disable();
    const sum = new Map<string, number>();
    const count = new Map<string, number>();
    for (const m of text.matchAll(
      /hetserve_batch_size_(sum|count)\{model="vgg",group="([^"]+)"\} ([\d.e+-]+)/g,
    ))
      (m[1] === 'sum' ? sum : count).set(m[2], Number(m[3]));
    const cumulative = new Map<string, [number, number][]>();
    for (const m of text.matchAll(
      /hetserve_batch_size_bucket\{le="([^"]+)",model="vgg",group="([^"]+)"\} (\d+)/g,
    )) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      cumulative.set(m[2], [...(cumulative.get(m[2]) ?? []), [le, Number(m[3])]]);
    }
    const batchShares: Record<string, Record<string, number>> = {};
    for (const [g, cum] of cumulative) {
      cum.sort((a, b) => a[0] - b[0]);
      const n = cum.at(-1)![1];
      batchShares[g] = {};
      cum.forEach(([le, c], i) => {
        const k = c - (i > 0 ? cum[i - 1][1] : 0);
        if (k > 0 && n > 0) batchShares[g][String(le)] = k / n;
      });
    }
    let answered = 0;
    let missed = 0;
    for (const m of text.matchAll(/hetserve_requests_total\{model="vgg",app="[^"]+",code="(\d+)"\} (\d+)/g))
      answered += Number(m[2]);
    for (const m of text.matchAll(/hetserve_slo_misses_total\{model="vgg",app="[^"]+"\} (\d+)/g))
      missed += Number(m[1]);
    const sent = rep.apps.reduce((a, x) => a + x.sent, 0);
    const inSlo = rep.apps.reduce((a, x) => a + (x.sloAttainment ?? 0) * x.sent, 0);
    live = {
      requests: sent,
      sloMissRate: sent ? 1 - inSlo / sent : 0,
      gatewaySloMissRate: answered ? missed / answered : 0,
      meanBatch: Object.fromEntries([...count].map(([g, n]) => [g, n ? sum.get(g)! / n : 0])),
      batchShares,
      batches: Object.fromEntries(count),
      loopDelayP99Ms: lag.percentile(99) / 1e6,
    };
  } finally {
    lag.disable();
    await gw.close();
  }
  const { createPredictor, resolveProfile } = await import('../predict/index.ts');
  const { sampleLookup } = await import('../profile/samples.ts');
  const { runConstantScenario } = await import('../simulate/scenarios.ts');
  const profile = resolveProfile('VGG19');
  const predictor = createPredictor(profile, {});
  const samples = sampleLookup(profile, (fn, b) => predictor.latency(fn, b).avg, 'auto');
  const r = runConstantScenario({
    apps,
    planFor: () => plan,
    predictor,
    rates: apps.map((a) => a.rps),
    durationS: simS,
    ...(samples ? { samples } : {}),
    ...(latencyScale !== 1
      ? {
          drift: [
            { kind: 'cpu' as const, factor: latencyScale, minute: 0 },
            { kind: 'gpu' as const, factor: latencyScale, minute: 0 },
          ],
        }
      : {}),
  });
  return {
    live,
    sim: {
      requests: r.requests,
      sloMissRate: r.sloViolationRate,
      meanBatch: Object.fromEntries(r.groups.map((g) => [g.group, g.meanBatchSize])),
      batchShares: Object.fromEntries(r.groups.map((g) => [g.group, binShares(g.batchSizeDistribution)])),
    },
  };
}
