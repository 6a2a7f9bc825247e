import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { compileBound } from '../../../src/plan/cluster/bound.ts';
import { computeProfileQuantities } from '../../../src/plan/cluster/quantities.ts';
import { LatencyTable, loadBundledClusterProfile } from '../../../src/predict/latency-table.ts';
import { deepRecSysSizes } from '../../../src/workload/query-sizes.ts';
import { createLpEstimator, fluidBoundQps, lpData, lpEstimate } from '../../../src/plan/cluster/lp.ts';
import { allocate, type AllocationResult } from '../../../src/plan/cluster/allocate.ts';
import { bayesianSearch } from '../../../src/plan/cluster/bayesian.ts';
import type { ClusterOracle } from '../../../src/plan/cluster/oracle.ts';
import { AllocationSchema } from '../../../src/model/cluster.ts';
import { HetserveError } from '../../../src/model/errors.ts';

const TYPES = ['g4dn.xlarge', 'c5n.2xlarge', 'r5n.large', 't3.xlarge'];
const MAX = [5, 6, 17, 15];
const sizes = deepRecSysSizes();

for (const [model, qosMs] of [
  ['rm2', 350],
  ['ncf', 5],
] as const) {
  test(`property (${model}): per-type bound ≤ LP estimate ≤ fluid upper bound, on the same data`, async () => {
    const table = LatencyTable.bundled(model);
    const q = computeProfileQuantities(table, sizes, TYPES[0], TYPES.slice(1), { qosMs });
    const ub = compileBound(q, TYPES, 'per-type');
    const data = lpData(table, sizes, TYPES, [table.maxSize, ...q.aux.map((a) => a.limit)]);
    const estimator = createLpEstimator(data);
    fc.assert(
      fc.property(fc.tuple(...MAX.map((m, i) => fc.integer({ min: i === 0 ? 1 : 0, max: m }))), (counts) => {
        const lp = estimator.estimate(counts);
        // A shared estimator and a one-shot estimate agree.
        assert.ok(Math.abs(lpEstimate(data, counts).qps - lp.qps) <= 1e-7 * lp.qps);
        const tol = 1e-6 * lp.qps;
        assert.ok(lp.qps <= fluidBoundQps(data, counts) + tol, 'LP ≤ fluid bound');
        assert.ok(ub(counts) <= lp.qps + tol, `threshold routing ≤ LP: ${ub(counts)} vs ${lp.qps}`);
        const routed = Object.values(lp.ratePerType).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(routed - lp.qps) <= 1e-6 * lp.qps + 1e-9, 'every query is routed');
      }),
      { numRuns: 25 },
    );
    // Without the base type the largest sizes have nowhere to go: both are 0.
    assert.equal(estimator.estimate([0, 2, 5, 0]).qps, 0);
    assert.equal(fluidBoundQps(data, [0, 2, 5, 0]), 0);
    // Oracle: a homogeneous configuration serves the mixed stream at n / E[L_base].
    const eBase = sizes.sizes.reduce((s, b, i) => s + sizes.probabilities[i] * table.meanMs(TYPES[0], b), 0);
    assert.ok(Math.abs(lpEstimate(data, [3, 0, 0, 0]).qps - 3000 / eBase) < 1e-6 * (3000 / eBase));
  });
}

test('allocate: every reported configuration is within budget; chosen is among the ranked ones', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.double({ min: 0.53, max: 3.5, noNaN: true }),
      fc.constantFrom('rm2', 'dien'),
      async (budget, model) => {
        const r = await allocate({ model, budgetUsdPerHour: budget, lp: false, top: 15 });
        for (const c of [r.chosen, r.top1, ...r.runnersUp]) {
          const cost = TYPES.reduce(
            (s, t, i) => s + (c.counts[t] ?? 0) * [0.526, 0.432, 0.149, 0.1664][i],
            0,
          );
          assert.ok(cost <= budget + 1e-12, `${JSON.stringify(c.counts)} costs ${cost} > ${budget}`);
          assert.ok(c.counts['g4dn.xlarge'] >= 1);
        }
        if (r.homogeneous) assert.ok(r.homogeneous.costUsdPerHour <= budget + 1e-9);
        assert.ok(r.chosen.rank <= Math.min(5, r.feasibleConfigs));
        AllocationSchema.parse(r);
      },
    ),
    { numRuns: 12 },
  );
});

