/**
 * Serverless simulation (HarmonyBatch design §8): requests arrive, the dispatch core's batch manager
 * (run unchanged, on the virtual clock) forms batches per plan group, and every released batch runs
 * on its own function instance (functions scale out, so there is no queueing behind a busy one).
 *
 * Per batch: latency is drawn from N(avg, ((max − avg)/2.33)²) of the group's function at that batch
 * size (design §8.1: L_max is read as the 99th percentile), or uniformly from measured samples when
 * the model offers them for that function and batch size (`ServerlessModel.samples`; each group
 * reports which source its batches used); an optional cold start adds a fixed delay with a given
 * probability; the batch is billed
 * with the price table's granularity through the model's `batchCost`, and the cost is split equally
 * over its requests. A request violates its SLO when wait + batch latency > SLO.
 *
 * Re-planning (design §8.2): with a `replan` hook, the plan is recomputed at every segment boundary
 * (every simulated minute on traces) from that segment's rates, and handed to the batch manager with
 * `reconfigure`, which re-homes queued requests.
 */
import type { App } from '../model/app.ts';
import { HetserveError } from '../model/errors.ts';
import { parsePlan, type FunctionConfig, type Plan } from '../model/plan.ts';
import type { SampleDraw } from '../model/profile.ts';
import type {
  Batch,
  BatchManager,
  BatchManagerOptions,
  BatchPolicy,
  DispatchRequest,
} from '../dispatch/types.ts';
import type { TimerSource } from '../dispatch/clock.ts';
import { VirtualTimeSource } from '../dispatch/timers.ts';
import { runLoop, type ArrivalStream } from './engine.ts';
import { AppMetrics, BatchSizeHistogram, type AppSummary } from './metrics.ts';
import { Rng } from '../workload/rng.ts';
import { drawModelLatency, latencySd } from '../predict/latency.ts';

/** What the simulator needs from the performance/cost model (`Predictor` provides it). */
export interface ServerlessModel {
  /** Predicted batch latency, seconds: average and maximum (≈ p99). */
  latency(fn: FunctionConfig, batch: number): { avg: number; max: number };
  /** Cost of one invocation that ran `durationS` seconds on `fn` with `batch` requests (whole batch, not per request). */
  batchCost(fn: FunctionConfig, batch: number, durationS: number): number;
  /**
   * Optional measured latency samples for (fn, batch): when it returns a draw, batch latency is one
   * of its latencies picked uniformly at random instead of the normal draw. Called once per
   * (function, batch size) of each plan; see src/profile/samples.ts#sampleLookup.
   */
  samples?(fn: FunctionConfig, batch: number): SampleDraw | undefined;
}

/** Where a batch's latency came from: measured samples (as measured, or rescaled) or the avg/max model. */
export type LatencySource = 'samples' | 'scaled-samples' | 'model';

export type { SampleDraw };

/** Creates a batch manager (the dispatch core's `createBatchManager`). */
export type BatchManagerFactory = (options: BatchManagerOptions<number>) => BatchManager<number>;

export interface ColdStartOptions {
  /** Probability that a batch lands on a cold instance, 0..1 (default 0: off). */
  probability: number;
  /** Extra latency of a cold start, seconds (billed like the rest of the invocation). */
  durationS: number;
}

/**
 * Latency drift and online calibration (src/simulate/drift.ts): `scale` multiplies each drawn batch
 * latency; `observe` sees it (before any cold start) and may return a plan to install at once.
 */
export interface LatencyHook {
  scale(fn: FunctionConfig, t: number): number;
  observe(fn: FunctionConfig, batch: number, latencyS: number, t: number): Plan | null;
}

