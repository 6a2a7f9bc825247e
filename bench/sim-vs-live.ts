/**
 * Simulation vs live, cluster mode: one configuration (rm2, 1 × g4dn.xlarge + 3 × r5n.large, QoS
 * 350 ms on p99, DeepRecSys-like sizes) run live (gateway, replay instances drawing the rm2 samples
 * at each query's size, the load generator at fixed Poisson rates) and in the simulator, at the same
 * grid of rates around the simulator's allowable rate. Prints the QoS-met ratio side by side per
 * rate, the allowable rate of each (the rate where the ratio crosses 99 %, interpolated on the
 * grid), and the share of queries the GPU type serves. Target: allowable rates within 10 %.
 * Then serverless mode: the README case's batch-size distribution, mean batch size and SLO-miss
 * rate (client-side, gateway-side and simulated) side by side, with the live run's calibration
 * off (the simulator runs the plan as planned).
 *
 *   npx tsx bench/sim-vs-live.ts [--seconds 20] [--quick] [--only cluster|serverless]
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { LatencyTable } from '../src/predict/latency-table.ts';
import { deepRecSysSizes } from '../src/workload/query-sizes.ts';
import { findAllowableThroughput } from '../src/simulate/cluster.ts';
import { distributorFactory } from '../src/simulate/distributors.ts';
import {
  largestShareGap,
  liveCase,
  serverlessReadmeCase,
  simulateCase,
  type AgreementCase,
} from '../src/serve/agreement.ts';
import { figure, finish } from './lib.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const seconds = Number(args.seconds ?? (args.quick ? 6 : 20));
if (args.only !== 'serverless') await clusterPart();
if (args.only !== 'cluster') await serverlessPart();
finish();

async function clusterPart(): Promise<void> {
  const base: AgreementCase = {
    model: 'rm2',
    instances: ['g4dn.xlarge', 'r5n.large', 'r5n.large', 'r5n.large'],
    baseType: 'g4dn.xlarge',
    qosMs: 350,
    sizes: deepRecSysSizes(),
    rateQps: 0,
  };
  const allow = findAllowableThroughput({
    table: LatencyTable.bundled(base.model),
    instances: base.instances,
    createDistributor: distributorFactory({ name: 'kairos', baseType: base.baseType }),
    qosMs: base.qosMs,
    sizes: base.sizes,
  });
  const A = allow.allowableQps;
  console.log(`simulator's allowable rate (bisection, seeds 1-3): ${A.toFixed(2)} q/s`);
  const grid = (args.quick ? [0.7, 1.0, 1.3] : [0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35]).map((f) => f * A);

  interface Point {
    rate: number;
    sim: number;
    live: number;
    liveQueries: number;
    simGpu: number;
    liveGpu: number;
  }
  const points: Point[] = [];
  console.log(
    'rate q/s  QoS-met sim  QoS-met live  (at the gateway)  GPU share sim  GPU share live  live queries  load',
  );
  for (const rate of grid) {
    const c = { ...base, rateQps: rate };
    const s = simulateCase(c, 20_000);
    const l = await liveCase(c, seconds);
    const p: Point = {
      rate,
      sim: s.qosMetRatio,
      live: l.qosMetRatio,
      liveQueries: l.queries,
      simGpu: s.servedByType['g4dn.xlarge'] ?? 0,
      liveGpu: l.servedByType['g4dn.xlarge'] ?? 0,
    };
    points.push(p);
    console.log(
      `${rate.toFixed(1).padStart(8)}  ${(p.sim * 100).toFixed(2).padStart(10)} %  ${(p.live * 100).toFixed(2).padStart(11)} %  ${((l.gatewayQosMetRatio ?? 0) * 100).toFixed(2).padStart(14)} %  ` +
        `${(p.simGpu * 100).toFixed(1).padStart(12)} %  ${(p.liveGpu * 100).toFixed(1).padStart(13)} %  ${String(p.liveQueries).padStart(12)}  ${loadavg()[0].toFixed(1)}`,
    );
  }

  /** The rate where the ratio crosses 99 %: linear between the last grid rate meeting it and the next. */
  function crossing(key: 'sim' | 'live'): number {
    let i = -1;
    for (let k = 0; k < points.length; k++) if (points[k][key] >= 0.99) i = k;
    if (i < 0) return 0;
    if (i === points.length - 1) return points[i].rate;
    const a = points[i];
    const b = points[i + 1];
    return a.rate + ((a[key] - 0.99) / (a[key] - b[key])) * (b.rate - a.rate);
  }
  const simA = crossing('sim');
  const liveA = crossing('live');
  console.log(
    `allowable rate (99 % within QoS, on the grid): simulated ${simA.toFixed(2)} q/s, live ${liveA.toFixed(2)} q/s, live/sim ${(liveA / simA).toFixed(3)}`,
  );
  const worst = Math.max(...points.map((p) => Math.abs(p.live - p.sim)));
  console.log(
    `largest QoS-met gap over the grid: ${(worst * 100).toFixed(2)} points; load average ${loadavg()[0].toFixed(1)}`,
  );
  figure('sim-vs-live', 'cluster allowable rate live / simulated', liveA / simA, 'ratio');
  figure('sim-vs-live', 'cluster allowable rate simulated', simA, 'q/s');
  figure('sim-vs-live', 'cluster allowable rate live', liveA, 'q/s');
  figure('sim-vs-live', 'cluster largest QoS-met gap', worst, 'ratio');
}