test('allocate --compat prototype: runner-ups are the reference ranking', async () => {
  const ref = JSON.parse(
    readFileSync(new URL('../../fixtures/reference/kairos.json', import.meta.url), 'utf8'),
  );
  const r = await allocate({ model: 'rm2', compat: 'prototype', top: 20, lp: false, select: 'top1' });
  assert.equal(r.feasibleConfigs, 331);
  assert.deepEqual(
    r.runnersUp.map((c) => TYPES.map((t) => c.counts[t]).join(', ')),
    ref.models.rm2.top20.map((e: { key: string }) => e.key),
  );
  assert.equal(r.chosen.rank, 1);
});

test('allocate --rank lp: runner-ups sorted by LP estimate; gain over homogeneous is reported', async () => {
  const r: AllocationResult = await allocate({ model: 'rm2', rank: 'lp', top: 8 });
  const lps = r.runnersUp.map((c) => c.lpBoundQps!);
  // Descending, ties (equal to 1e-9, see allocate.ts LP_TIE) in either order of their last digits.
  for (let i = 1; i < lps.length; i++) assert.ok(lps[i - 1] >= lps[i] * (1 - 1e-9));
  assert.ok(r.homogeneous && r.gainOverHomogeneous! > 1, 'heterogeneous beats homogeneous for rm2');
  assert.equal(r.rankBy, 'lp');
  // Oracle: the LP of every feasible configuration (brute force); the pruned ranking is exact.
  assert.equal(r.lpRankingExact, true);
  const table = LatencyTable.bundled('rm2');
  const limits = [
    table.maxSize,
    ...TYPES.slice(1).map((t) => r.quantities.aux.find((a) => a.type === t)!.limit),
  ];
  const est = createLpEstimator(lpData(table, sizes, TYPES, limits));
  const all: number[] = [];
  const prices = [0.526, 0.432, 0.149, 0.1664];
  for (let a = 1; a <= MAX[0]; a++)
    for (let b = 0; b <= MAX[1]; b++)
      for (let c = 0; c <= MAX[2]; c++)
        for (let d = 0; d <= MAX[3]; d++) {
          if (a * prices[0] + b * prices[1] + c * prices[2] + d * prices[3] <= 2.5)
            all.push(est.estimate([a, b, c, d]).qps);
        }
  all.sort((x, y) => y - x);
  assert.equal(all.length, 331);
  lps.forEach((v, i) => assert.ok(Math.abs(v - all[i]) <= 1e-6 * all[i], `rank ${i + 1}: ${v} vs ${all[i]}`));
});

test('Ribbon-like BO: seeded, feasible, counts its trials', () => {
  const pool = { types: TYPES, prices: [0.526, 0.432, 0.149, 0.1664], maxCounts: MAX, baseIndex: 0 };
  const measure = (c: number[]): number => c[0] * 15 + c[2] * 10 + c[1] * 9 + c[3] * 5;
  const a = bayesianSearch(pool, 2.5, measure, { seed: 3, iterations: 10 });
  const b = bayesianSearch(pool, 2.5, measure, { seed: 3, iterations: 10 });
  assert.deepEqual(a, b);
  assert.equal(a.trials, 15);
  assert.ok(a.best);
  const cost = a.best.counts.reduce((s, n, i) => s + n * pool.prices[i], 0);
  assert.ok(cost <= 2.5 && a.best.counts[0] >= 1);
  assert.ok(a.trialsToBest >= 1 && a.trialsToBest <= a.trials);
  assert.ok(a.distinctConfigs <= a.trials);
});

