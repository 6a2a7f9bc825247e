/** The cluster service (an instance pool behind the Kairos distributor) against the ModelService suite. */
import pino from 'pino';
import { ClusterService } from '../../src/serve/cluster.ts';
import { GatewayMetrics } from '../../src/serve/metrics.ts';
import { IO, runModelServiceConformance } from './model-service.case.ts';

runModelServiceConformance('cluster', async (s) => {
  const svc = new ClusterService({
    io: IO,
    apps: s.apps,
    instances: Array.from({ length: s.slots }, (_, i) => ({
      name: `i${i}`,
      type: 'cpu',
      backend: s.backend(`i${i}`),
    })),
    qosMs: 1000,
    baseType: 'cpu',
    estimateMs: () => s.latencyS * 1000,
    timers: s.clock,
    metrics: new GatewayMetrics(false),
    logger: pino({ level: 'silent' }),
  });
  await svc.start();
  return svc;
});
