/**
 * `simulate serverless --drift … --calibrate on|off`: option parsing and the per-run report (phases
 * cut at each drift's minute, refits). Kept apart from the command so the command stays small.
 */
import { HetserveError } from '../../../model/errors.ts';
import type { ServerlessProfile } from '../../../model/profile.ts';
import type { CalibrationEvent, LatencyCalibrator } from '../../../profile/calibration.ts';
import {
  parseDrift,
  phaseStats,
  type CalibrationLoopRecord,
  type DriftSpec,
  type PhaseStats,
} from '../../../simulate/drift.ts';
import type { ScenarioResult } from '../../../simulate/scenarios.ts';
import { textTable } from '../../../experiments/report.ts';

export interface DriftCliOptions {
  drifts: DriftSpec[];
  calibrate: boolean;
  /** Fields added to the run's metadata. */
  meta: { drift: string[]; calibrate: 'on' | 'off' };
  /** A fresh calibrator (when on) and the scenario fields for one algorithm's run. */
  loop(profile: ServerlessProfile): Promise<DriftLoop>;
}

export interface DriftLoop {
  calibrator: LatencyCalibrator | undefined;
  record: CalibrationLoopRecord;
  scenario: { drift?: DriftSpec[]; calibrator?: LatencyCalibrator; calibration?: CalibrationLoopRecord };
}

export interface DriftRunReport {
  drift: {
    /** Totals per phase: [0, first drift minute), …, [last drift minute, end). */
    phases: PhaseStats[];
    calibration: {
      enabled: boolean;
      /** Version of the calibrated profile at the end (0: never refitted). */
      version: number;
      replans: number;
      events: CalibrationEvent[];
    };
  };
}

export function driftOptions(raw: string[] | undefined, calibrate: string | undefined): DriftCliOptions {
  const c = calibrate ?? 'on';
  if (c !== 'on' && c !== 'off')
    throw new HetserveError(
      'E_INVALID_OPTION',
      `--calibrate: must be 'on' or 'off', got ${JSON.stringify(c)}`,
      {
        field: 'calibrate',
        value: c,
      },
    );
  const drifts = (raw ?? []).map(parseDrift);
  return {
    drifts,
    calibrate: c === 'on',
    meta: { drift: (raw ?? []).map((d) => d.trim()), calibrate: c },
    async loop(profile) {
      const record: CalibrationLoopRecord = { events: [], replans: 0 };
      let calibrator: LatencyCalibrator | undefined;
      if (c === 'on') {
        const { LatencyCalibrator } = await import('../../../profile/calibration.ts');
        calibrator = new LatencyCalibrator(profile);
      }
      return {
        calibrator,
        record,
        scenario: {
          ...(drifts.length ? { drift: drifts } : {}),
          ...(calibrator ? { calibrator, calibration: record } : {}),
        },
      };
    },
  };
}

export function driftReport(o: DriftCliOptions, loop: DriftLoop, r: ScenarioResult): DriftRunReport {
  return {
    drift: {
      phases: phaseStats(r.perSegment, o.drifts),
      calibration: {
        enabled: o.calibrate,
        version: loop.calibrator?.version ?? 0,
        replans: loop.record.replans,
        events: loop.record.events,
      },
    },
  };
}

/** Text-mode lines: per-phase SLO violations and cost, and the refits (nothing without drift or refits). */
export function driftTables(
  runs: readonly { algorithm: string; drift?: DriftRunReport['drift'] }[],
): string[] {
  const withDrift = runs.filter(
    (r) => r.drift && (r.drift.phases.length > 1 || r.drift.calibration.version > 0),
  );
  if (withDrift.length === 0) return [];
  const out = ['', 'per drift phase (calibration on: refit and re-plan on confirmed drift)'];
  out.push(
    textTable(
      ['algorithm', 'minutes', 'requests', 'SLO viol. %', 'cost/req measured', 'refits'],
      withDrift.flatMap((r) =>
        r.drift!.phases.map((p) => [
          r.algorithm,
          `${p.fromMinute}-${p.toMinute}`,
          p.requests,
          100 * p.sloViolationRate,
          p.costPerRequest,
          r.drift!.calibration.events.filter((e) => e.at >= p.fromMinute * 60 && e.at < p.toMinute * 60)
            .length,
        ]),
      ),
    ),
  );
  for (const r of withDrift)
    for (const e of r.drift!.calibration.events)
      out.push(
        `${r.algorithm}: refit v${e.version} at ${(e.at / 60).toFixed(2)} min: ` +
          e.drifted.map((d) => `${d.key} x${d.ratio.toFixed(3)}${d.tail ? ' (tail)' : ''}`).join(', '),
      );
  return out;
}
