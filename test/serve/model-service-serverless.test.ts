/** The serverless service (plan groups behind the batch manager) against the ModelService suite. */
import pino from 'pino';
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
