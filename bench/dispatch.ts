/**
 * Dispatch core speed.
 * 1. Batch manager: requests/s from submit to release, 4 groups, virtual time (so only the
 *    manager's own work is measured), for each policy, side by side with a naive batcher that arms
 *    one timer (and one closure) per request.
 * 2. Distributor: decision latency p50/p99 with 64 waiting queries and 4, 16, 64 instances
 *    (rm2 latency table, about half the instances busy), Kairos vs the baselines.
 * Usage: npm run bench -- dispatch   (BENCH_QUICK=1 for a short smoke run)
 */
import { createBatchManager } from '../src/dispatch/batch-manager.ts';
import {
  createFcfsDistributor,
  createKairosDistributor,
  createLeastFinishDistributor,
} from '../src/dispatch/distributor.ts';
import { edfPolicy, fixedDelayPolicy, harmonyBatchPolicy } from '../src/dispatch/policies.ts';
import { VirtualTimeSource } from '../src/dispatch/timers.ts';
import type { BatchPolicy, DispatchRequest, QueryDistributor } from '../src/dispatch/types.ts';
import type { TimerSource } from '../src/dispatch/clock.ts';
import { LatencyTable } from '../src/predict/latency-table.ts';
import type { Plan } from '../src/model/plan.ts';
import { figure, finish, percentile } from './lib.ts';

const QUICK = process.env['BENCH_QUICK'] === '1';
const N_REQ = QUICK ? 200_000 : 2_000_000;

// ── batch manager ──────────────────────────────────────────────────────────

const APPS = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8'];
const SLO = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
function plan(): Plan {
  const group = (apps: string[], batchSize: number) => ({
    apps,
    function: { kind: 'gpu' as const, gpuMemoryGb: 4, vcpu: 4 / 3, memoryGb: 4 },
    batchSize,
    timeouts: Object.fromEntries(apps.map((a) => [a, SLO[APPS.indexOf(a)]! / 4])),
    costPerRequest: 0,
    trafficShare: 0.25,
    weightedCost: 0,
    rps: 0,
    latency: { avg: 0.05, max: 0.08 },
    slack: {},
  });
  return {
    kind: 'serverless-plan',
    algorithm: 'bench',
    model: 'bench',
    priceTable: 'bench',
    currency: 'USD',
    compat: 'paper',
    totalCostPerRequest: 0,
    excluded: [],
    apps: APPS.map((name, i) => ({ name, slo: SLO[i]!, rps: 1 })),
    groups: [
      group(['a1', 'a2'], 4),
      group(['a3', 'a4'], 8),
      group(['a5', 'a6'], 16),
      group(['a7', 'a8'], 32),
    ],
  };
}

/** Requests at 20k req/s total (so some batches fill and some time out), built before timing. */
function makeRequests(n: number): DispatchRequest<null>[] {
  const out = new Array<DispatchRequest<null>>(n);
  let t = 0;
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    t += 1 / 20_000;
    const k = x % 8;
    out[i] = { id: i, app: APPS[k]!, arrival: t, deadline: t + SLO[k]!, payload: null };
  }
  return out;
}

interface Batcher {
  submit(r: DispatchRequest<null>): unknown;
}

/** Time submits, advancing virtual time every 256 requests (timers fire inside). Returns req/s. */
function drive(
  reqs: DispatchRequest<null>[],
  timers: VirtualTimeSource,
  b: Batcher,
  released: () => number,
): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i]!;
    if ((i & 255) === 0) timers.advanceTo(r.arrival);
    b.submit(r);
  }
  timers.runAll();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (released() !== reqs.length) throw new Error(`lost requests: ${released()} of ${reqs.length}`);
  return reqs.length / s;
}

function runManager(policy: BatchPolicy, reqs: DispatchRequest<null>[]): number {
  const timers = new VirtualTimeSource();
  let released = 0;
  const m = createBatchManager<null>({
    plan: plan(),
    timers,
    policy,
    onBatch: (b) => (released += b.requests.length),
  });
  return drive(reqs, timers, m, () => released);
}

