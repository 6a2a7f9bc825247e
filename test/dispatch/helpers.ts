/** Shared fixtures for the dispatch tests and conformance suites. */
import { createBatchManager } from '../../src/dispatch/batch-manager.ts';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import type { Batch, BatchPolicy } from '../../src/dispatch/types.ts';
import type { Plan } from '../../src/model/plan.ts';

export interface GroupSpec {
  apps: string[];
  batchSize: number;
  /** Per-app timeouts, seconds (same order as apps). */
  timeouts: number[];
  /** Predicted max batch latency, seconds (default 0.05). */
  latencyMax?: number;
}

/** A schema-complete serverless plan built from group specs (numbers that don't matter are 0). */
export function makePlan(groups: GroupSpec[]): Plan {
  return {
    kind: 'serverless-plan',
    algorithm: 'test',
    model: 'test',
    priceTable: 'test',
    currency: 'USD',
    compat: 'paper',
    totalCostPerRequest: 0,
    excluded: [],
    apps: groups.flatMap((g) => g.apps.map((name) => ({ name, slo: 1, rps: 1 }))),
    groups: groups.map((g) => ({
      apps: g.apps,
      function: { kind: 'cpu' as const, vcpu: 1, memoryGb: 1 },
      batchSize: g.batchSize,
      timeouts: Object.fromEntries(g.apps.map((a, i) => [a, g.timeouts[i]!])),
      costPerRequest: 0,
      trafficShare: 0,
      weightedCost: 0,
      rps: 0,
      latency: { avg: g.latencyMax ?? 0.05, max: g.latencyMax ?? 0.05 },
      slack: Object.fromEntries(g.apps.map((a) => [a, 0])),
    })),
  };
}

/** Two apps in one group (timeouts a = 100 ms, b = 20 ms); a at t=0, b at t=50 ms. */
export function twoArrivals(policy: BatchPolicy): Batch<number>[] {
  const timers = new VirtualTimeSource();
  const out: Batch<number>[] = [];
  const m = createBatchManager<number>({
    plan: makePlan([{ apps: ['a', 'b'], batchSize: 8, timeouts: [0.1, 0.02], latencyMax: 0.05 }]),
    timers,
    policy,
    onBatch: (b) => out.push(b),
  });
  m.submit({ id: 'a1', app: 'a', arrival: 0, deadline: 0.3, payload: 1 });
  timers.advanceTo(0.05);
  m.submit({ id: 'b1', app: 'b', arrival: 0.05, deadline: 0.2, payload: 2 });
  timers.runAll();
  return out;
}