/**
 * Serverless mode: the README case (VGG19, four apps), live for `seconds` × 3 vs simulated 600 s;
 * then the same plan with every batch latency × 1.5 on both sides, where misses are frequent
 * enough to compare their rates.
 */
async function serverlessPart(): Promise<void> {
  await serverlessPoint(1);
  await serverlessPoint(1.5);
}

async function serverlessPoint(scale: number): Promise<void> {
  const sv = await serverlessReadmeCase(seconds * 3, 600, scale);
  const tag = scale === 1 ? '' : ` ×${scale}`;
  if (scale !== 1) console.log(`every batch latency × ${scale} (plan unchanged), live and simulated:`);
  const pct = (x: number) => `${(x * 100).toFixed(3)} %`;
  const n = sv.live.requests;
  const p = sv.sim.sloMissRate;
  console.log(
    `serverless README case: ${n} live requests (${seconds * 3} s), ${sv.sim.requests} simulated (600 s)`,
  );
  console.log(
    `  SLO-miss rate: live at the client ${pct(sv.live.sloMissRate)} (${Math.round(sv.live.sloMissRate * n)}), ` +
      `live at the gateway ${pct(sv.live.gatewaySloMissRate!)} (${Math.round(sv.live.gatewaySloMissRate! * n)}), ` +
      `simulated ${pct(p)} (${Math.round(p * sv.sim.requests)}); ` +
      `expected live misses at the simulated rate ${(p * n).toFixed(2)}`,
  );
  if (p > 0)
    console.log(
      `  a ±10 % (95 %) estimate of a ${pct(p)} rate needs ${Math.ceil((1.96 / 0.1) ** 2 * ((1 - p) / p)).toLocaleString('en-US')} requests on each side`,
    );
  for (const [g, b] of Object.entries(sv.sim.meanBatch)) {
    const l = sv.live.meanBatch[g] ?? 0;
    console.log(
      `  group ${g}: mean batch live ${l.toFixed(2)}, simulated ${b.toFixed(2)}, live/sim ${(l / b).toFixed(3)}`,
    );
    const bins = [
      ...new Set([...Object.keys(sv.live.batchShares[g] ?? {}), ...Object.keys(sv.sim.batchShares[g])]),
    ].sort((a, c) => Number(a) - Number(c));
    console.log(`    batch size ≤   ${bins.map((x) => x.padStart(6)).join('')}`);
    console.log(
      `    share live     ${bins.map((x) => (((sv.live.batchShares[g] ?? {})[x] ?? 0) * 100).toFixed(1).padStart(6)).join('')} %`,
    );
    console.log(
      `    share sim      ${bins.map((x) => ((sv.sim.batchShares[g][x] ?? 0) * 100).toFixed(1).padStart(6)).join('')} %`,
    );
    const gap = largestShareGap(sv.live.batchShares[g] ?? {}, sv.sim.batchShares[g]);
    console.log(`    largest share gap ${(gap * 100).toFixed(1)} points`);
    figure('sim-vs-live', `serverless mean batch live / simulated (${g})${tag}`, l / b, 'ratio');
    figure('sim-vs-live', `serverless batch share largest gap (${g})${tag}`, gap, 'ratio');
  }
  figure('sim-vs-live', `serverless SLO-miss rate live (client)${tag}`, sv.live.sloMissRate, 'ratio');
  figure(
    'sim-vs-live',
    `serverless SLO-miss rate live (gateway)${tag}`,
    sv.live.gatewaySloMissRate!,
    'ratio',
  );
  figure('sim-vs-live', `serverless SLO-miss rate simulated${tag}`, p, 'ratio');
  if (p > 0)
    console.log(
      `  SLO-miss rate live/sim: gateway ${(sv.live.gatewaySloMissRate! / p).toFixed(3)}, client ${(sv.live.sloMissRate / p).toFixed(3)}`,
    );
  console.log(`  load average ${loadavg()[0].toFixed(1)}`);
}
