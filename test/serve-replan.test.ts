/**
 * Live re-planning with the real serverless planner: measured rates over the sliding window feed
 * the planner every interval; a changed plan is swapped in while requests keep flowing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseServeConfig } from '../src/model/serve-config.ts';
import { Gateway } from '../src/serve/gateway.ts';
import { plan as planServerless } from '../src/plan/serverless/index.ts';
import { bundledProfile } from '../src/predict/profiles.ts';
import { baseConfig, inferBody, post } from './serve-helpers.ts';

test('the first plan is the planner’s plan for the rate hints', async () => {
  const config = parseServeConfig(baseConfig());
  const gw = new Gateway({ config, logger: pino({ level: 'silent' }) });
  await gw.start();
  try {
    const expected = planServerless(config.applications, bundledProfile('VGG19'), {});
    const got = gw.serverless('echo').plan;
    assert.deepEqual(
      got.groups.map((g) => [g.apps, g.function, g.batchSize]),
      expected.groups.map((g) => [g.apps, g.function, g.batchSize]),
    );
  } finally {
    await gw.close();
  }
});

test('re-planning every interval follows the measured rates and swaps the plan without losing requests', async () => {
  // Hints say app a3 dominates; the traffic sent is all a0, so the measured rates differ.
  const config = parseServeConfig(baseConfig({ replan: { intervalS: 0.4, windowS: 2 } }));
  const gw = new Gateway({ config, logger: pino({ level: 'silent' }) });
  const { url } = await gw.start();
  const svc = gw.serverless('echo');
  const before = svc.plan;
  try {
    const rs: Promise<{ status: number }>[] = [];
    const t0 = Date.now();
    let i = 0;
    while (Date.now() - t0 < 1500) {
      rs.push(post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], 'a0')));
      i++;
      await new Promise((r) => setTimeout(r, 5));
    }
    const statuses = (await Promise.all(rs)).map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 200),
      'every request answered across plan swaps',
    );
    const rates = svc.rates();
    assert.ok(rates['a0'] > 5, `a0 measured ${rates['a0']}`);
    assert.ok(rates['a3'] < 1, `a3 measured ${rates['a3']}`);
    assert.ok(svc.planVersion >= 1, 'a new plan was swapped in');
    assert.notDeepEqual(
      svc.plan.groups.map((g) => [g.apps, g.batchSize]),
      before.groups.map((g) => [g.apps, g.batchSize]),
    );
    // The installed plan was made for the measured rates, not the hints.
    assert.ok(svc.plan.apps.find((a) => a.name === 'a0')!.rps > 5);
    assert.ok(svc.plan.apps.find((a) => a.name === 'a3')!.rps < 1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /hetserve_plan_version\{model="echo"\} [1-9]/);
  } finally {
    await gw.close();
  }
});
