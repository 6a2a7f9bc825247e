import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyTable } from '../../src/predict/latency-table.ts';
import { deepRecSysSizes } from '../../src/workload/query-sizes.ts';
import { expandCounts, findAllowableThroughput, simulateCluster } from '../../src/simulate/cluster.ts';
import { distributorFactory } from '../../src/simulate/distributors.ts';
import { HetserveError } from '../../src/model/errors.ts';

/** One type with a deterministic 10 ms service time at every size. */
const detTable = LatencyTable.fromProfile({
  model: 'det',
  unit: 'ms',
  batchSizes: [10],
  instances: { box: { meanMs: [10] } },
});
const one = { sizes: [10], probabilities: [1] };
const fcfs = distributorFactory({ name: 'fcfs', baseType: 'box' });

test('M/D/1: mean sojourn = D + ρD/(2(1−ρ)) and P(no wait) = 1 − ρ (FCFS, one server)', () => {
  for (const rho of [0.3, 0.6]) {
    const lambda = rho * 100; // μ = 100/s
    const r = simulateCluster({
      table: detTable,
      instances: ['box'],
      createDistributor: fcfs,
      qosMs: 10.001, // met exactly by the queries that do not wait
      percentile: 1,
      rateQps: lambda,
      queries: 60_000,
      sizes: one,
      seed: 3,
      earlyStop: false,
    });
    const wq = (rho * 10) / (2 * (1 - rho)); // ms
    assert.ok(
      Math.abs(r.latencyMs.mean - (10 + wq)) / (10 + wq) < 0.03,
      `ρ=${rho}: mean ${r.latencyMs.mean} vs ${10 + wq}`,
    );
    assert.ok(Math.abs(r.qosMetRatio - (1 - rho)) < 0.015, `ρ=${rho}: P(no wait) ${r.qosMetRatio}`);
    assert.ok(Math.abs(r.throughputQps / lambda - 1) < 0.02);
  }
});

test('cluster runs are deterministic under a seed and differ across seeds', () => {
  const table = LatencyTable.bundled('rm2');
  const inst = expandCounts({ 'g4dn.xlarge': 1, 'r5n.large': 4 }, table.types);
  const run = (seed: number) =>
    simulateCluster({
      table,
      instances: inst,
      createDistributor: distributorFactory({ name: 'kairos', baseType: 'g4dn.xlarge' }),
      qosMs: 350,
      rateQps: 40,
      queries: 3000,
      sizes: deepRecSysSizes(),
      seed,
    });
  const a = run(1);
  const b = run(1);
  assert.deepEqual({ ...a, wallMs: 0 }, { ...b, wallMs: 0 });
  assert.notDeepEqual({ ...a, wallMs: 0 }, { ...run(2), wallMs: 0 });
});

test('allowable throughput: the reported rate passes, one resolution step above fails (same seed)', () => {
  const table = LatencyTable.bundled('wnd');
  const inst = expandCounts({ 'g4dn.xlarge': 1, 'r5n.large': 3 }, table.types);
  const common = {
    table,
    instances: inst,
    createDistributor: distributorFactory({ name: 'kairos', baseType: 'g4dn.xlarge' }),
    qosMs: 25,
    sizes: deepRecSysSizes(),
    queries: 4000,
  };
  const steps = 8;
  const a = findAllowableThroughput({ ...common, seeds: [7], steps });
  const res = a.rangeQps[1] / 2 ** steps;
  assert.ok(a.allowableQps > 0);
  assert.equal(simulateCluster({ ...common, rateQps: a.allowableQps, seed: 7 }).meetsQos, true);
  assert.equal(simulateCluster({ ...common, rateQps: a.allowableQps + res, seed: 7 }).meetsQos, false);
  // The Kairos matching beats FCFS on a heterogeneous pool (design §3.5, §6.7).
  const f = findAllowableThroughput({
    ...common,
    seeds: [7],
    steps,
    createDistributor: distributorFactory({ name: 'fcfs', baseType: 'g4dn.xlarge' }),
  });
  assert.ok(a.allowableQps > f.allowableQps, `kairos ${a.allowableQps} vs fcfs ${f.allowableQps}`);
});

