/**
 * Simulator benchmarks (issue 6 targets):
 * - serverless: simulated requests/s on one core (4 apps, 3 groups, batch manager + predictor);
 * - the 120-minute, four-app, four-model HarmonyBatch experiment (harmony, re-planned every minute);
 * - cluster: simulated queries/s with the Kairos matching on 16 instances, FCFS beside it;
 * - oracle: simulated allowable throughput of the top configurations by upper bound (worker threads);
 * - memory: live heap sampled during runs of 1 M and 4 M simulated requests (a forced GC every five
 *   simulated minutes, then heapUsed): streaming metrics must not grow with the request count.
 *   Needs `--expose-gc` (`npm run bench` passes it).
 * `BENCH_ORACLE_CONFIGS=331` measures the oracle on every feasible configuration (long on 2 cores).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createBatchManager } from '../src/dispatch/batch-manager.ts';
import type { Plan } from '../src/model/plan.ts';
import { allocate } from '../src/plan/cluster/allocate.ts';
import { LatencyTable } from '../src/predict/latency-table.ts';
import { deepRecSysSizes } from '../src/workload/query-sizes.ts';
import { plan as planApps } from '../src/plan/serverless/index.ts';
import { createPredictor, resolveProfile } from '../src/predict/index.ts';
import { expandCounts, simulateCluster } from '../src/simulate/cluster.ts';
import { distributorFactory } from '../src/simulate/distributors.ts';
import { predictorModel } from '../src/simulate/models.ts';
import { SimulationOracle } from '../src/simulate/oracle.ts';
import { slosFor } from '../src/experiments/reproduce-harmonybatch.ts';
import { Rng } from '../src/workload/rng.ts';
import { runTraceScenario } from '../src/simulate/scenarios.ts';
import { simulateServerless } from '../src/simulate/serverless.ts';
import { poissonArrivals, readTraces } from '../src/workload/arrivals.ts';
import { figure, finish } from './lib.ts';

const B = 'simulate';

// ── serverless throughput ────────────────────────────────────────────────────────────────────
const vgg = resolveProfile('VGG19');
const predictor = createPredictor(vgg, { prices: 'prototype-cny' });
const apps = [
  { name: 'a', slo: 0.3, rps: 100 },
  { name: 'b', slo: 0.5, rps: 200 },
  { name: 'c', slo: 0.8, rps: 300 },
  { name: 'd', slo: 1.0, rps: 400 },
];
const plan: Plan = planApps(apps, vgg, { algorithm: 'harmony', prices: 'prototype-cny' });
const runServerless = (durationS: number, seed: number, onSegment?: (segment: number) => void) =>
  simulateServerless({
    // Segments (and so onSegment) exist only with a re-planning hook; this one keeps the plan.
    ...(onSegment ? { onSegment, replan: () => null } : {}),
    apps,
    arrivals: poissonArrivals(
      apps.map((a) => a.rps),
      new Rng(seed),
      { end: durationS },
    ),
    plan,
    model: predictorModel(predictor),
    createBatchManager,
    durationS,
    seed,
  });
runServerless(200, 99); // warm-up
const rates: number[] = [];
for (let i = 0; i < 3; i++) {
  const r = runServerless(2000, i + 1);
  rates.push(r.requests / (r.wallMs / 1000));
}
rates.sort((a, b) => a - b);
const reqPerS = rates[1];
console.log(
  `serverless: ${(reqPerS / 1e6).toFixed(2)} M simulated requests/s (median of 3 runs of ~2 M requests; ${plan.groups.length} groups)`,
);
figure(B, 'serverless_requests_per_s', reqPerS, 'req/s');

// Memory: the live heap sampled while 1 M and 4 M requests are simulated, in this one process.
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('bench/simulate.ts: run with node --expose-gc (npm run bench does) to sample the heap');
  process.exit(2);
}
const heapDuring = (durationS: number): { peak: number; first: number; last: number; n: number } => {
  const samples: number[] = [];
  const sample = (): void => {
    gc();
    samples.push(process.memoryUsage().heapUsed);
  };
  sample();
  runServerless(durationS, 7, (segment) => {
    if (segment % 5 === 4) sample();
  });
  return {
    peak: Math.max(...samples),
    first: samples[1] ?? samples[0]!,
    last: samples.at(-1)!,
    n: samples.length,
  };
};
const h1 = heapDuring(1000);
const h4 = heapDuring(4000);
const mb = (x: number) => (x / 1e6).toFixed(1);
console.log(
  `memory (live heap after a forced GC every 5 simulated minutes): peak ${mb(h1.peak)} MB over 1 M requests (${h1.n} samples), ` +
    `${mb(h4.peak)} MB over 4 M (${h4.n} samples; ${mb(h4.first)} MB after 5 minutes, ${mb(h4.last)} MB at the end); ` +
    `peak ratio 4 M / 1 M ${(h4.peak / h1.peak).toFixed(2)}`,
);
figure(B, 'heap_peak_1M_requests_mb', h1.peak / 1e6, 'MB');
figure(B, 'heap_peak_4M_requests_mb', h4.peak / 1e6, 'MB');
figure(B, 'heap_peak_4M_over_1M', h4.peak / h1.peak, 'ratio');
figure(B, 'heap_growth_within_4M_run', h4.last / h4.first, 'ratio');

// ── the HarmonyBatch experiment: 120 min, 4 apps, 4 models (harmony) ─────────────────────────────
const traceDir = fileURLToPath(new URL('../data/harmonybatch/', import.meta.url));
const counts = readTraces(traceDir, ['app1', 'app2', 'app3', 'app4']);
let planMs = 0;
let requests = 0;
const t0 = performance.now();
for (const model of ['VGG19', 'Bert', 'GPT-2', 'VideoMAE']) {
  const profile = resolveProfile(model);
  const pr = createPredictor(profile, { prices: 'paper-usd' });
  const slos = slosFor(model);
  const r = runTraceScenario({
    apps: ['app1', 'app2', 'app3', 'app4'].map((name, i) => ({ name, slo: slos[i] })),
    counts,
    planFor: (xs) => planApps(xs, profile, { algorithm: 'harmony', prices: 'paper-usd' }),
    predictor: pr,
  });
  planMs += r.planningMs.total;
  requests += r.requests;
}
const totalS = (performance.now() - t0) / 1000;
// Absolute figures only: the prototype's real-time replay is not run here, so no ratio against it.
console.log(
  `HarmonyBatch experiment (120 min × 4 apps × 4 models, harmony): ${totalS.toFixed(2)} s total (${(planMs / 1000).toFixed(2)} s planning, ${requests} requests); ` +
    `${((4 * 120 * 60) / totalS).toFixed(0)} simulated seconds per second`,
);
figure(B, 'hb_experiment_total_s', totalS, 's');
figure(B, 'hb_experiment_planning_s', planMs / 1000, 's');
figure(B, 'hb_experiment_simulated_s_per_s', (4 * 120 * 60) / totalS, 'simulated s/s');

// ── cluster: Kairos matching on 16 instances, FCFS beside it ────────────────────────────────
const table = LatencyTable.bundled('rm2');
const sizes = deepRecSysSizes();
const types = ['g4dn.xlarge', 'c5n.2xlarge', 'r5n.large', 't3.xlarge'];
const inst16 = expandCounts({ 'g4dn.xlarge': 2, 'r5n.large': 14 }, types);
const clusterRate = (name: 'kairos' | 'fcfs', rate: number): number => {
  const xs: number[] = [];
  for (let s = 1; s <= 3; s++) {
    const r = simulateCluster({
      table,
      instances: inst16,
      createDistributor: distributorFactory({ name, baseType: 'g4dn.xlarge' }),
      qosMs: 350,
      rateQps: rate,
      sizes,
      seed: s,
      earlyStop: false,
    });
    xs.push(r.completed / (r.wallMs / 1000));
  }
  return xs.sort((a, b) => a - b)[1];
};
clusterRate('kairos', 100); // warm-up
const kq = clusterRate('kairos', 100);
const fq = clusterRate('fcfs', 100);
console.log(
  `cluster (rm2, 2×g4dn + 14×r5n, 100 q/s offered, 20k queries): Kairos ${(kq / 1e3).toFixed(1)} k queries/s, FCFS ${(fq / 1e3).toFixed(1)} k queries/s (Kairos/FCFS ${(kq / fq).toFixed(2)})`,
);
figure(B, 'cluster_kairos16_queries_per_s', kq, 'queries/s');
figure(B, 'cluster_fcfs16_queries_per_s', fq, 'queries/s');
// Near this pool's allowable rate (≈ 99.6 % within QoS) queues form and most matchings have
// several rows: the case the oracle's bisection spends its time in.
const kqHot = clusterRate('kairos', 150);
console.log(
  `cluster, same pool at 150 q/s offered (queues form): Kairos ${(kqHot / 1e3).toFixed(1)} k queries/s`,
);
figure(B, 'cluster_kairos16_150qps_queries_per_s', kqHot, 'queries/s');

// ── oracle ──────────────────────────────────────────────────────────────────────────────
const nOracle = Number(process.env['BENCH_ORACLE_CONFIGS'] ?? 10);
const oracle = new SimulationOracle({
  model: 'rm2',
  distributor: { name: 'kairos', baseType: 'g4dn.xlarge' },
  sizes,
  typeOrder: types,
});
const to = performance.now();
const alloc = await allocate({ model: 'rm2', oracle, oracleCandidates: nOracle });
const oracleS = (performance.now() - to) / 1000;
const evaluated = alloc.oracle!.ranked.length;
console.log(
  `oracle (rm2, Kairos distributor, 20k queries, 7 steps, 1 seed, ${availableParallelism()} workers): ${evaluated} configurations in ${oracleS.toFixed(1)} s ` +
    `(${(oracleS / evaluated).toFixed(2)} s each; 331 would take ≈ ${((oracleS / evaluated) * 331).toFixed(0)} s); best ${JSON.stringify(alloc.oracle!.ranked[0])}`,
);
figure(B, 'oracle_seconds_per_config', oracleS / evaluated, 's');
figure(B, 'oracle_331_configs_estimated_s', (oracleS / evaluated) * 331, 's');
finish();
