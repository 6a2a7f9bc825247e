/**
 * Latency drift in the simulator and the calibration loop that answers it: `--drift cpu:1.5@10`
 * makes every CPU function's batch latency 1.5× from simulated minute 10 on; with a calibrator the
 * simulator feeds it every batch latency (as the live gateway does) and, when it refits, re-plans
 * at once on the calibrated profile.
 */
import { HetserveError } from '../model/errors.ts';
import type { FunctionConfig, Plan } from '../model/plan.ts';
import type { LatencyCalibrator, CalibrationEvent } from '../profile/calibration.ts';
import type { LatencyHook, SegmentStats } from './serverless.ts';

export interface DriftSpec {
  kind: 'cpu' | 'gpu';
  /** Factor on the latency, > 0. */
  factor: number;
  /** Simulated minute it starts (integer >= 0). */
  minute: number;
}

/** Parse `<cpu|gpu>:<factor>@<minute>` (E_INVALID_OPTION naming `drift` and the value otherwise). */
export function parseDrift(raw: string): DriftSpec {
  const m = /^(cpu|gpu):([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)@(\d+)$/i.exec(raw.trim());
  const factor = m ? Number(m[2]) : NaN;
  if (!m || !(factor > 0) || !Number.isFinite(factor))
    throw new HetserveError(
      'E_INVALID_OPTION',
      `--drift: expected <cpu|gpu>:<factor>@<minute> with factor > 0 and a whole minute, e.g. cpu:1.5@10; got ${JSON.stringify(raw)}`,
      { field: 'drift', value: raw },
    );
  return { kind: m[1].toLowerCase() as 'cpu' | 'gpu', factor, minute: Number(m[3]) };
}

/** Latency factor of a function kind at time t (s): the product of the drifts begun by then. */
export function driftFactor(drifts: readonly DriftSpec[], kind: 'cpu' | 'gpu', t: number): number {
  let f = 1;
  for (const d of drifts) if (d.kind === kind && t >= d.minute * 60) f *= d.factor;
  return f;
}

export interface CalibrationLoopRecord {
  /** Refits, in order, with the simulated time they happened. */
  events: CalibrationEvent[];
  /** Re-plans the refits caused (a refit whose plan equals the current one still counts here). */
  replans: number;
}

/**
 * The simulator's latency hook: applies the drifts and, with a calibrator, feeds it every batch
 * latency; a refit returns `replanNow(t)` (a plan made on the calibrated profile) to install.
 */
export function driftHook(
  drifts: readonly DriftSpec[],
  calibrator: LatencyCalibrator | undefined,
  replanNow: (t: number) => Plan | null,
  record: CalibrationLoopRecord = { events: [], replans: 0 },
): LatencyHook {
  return {
    scale: (fn: FunctionConfig, t: number) => (drifts.length ? driftFactor(drifts, fn.kind, t) : 1),
    observe: (fn: FunctionConfig, batch: number, latencyS: number, t: number) => {
      const ev = calibrator?.observe(fn, batch, latencyS, t);
      if (!ev) return null;
      record.events.push(ev);
      record.replans++;
      return replanNow(t);
    },
  };
}

export interface PhaseStats {
  /** First minute of the phase (inclusive) and the minute after it. */
  fromMinute: number;
  toMinute: number;
  requests: number;
  sloViolations: number;
  sloViolationRate: number;
  /** Measured cost per request in the phase. */
  costPerRequest: number;
}

/** Per-phase totals: phases are cut at every drift's minute. */
export function phaseStats(perSegment: readonly SegmentStats[], drifts: readonly DriftSpec[]): PhaseStats[] {
  const end = perSegment.reduce((m, s) => Math.max(m, s.segment + 1), 0);
  const cuts = [...new Set([0, ...drifts.map((d) => d.minute).filter((m) => m > 0 && m < end), end])].sort(
    (a, b) => a - b,
  );
  const out: PhaseStats[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [lo, hi] = [cuts[i], cuts[i + 1]];
    let requests = 0;
    let violations = 0;
    let cost = 0;
    for (const s of perSegment)
      if (s.segment >= lo && s.segment < hi) {
        requests += s.requests;
        violations += s.violations;
        cost += s.cost;
      }
    out.push({
      fromMinute: lo,
      toMinute: hi,
      requests,
      sloViolations: violations,
      sloViolationRate: requests > 0 ? violations / requests : 0,
      costPerRequest: requests > 0 ? cost / requests : 0,
    });
  }
  return out;
}
