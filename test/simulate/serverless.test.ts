import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBatchManager } from '../../src/dispatch/batch-manager.ts';
import { HetserveError } from '../../src/model/errors.ts';
import type { FunctionConfig, Plan } from '../../src/model/plan.ts';
import {
  batchSizeDistribution,
  equivalentTimeout,
  expectedCostPerRequest,
  resolvePriceTable,
} from '../../src/predict/index.ts';
import { Rng } from '../../src/workload/rng.ts';
import { simulateServerless, type ServerlessModel } from '../../src/simulate/serverless.ts';
import { poissonArrivals, traceArrivals } from '../../src/workload/arrivals.ts';

const CPU: FunctionConfig = { kind: 'cpu', vcpu: 1, memoryGb: 1 };

interface G {
  apps: string[];
  batch: number;
  timeouts: number[];
  fn?: FunctionConfig;
  max?: number;
}

function makePlan(apps: { name: string; slo: number; rps: number }[], groups: G[], cost = 1e-5): Plan {
  return {
    kind: 'serverless-plan',
    algorithm: 'test',
    model: 'test',
    priceTable: 'test',
    currency: 'X',
    compat: 'paper',
    totalCostPerRequest: cost,
    excluded: [],
    apps,
    groups: groups.map((g) => ({
      apps: g.apps,
      function: g.fn ?? CPU,
      batchSize: g.batch,
      timeouts: Object.fromEntries(g.apps.map((a, i) => [a, g.timeouts[i]])),
      costPerRequest: cost,
      trafficShare: 1 / groups.length,
      weightedCost: cost / groups.length,
      rps: 1,
      latency: { avg: 0.1, max: g.max ?? 0.1 },
      slack: Object.fromEntries(g.apps.map((a) => [a, 0])),
    })),
  };
}

/** A model with fixed avg/max latency and cost = 1 per invocation + 10 per second. */
function fixedModel(avg: number, max = avg): ServerlessModel {
  return { latency: () => ({ avg, max }), batchCost: (_f, _b, d) => 1 + 10 * d };
}

test('simulated batch sizes follow the truncated-Poisson closed form (design §4.4)', () => {
  const lambda = 20;
  const T = 0.1;
  const B = 5;
  const apps = [{ name: 'a', slo: 10, rps: lambda }];
  const r = simulateServerless({
    apps,
    arrivals: poissonArrivals([lambda], new Rng(1), { end: 3000 }),
    plan: makePlan(apps, [{ apps: ['a'], batch: B, timeouts: [T] }]),
    model: fixedModel(0.05),
    createBatchManager,
    durationS: 3000,
  });
  const g = r.groups[0];
  const p = batchSizeDistribution(lambda, T, B);
  for (let k = 1; k <= B; k++) {
    const se = Math.sqrt((p[k - 1] * (1 - p[k - 1])) / g.batches);
    assert.ok(
      Math.abs(g.batchSizeDistribution[k] - p[k - 1]) < 5 * se + 1e-9,
      `P(b=${k}): ${g.batchSizeDistribution[k]} vs ${p[k - 1]}`,
    );
  }
});

test('first-request wait of a two-app buffer equals the equivalent timeout (paper Eq. 5)', () => {
  const apps = [
    { name: 'fast', slo: 10, rps: 2 },
    { name: 'slow', slo: 10, rps: 6 },
  ];
  const t = [0.1, 0.6];
  const r = simulateServerless({
    apps,
    arrivals: poissonArrivals([2, 6], new Rng(2), { end: 4000 }),
    plan: makePlan(apps, [{ apps: ['fast', 'slow'], batch: 10_000, timeouts: t }]),
    model: fixedModel(0.01),
    createBatchManager,
    durationS: 4000,
  });
  const teq = equivalentTimeout(t, [2, 6], 'paper');
  const g = r.groups[0];
  // The wait lies in [0.1, 0.6]: its sd is below 0.25, so 5 standard errors is 1.25/√batches.
  const tol = 1.25 / Math.sqrt(g.batches);
  assert.ok(Math.abs(g.meanFirstWait - teq) < tol, `${g.meanFirstWait} vs ${teq}`);
  // and it tells the paper's formula from the prototype's (0.304 here)
  assert.ok(Math.abs(g.meanFirstWait - equivalentTimeout(t, [2, 6], 'prototype')) > 2 * tol);
});

test('SLO violations of N(avg, ((max−avg)/2.33)²) latencies: P(L > max) ≈ 1 % (design §8.1)', () => {
  const apps = [{ name: 'a', slo: 0.4, rps: 50 }];
  const r = simulateServerless({
    apps,
    arrivals: poissonArrivals([50], new Rng(3), { end: 800 }),
    plan: makePlan(apps, [{ apps: ['a'], batch: 1, timeouts: [0] }]),
    model: fixedModel(0.3, 0.4),
    createBatchManager,
    durationS: 800,
  });
  const p = 0.0099; // P(Z > 2.33)
  const se = Math.sqrt((p * (1 - p)) / r.requests);
  assert.ok(Math.abs(r.sloViolationRate - p) < 5 * se, `${r.sloViolationRate}`);
  assert.ok(Math.abs(r.perApp[0].latencyP50 - 0.3) < 0.002);
});