export interface ServerlessSimOptions {
  /** Applications (name, SLO); `arrivals` emits indexes into this list. */
  apps: readonly Pick<App, 'name' | 'slo'>[];
  /** Arrival stream (app = index into `apps`). */
  arrivals: ArrivalStream;
  /** The plan in force at time 0. */
  plan: Plan;
  /**
   * Re-planning hook, called at every multiple of `replanEveryS` (segment k starts at k·replanEveryS)
   * with the segment index; returns the plan for that segment (or null to keep the current one).
   * The planner's wall time is measured and reported.
   */
  replan?: (segment: number) => Plan | null;
  /** Re-planning period, seconds (default 60). */
  replanEveryS?: number;
  model: ServerlessModel;
  createBatchManager: BatchManagerFactory;
  /** Batching policy passed to the batch manager (default: its own default, the HarmonyBatch multi-timeout policy). */
  policy?: BatchPolicy;
  /** Seed of the latency/cold-start draws (default 1). Arrivals carry their own generator. */
  seed?: number;
  /** Simulated duration, seconds (default: until the arrivals end). Buffers are flushed at the end. */
  durationS?: number;
  coldStart?: ColdStartOptions;
  /**
   * 'paper' (default): a negative normal draw is redrawn (truncated normal). 'prototype': it becomes 0
   * and the batch's requests count as "bad requests" (counted, excluded from violations and cost).
   */
  compat?: 'paper' | 'prototype';
  /** Called after each segment (minute) with its index; for progress bars. */
  onSegment?: (segment: number) => void;
  /** Drift and calibration (default none). */
  latencyHook?: LatencyHook;
}

export interface SegmentStats {
  segment: number;
  requests: number;
  violations: number;
  cost: number;
  /** Plan's predicted cost per request in force during the segment. */
  predictedCostPerRequest: number;
  /** Wall time of the planner for this segment, ms (0 when no re-planning). */
  planningMs: number;
  groups: number;
}

export interface GroupBatchStats {
  /** Group key (its apps joined with ','). */
  group: string;
  batches: number;
  meanBatchSize: number;
  /** Empirical P(batch size = k), index k. */
  batchSizeDistribution: number[];
  /** Mean time from a batch's first arrival to its release, s (the equivalent timeout T^X when batches never fill). */
  meanFirstWait: number;
  /** Where this group's batch latencies came from: the one source of all its batches, or 'mixed'. */
  latencySource: LatencySource | 'mixed';
  /** Batches per latency source. */
  batchesBySource: Record<LatencySource, number>;
}

export interface ServerlessSimResult {
  requests: number;
  sloViolations: number;
  sloViolationRate: number;
  /** Measured total cost. */
  cost: number;
  costPerRequest: { measured: number; predicted: number };
  badRequests: number;
  batches: number;
  perApp: AppSummary[];
  perSegment: SegmentStats[];
  groups: GroupBatchStats[];
  planningMs: { total: number; mean: number; max: number };
  simulatedS: number;
  wallMs: number;
}

