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
  /** Share of sent queries answered within the QoS. */
  qosMetRatio: number;
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
    for (const m of text.matchAll(
      /hetserve_cluster_queries_total\{model="[^"]+",type="([^"]+)",size_bucket="([^"]+)",[^}]*\} (\d+)/g,
    )) {
      served[m[1]] = (served[m[1]] ?? 0) + Number(m[3]);
      bySize[m[2]] = (bySize[m[2]] ?? 0) + Number(m[3]);
      total += Number(m[3]);
    }
    const share = (r: Record<string, number>) =>
      Object.fromEntries(Object.entries(r).map(([t, n]) => [t, total ? n / total : 0]));
    return {
      queries: rep.sent,
      qosMetRatio: rep.apps[0].sloAttainment ?? 0,
      servedByType: share(served),
      servedBySize: share(bySize),
      loopDelayP99Ms: lag.percentile(99) / 1e6,
    };
  } finally {
    await gw.close();
  }
}

export interface ServerlessAgreement {
  /** Share of requests not answered within their app's SLO. */
  sloMissRate: number;
  /** Mean batch size per plan group (apps joined with ','). */
  meanBatch: Record<string, number>;
  requests: number;
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
    serving: { mode: 'serverless', backend: { type: 'replay', latency: { profile: true } } },
    replan: { intervalS: 0, windowS: 60 },
    logLevel: 'silent',
  });
  const gw = new Gateway({ config, logger: pino({ level: 'silent' }) });
  const { url } = await gw.start();
  let live: ServerlessAgreement;
  const plan = gw.serverless('vgg').plan;
  try {
    const rep = await runLoad({ url, model: 'vgg', apps, durationS, connections: 256 });
    const text = await gw.metrics.registry.metrics();
    const sum = new Map<string, number>();
    const count = new Map<string, number>();
    for (const m of text.matchAll(
      /hetserve_batch_size_(sum|count)\{model="vgg",group="([^"]+)"\} ([\d.e+-]+)/g,
    ))
      (m[1] === 'sum' ? sum : count).set(m[2], Number(m[3]));
    const sent = rep.apps.reduce((a, x) => a + x.sent, 0);
    const inSlo = rep.apps.reduce((a, x) => a + (x.sloAttainment ?? 0) * x.sent, 0);
    live = {
      requests: sent,
      sloMissRate: sent ? 1 - inSlo / sent : 0,
      meanBatch: Object.fromEntries([...count].map(([g, n]) => [g, n ? sum.get(g)! / n : 0])),
    };
  } finally {
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
  });
  return {
    live,
    sim: {
      requests: r.requests,
      sloMissRate: r.sloViolationRate,
      meanBatch: Object.fromEntries(r.groups.map((g) => [g.group, g.meanBatchSize])),
    },
  };
}
