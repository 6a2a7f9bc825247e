/**
 * The serverless service's admission path in virtual time: Poisson arrivals per app, the deadline
 * admission (src/serve/admission.ts), the real batch manager (full batches or per-app timeouts,
 * maxInFlight slots) and a backend whose batches take a fixed or drawn latency. The same steps
 * as src/serve/service.ts (decide, add, submit; answer, done, observe, complete), without I/O, so a
 * claim about goodput under overload is checked exactly and fast.
 */
import { createBatchManager } from '../../src/dispatch/batch-manager.ts';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import type { Plan } from '../../src/model/plan.ts';
import { DeadlineAdmission } from '../../src/serve/admission.ts';
import { poissonArrivals } from '../../src/workload/arrivals.ts';
import { Rng } from '../../src/workload/rng.ts';

export interface SimApp {
  name: string;
  /** SLO, seconds. */
  slo: number;
  /** Planned rate, req/s (the plan's and the admission's). */
  planned: number;
  /** Offered rate, req/s (Poisson). */
  offered: number;
}

export interface SimOptions {
  apps: readonly SimApp[];
  batchSize: number;
  concurrency: number;
  /** The plan's batch latency, seconds. */
  latency: { avg: number; max: number };
  /** Latency of each batch, seconds (default: the plan's avg). */
  draw?: (rng: Rng) => number;
  /** Batching timeout of every app, seconds. */
  timeout: number;
  durationS: number;
  seed: number;
  /** Report running batches to the admission (begin/end, decide's nowS), as the service does (default true). */
  reportBatches?: boolean;
  /**
   * Queue a flood's excess as deferred (the admission's decision, as the service does), so the
   * apps within their share overtake it (default true); false: one FIFO queue.
   */
  deferExcess?: boolean;
}

export interface SimAppResult {
  sent: number;
  admitted: number;
  /** Answered within the SLO. */
  met: number;
  /** Of `admitted`, dropped before running because they could no longer make their deadline. */
  shed: number;
}

export interface SimResult {
  capacity: number;
  /** Answers within SLO per second, all apps. */
  goodput: number;
  /** Of admitted requests, the share answered within their SLO. */
  admittedInSlo: number;
  apps: Record<string, SimAppResult>;
  /** Latency of each answered request per app, seconds, in answer order. */
  latencies: Record<string, number[]>;
}

export function simulateAdmission(o: SimOptions): SimResult {
  const clock = new VirtualTimeSource();
  const rng = new Rng(o.seed);
  const names = o.apps.map((a) => a.name);
  const slo = Object.fromEntries(o.apps.map((a) => [a.name, a.slo]));
  const plan: Plan = {
    kind: 'serverless-plan',
    algorithm: 'sim',
    model: 'm',
    priceTable: 'prototype-cny',
    currency: 'CNY',
    compat: 'paper',
    totalCostPerRequest: 1e-6,
    groups: [
      {
        apps: names,
        function: { kind: 'cpu', vcpu: 1, memoryGb: 2 },
        batchSize: o.batchSize,
        timeouts: Object.fromEntries(names.map((a) => [a, o.timeout])),
        costPerRequest: 1e-6,
        trafficShare: 1,
        weightedCost: 1e-6,
        rps: o.apps.reduce((s, a) => s + a.planned, 0),
        latency: o.latency,
        slack: Object.fromEntries(o.apps.map((a) => [a.name, a.slo - o.timeout - o.latency.max])),
      },
    ],
    excluded: [],
    apps: o.apps.map((a) => ({ name: a.name, slo: a.slo, rps: a.planned })),
  };
  const adm = new DeadlineAdmission([
    {
      apps: names,
      batchSize: o.batchSize,
      concurrency: o.concurrency,
      latency: o.latency,
      rps: Object.fromEntries(o.apps.map((a) => [a.name, a.planned])),
      slo,
    },
  ]);
  const res: Record<string, SimAppResult> = Object.fromEntries(
    names.map((a) => [a, { sent: 0, admitted: 0, met: 0, shed: 0 }]),
  );
  const latencies: Record<string, number[]> = Object.fromEntries(names.map((a) => [a, []]));
  const manager = createBatchManager<{ app: string; arrival: number; deferred: boolean }>({
    plan,
    timers: clock,
    maxInFlight: o.concurrency,
    capacity: 1_000_000,
    // As the service: a deferred request that can no longer make its deadline is answered at once (429).
    lateAtRelease: 'drop-deferred',
    deferredLatency: (g) => adm.batchBound(g.apps[0]) ?? 0,
    onDrop: (r) => {
      adm.done(r.app, 1, r.payload.deferred);
      res[r.app].shed++;
    },
    onBatch: (b) => {
      const dt = o.draw ? o.draw(rng) : o.latency.avg;
      const running =
        o.reportBatches === false ? undefined : adm.begin(b.requests[0].app, b.requests.length, clock.now());
      clock.setTimer(clock.now() + dt, () => {
        if (running !== undefined) adm.end(running);
        const t = clock.now();
        for (const r of b.requests) {
          adm.done(r.app, 1, r.payload.deferred);
          latencies[r.app].push(t - r.arrival);
          if (t - r.arrival <= slo[r.app] + 1e-9) res[r.app].met++;
        }
        adm.observe(b.requests[0].app, dt);
        manager.complete(b);
      });
    },
  });
  const arrivals = poissonArrivals(
    o.apps.map((a) => a.offered),
    rng,
    { end: o.durationS },
  );
  for (let id = 0; arrivals.time < Infinity; arrivals.advance(), id++) {
    const t = arrivals.time;
    const app = names[arrivals.app];
    clock.advanceTo(t);
    res[app].sent++;
    const d = adm.decide(app, 1, slo[app], o.reportBatches === false ? undefined : t);
    if (!d.admit) continue;
    const deferred = d.deferred === true && o.deferExcess !== false;
    adm.add(app, 1, deferred);
    res[app].admitted++;
    manager.submit({
      id,
      app,
      arrival: t,
      deadline: t + slo[app],
      deferred,
      payload: { app, arrival: t, deferred },
    });
  }
  clock.runAll();
  const capacity = (o.batchSize * o.concurrency) / o.latency.avg;
  let met = 0;
  let admitted = 0;
  for (const r of Object.values(res)) {
    met += r.met;
    admitted += r.admitted - r.shed;
  }
  return {
    capacity,
    goodput: met / o.durationS,
    admittedInSlo: admitted ? met / admitted : 1,
    apps: res,
    latencies,
  };
}
