/**
 * Serverless scenarios: a plan + simulation of apps under a trace (re-planned every minute, as the
 * HarmonyBatch experiment does, design §8.2) or under constant Poisson rates (planned once).
 * The planner is injected (`planFor`), so the same runner serves every algorithm of the registry.
 */
import type { App } from '../model/app.ts';
import { HetserveError } from '../model/errors.ts';
import type { Plan } from '../model/plan.ts';
import { createBatchManager } from '../dispatch/batch-manager.ts';
import type { BatchPolicy } from '../dispatch/types.ts';
import type { Predictor } from '../predict/index.ts';
import { predictorModel } from './models.ts';
import { Rng } from '../workload/rng.ts';
import {
  simulateServerless,
  type ColdStartOptions,
  type ServerlessModel,
  type ServerlessSimResult,
} from './serverless.ts';
import type { LatencyCalibrator } from '../profile/calibration.ts';
import { driftHook, type CalibrationLoopRecord, type DriftSpec } from './drift.ts';
import { mmppArrivals, poissonArrivals, traceArrivals } from '../workload/arrivals.ts';

/** Plans the given apps (rates of the current minute); apps with rate 0 are the planner's to exclude. */
export type PlanFor = (apps: App[]) => Plan;

export interface ScenarioCommon {
  /** Applications: name and SLO (s). */
  apps: readonly { name: string; slo: number }[];
  planFor: PlanFor;
  /** The predictor the plans were made with: its latency model and price table drive the simulation. */
  predictor: Predictor;
  /** Seed of arrivals (seed) and latency draws (seed + 1). Default 1. */
  seed?: number;
  coldStart?: ColdStartOptions;
  policy?: BatchPolicy;
  compat?: 'paper' | 'prototype';
  /** Measured latency samples to draw from (src/profile/samples.ts#sampleLookup). Default: none, the model's draw. */
  samples?: ServerlessModel['samples'];
  onMinute?: (minute: number) => void;
  /** Latency drifts (src/simulate/drift.ts; default none). */
  drift?: readonly DriftSpec[];
  /**
   * Online calibration: fed every batch latency; on a refit the apps are re-planned at once with
   * `planFor` (which should plan on `calibrator.profile`). Refits are appended to `calibration`.
   */
  calibrator?: LatencyCalibrator;
  calibration?: CalibrationLoopRecord;
}

function hookOf(s: ScenarioCommon, ratesAt: (t: number) => number[]) {
  if (!s.drift?.length && !s.calibrator) return {};
  return {
    latencyHook: driftHook(
      s.drift ?? [],
      s.calibrator,
      (t) => s.planFor(appsAt(s.apps, ratesAt(t))),
      s.calibration,
    ),
  };
}

export interface TraceScenario extends ScenarioCommon {
  /** Per-app request counts per minute (index-aligned with `apps`). */
  counts: readonly (readonly number[])[];
  /** First minute replayed (default 0). */
  from?: number;
  /** Minutes replayed (default: to the end of the longest trace). */
  minutes?: number;
}

export interface ScenarioResult extends ServerlessSimResult {
  /** The plan in force at time 0. */
  initialPlan: Plan;
  /** Wall time of the first planning, ms. */
  initialPlanningMs: number;
}

function appsAt(apps: ScenarioCommon['apps'], rates: readonly number[]): App[] {
  return apps.map((a, i) => ({ name: a.name, slo: a.slo, rps: rates[i] }));
}