test('oracle interface: a test double ranks the candidates by allowable QPS', async () => {
  let calls = 0;
  const fake: ClusterOracle = {
    name: 'fake',
    async evaluate(req) {
      calls++;
      assert.equal(req.qosMs, 350);
      // Pretend t3 instances hurt: a stand-in for simulated throughput.
      return req.configs.map((c) => ({
        allowableQps: (c['r5n.large'] ?? 0) * 10 - (c['t3.xlarge'] ?? 0) * 7 + c['g4dn.xlarge'],
      }));
    },
  };
  const r = await allocate({ model: 'rm2', oracle: fake, oracleCandidates: 12, lp: false });
  assert.equal(calls, 1);
  assert.equal(r.oracle!.ranked.length, 12);
  const q = r.oracle!.ranked.map((x) => x.allowableQps);
  for (let i = 1; i < q.length; i++) assert.ok(q[i - 1] >= q[i]);
  assert.equal(r.oracle!.ranked[0].counts['t3.xlarge'], 0);
});

test('allocate: bad input is a coded error naming the field', async () => {
  const code = async (p: Promise<unknown>, want: string, field?: string): Promise<HetserveError> => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof HetserveError, String(e));
      assert.equal(e.code, want, e.message);
      if (field) assert.equal(e.details.field, field, e.message);
      return e;
    }
    assert.fail(`expected ${want}`);
  };
  const low = await code(allocate({ budgetUsdPerHour: 0.4 }), 'E_BUDGET_TOO_LOW', 'budget');
  assert.equal(low.details.minBudgetUsdPerHour, 0.526);
  assert.equal(low.exitCode, 3);
  const pool = (types: unknown[]) => ({ types });
  await code(
    allocate({
      pool: pool([
        { name: 'g4dn.xlarge', priceUsdPerHour: 0.5 },
        { name: 'r5n.large', priceUsdPerHour: 0.1 },
      ]) as never,
    }),
    'E_NO_BASE_TYPE',
  );
  await code(
    allocate({ pool: pool([{ name: 'g4dn.xlarge', priceUsdPerHour: -1, base: true }]) as never }),
    'E_POOL_INVALID',
  );
  await code(
    allocate({ pool: pool([{ name: 'p3.2xlarge', priceUsdPerHour: 3, base: true }]) as never }),
    'E_UNKNOWN_INSTANCE_TYPE',
  );
  await code(allocate({ types: ['g4dn.xlarge', 'z9.huge'] }), 'E_UNKNOWN_INSTANCE_TYPE', 'types');
  await code(
    allocate({
      pool: pool([{ name: 'g4dn.xlarge', priceUsdPerHour: 0.5, base: true, maxCount: 0 }]) as never,
      budgetUsdPerHour: 2,
    }),
    'E_POOL_INVALID',
    'pool.types.g4dn.xlarge.maxCount',
  );
  await code(allocate({ qosMs: 0.001 }), 'E_QOS_UNREACHABLE', 'qos');
  await code(allocate({ percentile: 100 }), 'E_INVALID_OPTION', 'percentile');
  // A user profile that stops at size 500 cannot serve the default mix (sizes up to 1000).
  const p = loadBundledClusterProfile('rm2');
  const cut = {
    ...p,
    model: 'rm2-cut',
    batchSizes: p.batchSizes.slice(0, 50),
    instances: Object.fromEntries(
      Object.entries(p.instances).map(([t, v]) => [
        t,
        { inferMs: v.inferMs!.slice(0, 50), loadMs: v.loadMs!.slice(0, 50) },
      ]),
    ),
  };
  await code(allocate({ profile: cut, qosMs: 350 }), 'E_PROFILE_INVALID', 'batchSizes');
});