/** The naive batcher users write: one buffer per group, one timer + closure per request. */
class NaiveBatcher implements Batcher {
  readonly #groupOf = new Map<
    string,
    { size: number; timeout: Record<string, number>; buf: DispatchRequest<null>[]; timers: number[] }
  >();
  constructor(
    p: Plan,
    private readonly timers: TimerSource,
    private readonly onBatch: (b: DispatchRequest<null>[]) => void,
  ) {
    for (const g of p.groups) {
      const st = {
        size: g.batchSize,
        timeout: g.timeouts,
        buf: [] as DispatchRequest<null>[],
        timers: [] as number[],
      };
      for (const a of g.apps) this.#groupOf.set(a, st);
    }
  }
  submit(r: DispatchRequest<null>): void {
    const g = this.#groupOf.get(r.app)!;
    g.buf.push(r);
    g.timers.push(this.timers.setTimer(r.arrival + g.timeout[r.app]!, () => this.#flush(g)));
    if (g.buf.length >= g.size) this.#flush(g);
  }
  #flush(g: { buf: DispatchRequest<null>[]; timers: number[] }): void {
    if (g.buf.length === 0) return;
    for (const id of g.timers) this.timers.clearTimer(id);
    g.timers = [];
    const b = g.buf;
    g.buf = [];
    this.onBatch(b);
  }
}

function runNaive(reqs: DispatchRequest<null>[]): number {
  const timers = new VirtualTimeSource();
  let released = 0;
  const b = new NaiveBatcher(plan(), timers, (x) => (released += x.length));
  return drive(reqs, timers, b, () => released);
}

const reqs = makeRequests(N_REQ);
const policies: [string, BatchPolicy][] = [
  ['harmony', harmonyBatchPolicy],
  ['fixed-delay', fixedDelayPolicy()],
  ['edf', edfPolicy()],
];
// Warm-up, then best of 3 (the first runs pay for JIT).
runManager(harmonyBatchPolicy, reqs.slice(0, 200_000));
runNaive(reqs.slice(0, 200_000));
const best = (f: () => number) => Math.max(f(), f(), f());
const naive = best(() => runNaive(reqs));
console.log(`batch manager, 4 groups, ${N_REQ} requests, virtual time`);
console.log(`  naive (timer per request): ${(naive / 1e6).toFixed(2)} M req/s`);
figure('dispatch', 'batch_manager_naive_req_per_s', Math.round(naive), 'req/s');
for (const [name, p] of policies) {
  const rps = best(() => runManager(p, reqs));
  console.log(`  ${name.padEnd(24)} ${(rps / 1e6).toFixed(2)} M req/s  (${(rps / naive).toFixed(2)}x naive)`);
  figure('dispatch', `batch_manager_${name}_req_per_s`, Math.round(rps), 'req/s');
  if (name === 'harmony')
    figure('dispatch', 'batch_manager_harmony_vs_naive', Number((rps / naive).toFixed(2)), 'x');
}

// ── distributor ───────────────────────────────────────────────────────────

const table = LatencyTable.bundled('rm2');
const estimateMs = (type: string, size: number) => table.meanMs(type, size);
const QOS_S = 0.35;
const ITER = QUICK ? 500 : 5000;
const WARM = QUICK ? 100 : 1000;

function pool(n: number): string[] {
  // One base GPU in four, the rest CPU types (as Kairos' mixes).
  const cpu = ['c5n.2xlarge', 'r5n.large', 't3.xlarge'];
  return Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 'g4dn.xlarge' : cpu[i % 3]!));
}

/**
 * Decision latency (µs) with 64 queued queries; state is topped up between (untimed) decisions.
 * Wall time, and CPU time of this process (which leaves out time the OS gave to other processes:
 * on a shared 2-core box wall-time p99 mostly measures preemption).
 */
function decisionLatency(make: (instances: string[]) => QueryDistributor, n: number) {
  const d = make(pool(n));
  let x = 987654321;
  const rand = () => (x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32;
  let id = 0;
  let now = 0;
  const samples: number[] = [];
  const cpuSamples: number[] = [];
  for (let it = 0; it < WARM + ITER; it++) {
    now += 0.001;
    // Free about half of the busy instances, then refill the queue to 64.
    for (const v of d.instances(now)) if (v.busy && rand() < 0.5) d.onComplete(v.index, now);
    while (d.pending() < 64) {
      const size = 10 * Math.ceil(rand() * rand() * 100); // skewed towards small queries, 10..1000
      d.enqueue({ id: id++, size, arrival: now - rand() * 0.2, deadline: now - rand() * 0.2 + QOS_S });
    }
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    d.decide(now);
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    const c = process.cpuUsage(c0);
    if (it >= WARM) {
      samples.push(us);
      cpuSamples.push(c.user + c.system);
    }
  }
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    cpuP50: percentile(cpuSamples, 50),
    cpuP99: percentile(cpuSamples, 99),
  };
}

const distributors: [string, (instances: string[]) => QueryDistributor][] = [
  ['kairos', (instances) => createKairosDistributor({ instances, estimateMs, baseType: 'g4dn.xlarge' })],
  [
    'kairos-prototype',
    (instances) => createKairosDistributor({ instances, estimateMs, compat: 'prototype' }),
  ],
  [
    'kairos-lsa',
    (instances) =>
      createKairosDistributor({
        instances,
        estimateMs,
        baseType: 'g4dn.xlarge',
        solver: 'linear-sum-assignment',
      }),
  ],
  ['least-finish', (instances) => createLeastFinishDistributor({ instances, estimateMs })],
  ['fcfs', (instances) => createFcfsDistributor({ instances, estimateMs })],
];
console.log(`distributor decision latency, 64 waiting queries, rm2 table, ${ITER} decisions`);
for (const n of [4, 16, 64]) {
  for (const [name, make] of distributors) {
    const { p50, p99, cpuP50, cpuP99 } = decisionLatency(make, n);
    console.log(
      `  ${name.padEnd(17)} N=${String(n).padStart(2)}  wall p50 ${p50.toFixed(1)} µs  p99 ${p99.toFixed(1)} µs` +
        `   cpu p50 ${cpuP50.toFixed(0)} µs  p99 ${cpuP99.toFixed(0)} µs`,
    );
    figure('dispatch', `decide_${name}_n${n}_p50`, Number(p50.toFixed(2)), 'us');
    figure('dispatch', `decide_${name}_n${n}_p99`, Number(p99.toFixed(2)), 'us');
    figure('dispatch', `decide_${name}_n${n}_cpu_p50`, cpuP50, 'us');
    figure('dispatch', `decide_${name}_n${n}_cpu_p99`, cpuP99, 'us');
  }
}
finish();
