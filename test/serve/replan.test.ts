/**
 * Live re-planning with the real serverless planner: measured rates over the sliding window feed
 * the planner every interval; a changed plan is swapped in while requests keep flowing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseServeConfig } from '../../src/model/serve-config.ts';
import { Gateway } from '../../src/serve/gateway.ts';
import { plan as planServerless } from '../../src/plan/serverless/index.ts';
import { bundledProfile } from '../../src/predict/profiles.ts';
import type { App } from '../../src/model/app.ts';
import { RealTimeSource } from '../../src/dispatch/timers.ts';
import { baseConfig, inferBody, post, waitFor } from '../helpers/serve.ts';

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

/**
 * Real timers for batching and the re-plan interval, but a clock the test holds still: every
 * request lands in the same second of the rate window, so the measured rates are exact counts
 * whatever the machine's load.
 */
class HeldClock extends RealTimeSource {
  at = 1000;
  override now(): number {
    return this.at;
  }
}

test('re-planning every interval follows the measured rates and swaps the plan without losing requests', async () => {
  // Hints say app a3 dominates; the traffic sent is all a0, so the measured rates differ.
  const config = parseServeConfig(baseConfig({ replan: { intervalS: 0.05, windowS: 2 } }));
  const timers = new HeldClock();
  // The real planner, with each call's input recorded: the test sees what the interval asked for.
  const asked: App[][] = [];
  const planFn = (_m: unknown, apps: App[]) => {
    asked.push(apps);
    return planServerless(apps, bundledProfile('VGG19'), {});
  };
  const gw = new Gateway({ config, logger: pino({ level: 'silent' }), timers, planFn });
  const { url } = await gw.start();
  const svc = gw.serverless('echo');
  const before = svc.plan;
  const rpsOf = (apps: App[], name: string) => apps.find((a) => a.name === name)!.rps;
  try {
    const statuses: number[] = [];
    // Two waves: the interval re-plans between and during them; none of them loses a request.
    for (let wave = 0; wave < 2; wave++) {
      const rs = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], 'a0')),
        ),
      );
      statuses.push(...rs.map((r) => r.status));
      if (wave === 0) await waitFor(() => svc.planVersion >= 1, 'a re-plan after the first wave');
    }
    assert.deepEqual(statuses, Array(40).fill(200), 'every request answered across plan swaps');
    const rates = svc.rates();
    // 40 requests in one second of a window the gateway is younger than: 40 req/s.
    assert.equal(rates['a0'], 40);
    assert.equal(rates['a3'], 0);
    // The interval re-plans with the measured rates (a3 at the planner's floor of 0.01 req/s).
    await waitFor(() => asked.some((apps) => rpsOf(apps, 'a0') === 40), 'a re-plan that saw all 40 requests');
    const last = asked.find((apps) => rpsOf(apps, 'a0') === 40)!;
    assert.equal(rpsOf(last, 'a3'), 0.01);
    await svc.replanSerial(); // barrier: every re-plan queued before this one has been installed
    const expected = planServerless(last, bundledProfile('VGG19'), {});
    const shape = (p: typeof before) => p.groups.map((g) => [g.apps, g.function, g.batchSize]);
    assert.deepEqual(shape(svc.plan), shape(expected));
    assert.notDeepEqual(shape(svc.plan), shape(before));
    // The installed plan was made for measured rates, not the hints (a3 carried none).
    assert.equal(rpsOf(svc.plan.apps, 'a3'), 0.01);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, new RegExp(`hetserve_plan_version\\{model="echo"\\} ${svc.planVersion}`));
  } finally {
    await gw.close();
  }
});