/** Trace replay with re-planning at every minute from that minute's rates (count / 60). */
export function runTraceScenario(s: TraceScenario): ScenarioResult {
  if (s.counts.length !== s.apps.length)
    throw new HetserveError(
      'E_TRACE_INVALID',
      `trace: ${s.counts.length} trace(s) for ${s.apps.length} application(s)`,
      {
        field: 'trace',
        value: s.counts.length,
      },
    );
  const len = Math.max(...s.counts.map((c) => c.length));
  const from = s.from ?? 0;
  const minutes = Math.min(s.minutes ?? len - from, len - from);
  if (!(minutes > 0))
    throw new HetserveError(
      'E_INVALID_OPTION',
      `minutes: the trace has ${len} minute(s), nothing left after minute ${from}`,
      {
        field: 'minutes',
        value: s.minutes,
      },
    );
  const ratesAt = (k: number): number[] => s.counts.map((c) => (c[from + k] ?? 0) / 60);
  const busy = (k: number): boolean => ratesAt(k).some((r) => r > 0);
  let k0 = 0;
  while (k0 < minutes && !busy(k0)) k0++;
  if (k0 === minutes)
    throw new HetserveError('E_TRACE_INVALID', 'trace: every request count is 0 in the replayed minutes', {
      field: 'trace',
      value: 0,
    });
  const t0 = performance.now();
  const initialPlan = s.planFor(appsAt(s.apps, ratesAt(k0)));
  const initialPlanningMs = performance.now() - t0;
  const seed = s.seed ?? 1;
  const r = simulateServerless({
    apps: s.apps,
    arrivals: traceArrivals(s.counts, new Rng(seed), { from, minutes }),
    plan: initialPlan,
    // A minute with no traffic keeps the plan in force.
    replan: (k) => (busy(k) ? s.planFor(appsAt(s.apps, ratesAt(k))) : null),
    replanEveryS: 60,
    durationS: minutes * 60,
    model: s.samples ? { ...predictorModel(s.predictor), samples: s.samples } : predictorModel(s.predictor),
    createBatchManager,
    seed: seed + 1,
    ...(s.coldStart ? { coldStart: s.coldStart } : {}),
    ...(s.policy ? { policy: s.policy } : {}),
    ...(s.compat ? { compat: s.compat } : {}),
    ...(s.onMinute ? { onSegment: s.onMinute } : {}),
    ...hookOf(s, (t) => ratesAt(Math.min(minutes - 1, Math.floor(t / 60)))),
  });
  // Planning statistics over every planner call, the first one included.
  const calls = r.perSegment.filter((x) => x.segment > 0 && x.planningMs > 0).length + 1;
  const total = r.planningMs.total + initialPlanningMs;
  return {
    ...r,
    planningMs: { total, mean: total / calls, max: Math.max(r.planningMs.max, initialPlanningMs) },
    initialPlan,
    initialPlanningMs,
  };
}

export interface ConstantScenario extends ScenarioCommon {
  /** Per-app rates, req/s (> 0 for at least one app). */
  rates: readonly number[];
  /** Simulated seconds (default 600). */
  durationS?: number;
  /**
   * Bursty arrivals (two-state MMPP) instead of Poisson: normal rates for an exponential time of
   * mean `normalS`, then `factor` × the rates for a mean `burstS`, and so on. The plan is made
   * for the normal rates. Default: none.
   */
  burst?: { factor: number; normalS: number; burstS: number };
}

/** Constant Poisson rates, planned once. Progress is reported per simulated minute. */
export function runConstantScenario(s: ConstantScenario): ScenarioResult {
  if (!s.rates.some((r) => r > 0))
    throw new HetserveError('E_APP_INVALID', 'apps: every rate is 0; nothing to simulate', {
      field: 'apps.rps',
      value: s.rates,
    });
  const duration = s.durationS ?? 600;
  const t0 = performance.now();
  const initialPlan = s.planFor(appsAt(s.apps, s.rates));
  const initialPlanningMs = performance.now() - t0;
  const seed = s.seed ?? 1;
  const r = simulateServerless({
    apps: s.apps,
    arrivals: s.burst
      ? mmppArrivals(
          [
            { rates: s.rates, meanSojournS: s.burst.normalS },
            { rates: s.rates.map((r) => r * s.burst!.factor), meanSojournS: s.burst.burstS },
          ],
          new Rng(seed),
          { end: duration },
        )
      : poissonArrivals(s.rates, new Rng(seed), { end: duration }),
    plan: initialPlan,
    // Segments of a minute only for progress and per-minute figures: the plan never changes.
    replan: () => null,
    replanEveryS: 60,
    durationS: duration,
    model: s.samples ? { ...predictorModel(s.predictor), samples: s.samples } : predictorModel(s.predictor),
    createBatchManager,
    seed: seed + 1,
    ...(s.coldStart ? { coldStart: s.coldStart } : {}),
    ...(s.policy ? { policy: s.policy } : {}),
    ...(s.compat ? { compat: s.compat } : {}),
    ...(s.onMinute ? { onSegment: s.onMinute } : {}),
    ...hookOf(s, () => [...s.rates]),
  });
  return {
    ...r,
    planningMs: { total: initialPlanningMs, mean: initialPlanningMs, max: initialPlanningMs },
    initialPlan,
    initialPlanningMs,
  };
}