export function simulateServerless(o: ServerlessSimOptions): ServerlessSimResult {
  const wall0 = performance.now();
  const clock = new VirtualTimeSource();
  const rng = new Rng(o.seed ?? 1);
  const compatProto = o.compat === 'prototype';
  const cold = o.coldStart && o.coldStart.probability > 0 ? o.coldStart : undefined;
  const appIndex = new Map<string, number>();
  const metrics = o.apps.map((a, i) => {
    appIndex.set(a.name, i);
    return new AppMetrics(a.name, a.slo);
  });
  let routing = routePlan(o.plan, appIndex, o.apps.length);

  const segLen = o.replanEveryS ?? 60;
  const perSegment: SegmentStats[] = [];
  let seg: SegmentStats = newSegment(0, o.plan, 0);
  let plan = o.plan;
  let badRequests = 0;
  let batches = 0;
  const groupHists = new Map<string, BatchSizeHistogram>();
  const firstWaitSum = new Map<string, number>();
  const sourceCounts = new Map<string, Record<LatencySource, number>>();
  // Functions per group index of the plan in force and of the one before: a reconfiguration
  // releases the requests it cannot re-home in their old group, under the old plan's version.
  type LatParams = { avg: number; sd: number; draw: SampleDraw | undefined };
  type GroupFn = { fn: FunctionConfig; cache: (LatParams | undefined)[] };
  const groupFns = (p: Plan): GroupFn[] => p.groups.map((g) => ({ fn: g.function, cache: [] }));
  let version = 0;
  let fns = groupFns(routing.plan);
  let prevFns = fns;

  const onBatch = (b: Batch<number>): void => {
    const n = b.requests.length;
    if (n === 0) return;
    batches++;
    const key = b.group.key;
    const gf = (b.planVersion === version ? fns : prevFns)[b.group.index]!;
    const fn = gf.fn;
    const cache = gf.cache;
    let p = cache[n];
    if (p === undefined) {
      const l = o.model.latency(fn, n);
      const draw = o.model.samples?.(fn, n);
      p = {
        avg: l.avg,
        sd: latencySd(l.avg, l.max),
        draw: draw && draw.latencies.length > 0 ? draw : undefined,
      };
      cache[n] = p;
    }
    let lat: number;
    let bad = false;
    let sc = sourceCounts.get(key);
    if (sc === undefined) sourceCounts.set(key, (sc = { samples: 0, 'scaled-samples': 0, model: 0 }));
    if (p.draw) {
      lat = p.draw.latencies[Math.floor(rng.next() * p.draw.latencies.length)];
      sc[p.draw.source]++;
    } else {
      sc.model++;
      if (compatProto) {
        lat = p.avg + p.sd * rng.normal();
        if (lat <= 0) {
          lat = 0;
          bad = true;
        }
      } else lat = drawModelLatency(p.avg, p.sd, () => rng.normal());
    }
    if (o.latencyHook && !bad) {
      const hook = o.latencyHook;
      const l = (lat *= hook.scale(fn, b.releasedAt));
      // Seen when the batch answers, as a live gateway measures it; a timer also keeps the
      // swap out of this callback (reconfigure emits batches synchronously).
      clock.setTimer(b.releasedAt + l, () => {
        const next = hook.observe(fn, n, l, clock.now());
        if (next) install(next);
      });
    }
    if (cold && rng.next() < cold.probability) lat += cold.durationS;
    let h = groupHists.get(b.group.key);
    if (h === undefined) groupHists.set(b.group.key, (h = new BatchSizeHistogram()));
    h.record(n);
    let first = b.requests[0].arrival;
    for (let i = 1; i < n; i++) if (b.requests[i].arrival < first) first = b.requests[i].arrival;
    firstWaitSum.set(b.group.key, (firstWaitSum.get(b.group.key) ?? 0) + (b.releasedAt - first));
    if (bad) {
      badRequests += n;
      for (let i = 0; i < n; i++) {
        metrics[b.requests[i].payload].requests++;
        seg.requests++;
      }
      return;
    }
    const cost = o.model.batchCost(fn, n, lat);
    const per = cost / n;
    const now = b.releasedAt;
    seg.cost += cost;
    seg.requests += n;
    for (let i = 0; i < n; i++) {
      const r = b.requests[i];
      const m = metrics[r.payload];
      const wait = now - r.arrival;
      const total = wait + lat;
      m.record(total, wait, per);
      if (total > m.slo) seg.violations++;
    }
  };

  const mgr = o.createBatchManager({
    plan: routing.plan,
    timers: clock as TimerSource,
    onBatch,
    ...(o.policy ? { policy: o.policy } : {}),
  });

  const install = (next: Plan): void => {
    routing = routePlan(next, appIndex, o.apps.length);
    plan = next;
    prevFns = fns;
    fns = groupFns(routing.plan);
    version++; // before reconfigure: it emits batches of both versions synchronously
    mgr.reconfigure(routing.plan);
  };

  const planning: number[] = [];
  if (o.replan) {
    const replan = o.replan;
    const schedule = (k: number): void => {
      clock.setTimer(k * segLen, () => {
        perSegment.push(seg);
        o.onSegment?.(k - 1);
        const t0 = performance.now();
        const next = replan(k);
        const ms = performance.now() - t0;
        planning.push(ms);
        if (next) install(next);
        seg = newSegment(k, plan, ms);
        const more =
          o.durationS === undefined ? o.arrivals.time !== Infinity : (k + 1) * segLen < o.durationS;
        if (more) schedule(k + 1);
      });
    };
    schedule(1);
  }

  let nextId = 0;
  runLoop(
    clock,
    o.arrivals,
    (app, _size) => {
      const a = o.apps[app];
      const t = clock.now();
      const req: DispatchRequest<number> = {
        id: nextId++,
        app: routing.pick(app, rng),
        arrival: t,
        deadline: t + a.slo,
        payload: app,
      };
      const r = mgr.submit(req);
      if (!r.accepted)
        throw new HetserveError(
          'E_PLAN_APPS_MISMATCH',
          `simulate: request of app ${JSON.stringify(a.name)} refused by the batch manager (${r.reason}: ${r.message})`,
          {
            field: 'plan',
            value: a.name,
          },
        );
    },
    o.durationS ?? Infinity,
  );
  mgr.flush();
  perSegment.push(seg);
  o.onSegment?.(seg.segment);

  let requests = 0;
  let violations = 0;
  let cost = 0;
  const perApp = metrics.map((m) => {
    requests += m.requests;
    violations += m.violations;
    cost += m.cost;
    return m.summary();
  });
  let predW = 0;
  let predN = 0;
  for (const s of perSegment) {
    predW += s.predictedCostPerRequest * s.requests;
    predN += s.requests;
  }
  const served = requests - badRequests;
  const total = planning.reduce((a, b) => a + b, 0);
  return {
    requests,
    sloViolations: violations,
    sloViolationRate: served > 0 ? violations / served : 0,
    cost,
    costPerRequest: {
      measured: served > 0 ? cost / served : 0,
      predicted: predN > 0 ? predW / predN : plan.totalCostPerRequest,
    },
    badRequests,
    batches,
    perApp,
    perSegment,
    groups: [...groupHists].map(([group, h]) => ({
      group,
      batches: h.total,
      meanBatchSize: h.mean(),
      batchSizeDistribution: h.distribution(),
      meanFirstWait: (firstWaitSum.get(group) ?? 0) / h.total,
      ...latencySourceOf(sourceCounts.get(group)),
    })),
    planningMs: {
      total,
      mean: planning.length ? total / planning.length : 0,
      max: planning.length ? Math.max(...planning) : 0,
    },
    simulatedS: clock.now(),
    wallMs: performance.now() - wall0,
  };
}