test('measured cost per request converges to E[batch cost]/E[batch size] under the batch distribution', () => {
  const prices = resolvePriceTable('prototype-cny');
  const lambda = 12;
  const T = 0.25;
  const B = 6;
  const apps = [{ name: 'a', slo: 5, rps: lambda }];
  const res = { kind: 'cpu' as const, vcpu: 1, memoryGb: 1, gpuMemoryGb: 0 };
  const lat = (k: number): number => 0.1 + 0.05 * k;
  const model: ServerlessModel = {
    latency: (_f, k) => ({ avg: lat(k), max: lat(k) }),
    batchCost: (_f, _k, d) => prices.invocation + (prices.vcpuSecond + prices.memGbSecond) * d,
  };
  const r = simulateServerless({
    apps,
    arrivals: poissonArrivals([lambda], new Rng(4), { end: 3000 }),
    plan: makePlan(apps, [{ apps: ['a'], batch: B, timeouts: [T] }]),
    model,
    createBatchManager,
    durationS: 3000,
  });
  const expected = expectedCostPerRequest(prices, res, batchSizeDistribution(lambda, T, B), lat);
  assert.ok(
    Math.abs(r.costPerRequest.measured / expected - 1) < 0.01,
    `${r.costPerRequest.measured} vs ${expected}`,
  );
  assert.equal(r.costPerRequest.predicted, 1e-5);
});

test('a run is a pure function of its seeds; another seed gives another run', () => {
  const apps = [
    { name: 'a', slo: 0.5, rps: 10 },
    { name: 'b', slo: 1, rps: 20 },
  ];
  const run = (seed: number): string => {
    const r = simulateServerless({
      apps,
      arrivals: poissonArrivals([10, 20], new Rng(seed), { end: 100 }),
      plan: makePlan(apps, [{ apps: ['a', 'b'], batch: 4, timeouts: [0.1, 0.3], max: 0.2 }]),
      model: fixedModel(0.1, 0.2),
      createBatchManager,
      durationS: 100,
      seed,
    });
    return JSON.stringify({ ...r, wallMs: 0, planningMs: 0 });
  };
  assert.equal(run(5), run(5));
  assert.notEqual(run(5), run(6));
});

test('re-planning every minute: one planner call per minute boundary, segments add up', () => {
  const apps = [
    { name: 'a', slo: 0.5, rps: 1 },
    { name: 'b', slo: 1, rps: 1 },
  ];
  const counts = [
    [600, 60, 600],
    [60, 600, 0],
  ];
  const calls: number[] = [];
  const r = simulateServerless({
    apps,
    arrivals: traceArrivals(counts, new Rng(8)),
    plan: makePlan(apps, [
      { apps: ['a'], batch: 1, timeouts: [0] },
      { apps: ['b'], batch: 2, timeouts: [0.2] },
    ]),
    replan: (k) => {
      calls.push(k);
      return makePlan(apps, [{ apps: ['a', 'b'], batch: 3, timeouts: [0.1, 0.4] }], 2e-5 * (k + 1));
    },
    model: fixedModel(0.1),
    createBatchManager,
    durationS: 180,
  });
  assert.deepEqual(calls, [1, 2]);
  assert.equal(r.perSegment.length, 3);
  assert.equal(
    r.perSegment.reduce((s, x) => s + x.requests, 0),
    r.requests,
  );
  [1e-5, 4e-5, 6e-5].forEach((c, i) =>
    assert.ok(Math.abs(r.perSegment[i].predictedCostPerRequest - c) < 1e-15),
  );
  assert.ok(r.groups.some((g) => g.group === 'a,b'));
  assert.ok(Math.abs(r.perSegment[0].requests - 660) < 5 * Math.sqrt(660));
});

test('cold starts add their duration to the batches they hit', () => {
  const apps = [{ name: 'a', slo: 0.5, rps: 10 }];
  const r = simulateServerless({
    apps,
    arrivals: poissonArrivals([10], new Rng(1), { end: 100 }),
    plan: makePlan(apps, [{ apps: ['a'], batch: 1, timeouts: [0] }]),
    model: fixedModel(0.1),
    createBatchManager,
    durationS: 100,
    coldStart: { probability: 1, durationS: 1 },
  });
  assert.equal(r.sloViolationRate, 1);
  assert.ok(Math.abs(r.perApp[0].latencyP50 - 1.1) < 0.002);
});

test('a plan naming an unknown app is E_PLAN_APPS_MISMATCH; an app twice without appRps is E_PLAN_INVALID', () => {
  const apps = [{ name: 'a', slo: 0.5, rps: 10 }];
  const run = (groups: Parameters<typeof makePlan>[1]) => () =>
    simulateServerless({
      apps,
      arrivals: poissonArrivals([10], new Rng(1), { end: 1 }),
      plan: makePlan(apps, groups),
      model: fixedModel(0.1),
      createBatchManager,
      durationS: 1,
    });
  assert.throws(
    run([{ apps: ['zz'], batch: 1, timeouts: [0] }]),
    (e: unknown) =>
      e instanceof HetserveError &&
      e.code === 'E_PLAN_APPS_MISMATCH' &&
      e.details['field'] === 'plan.groups.apps',
  );
  // The plan rule every reader applies (src/model/plan.ts): a split app needs its appRps shares.
  assert.throws(
    run([
      { apps: ['a'], batch: 1, timeouts: [0] },
      { apps: ['a'], batch: 1, timeouts: [0] },
    ]),
    (e: unknown) =>
      e instanceof HetserveError &&
      e.code === 'E_PLAN_INVALID' &&
      e.details['field'] === 'plan.groups.1.apps',
  );
});