/**
 * The search as the design states it (kairos design §9): try `hi` first and double it while it
 * passes (at most 4 times), then bisect [0, hi]. findAllowableThroughput tries `hi` last.
 */
function searchHiFirst(
  o: Omit<Parameters<typeof simulateCluster>[0], 'rateQps'> & { hiQps: number; steps: number },
): number {
  const pass = (rateQps: number): boolean => simulateCluster({ ...o, rateQps }).meetsQos;
  let hi = o.hiQps;
  for (let k = 0; k < 4 && pass(hi); k++) hi *= 2;
  let lo = 0;
  for (let k = 0; k < o.steps; k++) {
    const mid = (lo + hi) / 2;
    if (pass(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

test("allowable throughput: the same rate as the design's hi-first search, with the range grown when hi passes and without", () => {
  const table = LatencyTable.bundled('rm2');
  const common = {
    table,
    createDistributor: distributorFactory({ name: 'kairos', baseType: 'g4dn.xlarge' }, table),
    qosMs: 350,
    sizes: deepRecSysSizes(),
    queries: 1500,
  };
  const cases: { counts: Record<string, number>; hiQps: number | undefined; seed: number }[] = [
    { counts: { 'g4dn.xlarge': 1, 'r5n.large': 4 }, hiQps: undefined, seed: 1 },
    { counts: { 'g4dn.xlarge': 1, 't3.xlarge': 2 }, hiQps: undefined, seed: 2 },
    // A range far below capacity: every probe and hi pass, so the range doubles (4 times) first.
    { counts: { 'g4dn.xlarge': 1, 'r5n.large': 4 }, hiQps: 3, seed: 1 },
    // Doubled twice: 15 and 30 pass, 60 does not.
    { counts: { 'g4dn.xlarge': 1, 'r5n.large': 4 }, hiQps: 15, seed: 3 },
  ];
  let grown = 0;
  for (const c of cases) {
    const instances = expandCounts(c.counts, table.types);
    const r = findAllowableThroughput({ ...common, instances, seeds: [c.seed], steps: 6, hiQps: c.hiQps });
    const hi = c.hiQps ?? r.rangeQps[1];
    const want = searchHiFirst({ ...common, instances, seed: c.seed, hiQps: hi, steps: 6 });
    assert.equal(r.allowableQps, want, JSON.stringify(c));
    assert.ok(r.allowableQps > 0, JSON.stringify(c));
    if (r.rangeQps[1] > hi) grown++;
    // hi itself is simulated only when every probe below it passed.
    else assert.equal(r.runs, 6, `${JSON.stringify(c)}: ${r.runs} runs`);
  }
  assert.equal(grown, 2, 'the two small ranges grew');
});

test('early stop counts as failure; bad rate and empty pool are coded errors', () => {
  const r = simulateCluster({
    table: detTable,
    instances: ['box'],
    createDistributor: fcfs,
    qosMs: 50,
    rateQps: 300, // ρ = 3: the queue explodes
    queries: 20_000,
    sizes: one,
  });
  assert.equal(r.meetsQos, false);
  assert.ok(r.stoppedEarly !== undefined);
  assert.ok(r.completed < 20_000);
  const bad = { table: detTable, createDistributor: fcfs, qosMs: 50, sizes: one };
  assert.throws(
    () => simulateCluster({ ...bad, instances: ['box'], rateQps: 0 }),
    (e: unknown) => e instanceof HetserveError && e.code === 'E_INVALID_OPTION',
  );
  assert.throws(
    () => simulateCluster({ ...bad, instances: [], rateQps: 5 }),
    (e: unknown) => e instanceof HetserveError && e.code === 'E_POOL_INVALID',
  );
});