function latencySourceOf(
  counts: Record<LatencySource, number> = { samples: 0, 'scaled-samples': 0, model: 0 },
): Pick<GroupBatchStats, 'latencySource' | 'batchesBySource'> {
  const used = (Object.keys(counts) as LatencySource[]).filter((k) => counts[k] > 0);
  return {
    latencySource: used.length === 1 ? used[0] : used.length === 0 ? 'model' : 'mixed',
    batchesBySource: counts,
  };
}

function newSegment(k: number, plan: Plan, planningMs: number): SegmentStats {
  return {
    segment: k,
    requests: 0,
    violations: 0,
    cost: 0,
    predictedCostPerRequest: plan.totalCostPerRequest,
    planningMs,
    groups: plan.groups.length,
  };
}

/**
 * Every app of the plan must be a known app (E_PLAN_APPS_MISMATCH naming the app), and the plan must
 * follow the plan rules every reader applies (src/model/plan.ts: split apps carry appRps shares).
 */
export function checkPlanMatchesApps(plan: Plan, apps: ReadonlyMap<string, number>): void {
  for (const g of plan.groups)
    for (const a of g.apps) {
      if (!apps.has(a))
        throw new HetserveError(
          'E_PLAN_APPS_MISMATCH',
          `plan group [${g.apps.join(', ')}] names app ${JSON.stringify(a)}, which is not among the applications`,
          { field: 'plan.groups.apps', value: a },
        );
    }
  parsePlan(plan);
}

/** A plan as the batch manager gets it, plus the manager-side app name of each app index. */
export interface PlanRouting {
  plan: Plan;
  pick(app: number, rng: Rng): string;
}

/**
 * The plan checked against the apps. Apps split across groups (MBS plans, `appRps`) are spread
 * over their groups by the batch manager itself, as in the gateway.
 */
export function routePlan(plan: Plan, apps: ReadonlyMap<string, number>, nApps: number): PlanRouting {
  checkPlanMatchesApps(plan, apps);
  const names: string[] = new Array<string>(nApps).fill('');
  for (const [a, i] of apps) names[i] = a;
  return { plan, pick: (app) => names[app] };
}
