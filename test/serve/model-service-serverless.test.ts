/** The serverless service (plan groups behind the batch manager) against the ModelService suite. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import type { Plan } from '../../src/model/plan.ts';
import { GatewayMetrics } from '../../src/serve/metrics.ts';
import { ServerlessService } from '../../src/serve/service.ts';
import { IO, runModelServiceConformance, type ServiceSpec } from './model-service.case.ts';

/** One group of every app, batches of 1 released at once, `slots` batches in flight. */
function plan(s: ServiceSpec): Plan {
  const apps = s.apps.map((a) => a.name);
  return {
    kind: 'serverless-plan',
    algorithm: 'hand',
    model: IO.name,
    priceTable: 'prototype-cny',
    currency: 'CNY',
    compat: 'paper',
    totalCostPerRequest: 1e-6,
    groups: [
      {
        apps,
        function: { kind: 'cpu', vcpu: 1, memoryGb: 2 },
        batchSize: 1,
        timeouts: Object.fromEntries(apps.map((a) => [a, 0])),
        costPerRequest: 1e-6,
        trafficShare: 1,
        weightedCost: 1e-6,
        rps: s.apps.reduce((x, a) => x + a.rps, 0),
        latency: { avg: s.latencyS, max: s.latencyS },
        slack: Object.fromEntries(s.apps.map((a) => [a.name, a.slo - s.latencyS])),
      },
    ],
    excluded: [],
    apps: s.apps.map((a) => ({ name: a.name, slo: a.slo, rps: a.rps })),
  };
}

runModelServiceConformance('serverless', async (s) => {
  const svc = new ServerlessService({
    io: IO,
    apps: s.apps,
    planFn: () => plan(s),
    makeBackend: async (_fn, key) => s.backend(key),
    maxInFlight: s.slots,
    timers: s.clock,
    metrics: new GatewayMetrics(false),
    logger: pino({ level: 'silent' }),
  });
  await svc.start();
  return svc;
});

test('serverless: a batch’s answers are out before its latency reaches onBatchLatency (a refit there cannot delay them)', async () => {
  const clock = new VirtualTimeSource();
  const spec: ServiceSpec = {
    apps: [{ name: 'a', slo: 0.5, rps: 10 }],
    slots: 1,
    latencyS: 0.01,
    behaviour: 'echo',
    clock,
    backend: () => {
      throw new Error('unused');
    },
  };
  const answered: string[] = [];
  const seen: { batch: number; answeredBefore: number }[] = [];
  const svc = new ServerlessService({
    io: IO,
    apps: spec.apps,
    planFn: () => plan(spec),
    makeBackend: async (_fn, key) => ({
      kind: 'virtual',
      id: key,
      concurrency: 1,
      start: async () => IO,
      infer: (b) => new Promise((resolve) => clock.setTimer(clock.now() + 0.01, () => resolve(b.inputs))),
      close: async () => {},
    }),
    maxInFlight: 1,
    timers: clock,
    metrics: new GatewayMetrics(false),
    logger: pino({ level: 'silent' }),
    onBatchLatency: (_fn, batch, latencyS) => {
      assert.ok(Math.abs(latencyS - 0.01) < 1e-9, `latency ${latencyS}`);
      seen.push({ batch, answeredBefore: answered.length });
      // The second throws: an observer's bug must not reach the serving loop or fail the batch.
      if (seen.length === 2) throw new Error('observer bug');
    },
  });
  await svc.start();
  const req = {
    id: undefined,
    app: undefined,
    deadlineMs: undefined,
    priority: undefined,
    samples: [[1, 2]],
    rows: 1,
    outputs: undefined,
  };
  const done = [svc.infer(req, 'a'), svc.infer(req, 'a')].map((p, i) =>
    p.then((a) => (answered.push(`r${i}`), a)),
  );
  const flush = () => new Promise((r) => setImmediate(r));
  for (let k = 0; k < 10 && seen.length < 2; k++) {
    await flush();
    if (clock.nextTime() !== Infinity) clock.runNext();
    await flush();
  }
  assert.deepEqual(
    seen.map((s) => [s.batch, s.answeredBefore]),
    [
      [1, 1],
      [1, 2],
    ],
    'one observation per batch (of 1), each after its own answer was delivered',
  );
  const answers = await Promise.all(done);
  assert.ok(
    answers.every((a) => a.ok),
    JSON.stringify(answers),
  );
  await svc.close();
});
