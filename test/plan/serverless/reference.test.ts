import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bundledProfile } from '../../../src/predict/index.ts';
import { plan, preparePlanning, runHarmony } from '../../../src/plan/serverless/index.ts';
import type { Plan } from '../../../src/model/plan.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
const ref = JSON.parse(
  readFileSync(new URL('../../fixtures/reference/harmonybatch.json', import.meta.url), 'utf8'),
);
const toApps = (xs: [string, number, number][]) => xs.map(([name, slo, rps]) => ({ name, slo, rps }));
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

function checkGroups(p: Plan, groups: any[], what: string): void {
  assert.equal(p.groups.length, groups.length, `${what}: group count`);
  groups.forEach((rg, k) => {
    const g = p.groups[k];
    assert.deepEqual(g.apps, rg.apps, `${what} g${k} apps`);
    assert.equal(g.function.kind, rg.kind.toLowerCase(), `${what} g${k} kind`);
    assert.ok(
      Math.abs(g.function.vcpu - rg.vcpu) < 1e-12,
      `${what} g${k} vcpu ${g.function.vcpu} vs ${rg.vcpu}`,
    );
    assert.equal(g.function.memoryGb, rg.mem_gb, `${what} g${k} mem`);
    if (g.function.kind === 'gpu') assert.equal(g.function.gpuMemoryGb, rg.gpu_mem_gb, `${what} g${k} gpu`);
    assert.equal(g.batchSize, rg.batch, `${what} g${k} batch`);
    const touts = Array.isArray(rg.timeout_s) ? rg.timeout_s : [rg.timeout_s];
    rg.apps.forEach((name: string, i: number) =>
      assert.ok(
        Math.abs(g.timeouts[name] - touts[i]) < 1e-9,
        `${what} g${k} timeout ${name}: ${g.timeouts[name]} vs ${touts[i]}`,
      ),
    );
    assert.ok(
      rel(g.costPerRequest, rg.cost_per_request) < 1e-9,
      `${what} g${k} cost ${g.costPerRequest} vs ${rg.cost_per_request}`,
    );
    assert.ok(rel(g.weightedCost, rg.weighted_cost) < 1e-9, `${what} g${k} weighted cost`);
    const minSlack = Math.min(...Object.values(g.slack).map((s, i) => s + (touts[i] ?? 0)));
    assert.ok(Math.abs(minSlack - rg.model_slack_min_slo_s) < 1e-9, `${what} g${k} slack`);
  });
}

for (const run of ref.algorithm_runs) {
  test(`compat prototype reproduces ${run.case_id}`, () => {
    const algorithm = run.algorithm === 'Harmony' ? 'harmony' : 'batch';
    const apps = toApps(run.apps_input);
    const p = plan(apps, bundledProfile(run.model), { algorithm, compat: 'prototype' });
    checkGroups(p, run.groups, run.case_id);
    assert.ok(
      rel(p.totalCostPerRequest, run.total_cost) < 1e-9,
      `${run.case_id} total ${p.totalCostPerRequest} vs ${run.total_cost}`,
    );
    if (algorithm === 'harmony') {
      const { trace } = runHarmony(preparePlanning(apps, bundledProfile(run.model), { compat: 'prototype' }));
      for (const [slo, v] of Object.entries<number>(run.harmony_thresholds_rps_by_slo)) {
        assert.ok(
          Math.abs(trace.knees.get(Number(slo))! - v) < 1e-9,
          `knee ${slo}: ${trace.knees.get(Number(slo))} vs ${v}`,
        );
      }
      assert.equal(trace.costTrajectory.length, run.harmony_cost_trajectory.length);
      trace.costTrajectory.forEach((c, i) => assert.ok(rel(c, run.harmony_cost_trajectory[i]) < 1e-9));
      assert.deepEqual(trace.stages, run.harmony_merge_stages);
    }
  });
}

test('compat prototype reproduces paper Table I (Harmony and BATCH rows, 3 significant digits)', () => {
  const t = ref.paper_table_1;
  const apps = toApps(t.apps);
  const h = plan(apps, bundledProfile(t.model), { algorithm: 'harmony', compat: 'prototype' });
  assert.equal(h.totalCostPerRequest.toPrecision(4), t.Harmony.total_cost.toPrecision(4));
  assert.deepEqual(
    h.groups.map((g) => [
      g.function.kind,
      g.function.kind === 'gpu' ? g.function.gpuMemoryGb : g.function.vcpu,
      g.batchSize,
    ]),
    [
      ['cpu', 1.6, 1],
      ['gpu', 2, 13],
    ],
  );
  assert.deepEqual(
    Object.values(h.groups[1].timeouts).map((x) => x.toFixed(3)),
    ['0.454', '0.654'],
  );
  const b = plan(apps, bundledProfile(t.model), { algorithm: 'batch', compat: 'prototype' });
  assert.equal(b.totalCostPerRequest.toPrecision(3), t.BATCH.total_cost.toPrecision(3));
  assert.deepEqual(
    b.groups.map((g) => [g.function.vcpu, g.batchSize]),
    [
      [1.55, 1],
      [1.5, 2],
      [1.5, 2],
    ],
  );
  // Normalised cost Harmony/BATCH: the paper reports 0.63.
  assert.equal((h.totalCostPerRequest / b.totalCostPerRequest).toFixed(2), '0.64');
});

test('paper mode: Eq. 5 gives the larger batch on Table I (b = 14, about 5% cheaper than the prototype)', () => {
  const t = ref.paper_table_1;
  const apps = toApps(t.apps);
  const proto = plan(apps, bundledProfile(t.model), { algorithm: 'harmony', compat: 'prototype' });
  const paper = plan(apps, bundledProfile(t.model), { algorithm: 'harmony' });
  const gpu = paper.groups.find((g) => g.function.kind === 'gpu')!;
  assert.deepEqual(gpu.apps, ['b', 'c']);
  assert.equal(gpu.batchSize, 14);
  assert.ok(paper.totalCostPerRequest < proto.totalCostPerRequest);
});
