/**
 * The gateway's closed loop for one served model: every answered batch's backend time goes to the
 * calibrator (src/profile/calibration.ts); when it refits, the calibrated profile is written to the
 * configured directory, published in /metrics and at the admin endpoints, and the service re-plans
 * through its usual path (the plan function reads `profile`, so the re-plan uses the new curves).
 */
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TimerSource } from '../dispatch/clock.ts';
import { HetserveError, isHetserveError } from '../model/errors.ts';
import type { FunctionConfig } from '../model/plan.ts';
import type { ServerlessProfile } from '../model/profile.ts';
import {
  LatencyCalibrator,
  type CalibrationEvent,
  type CalibrationKeyStats,
} from '../profile/calibration.ts';
import type { CalibrationConfig } from '../model/calibration-config.ts';

export interface CalibrationLoopOptions {
  model: string;
  profile: ServerlessProfile;
  config: CalibrationConfig;
  /** `config.dir` resolved (absent: nothing written). */
  dir?: string;
  timers: TimerSource;
  registry: Registry;
  logger: Logger;
}

/** Events kept for the dashboard and the admin endpoint (the on-disk log keeps all). */
const KEEP_EVENTS = 50;

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export class CalibrationLoop {
  readonly calibrator: LatencyCalibrator;
  private readonly o: CalibrationLoopOptions;
  private readonly started: number;
  private onRefit: (ev: CalibrationEvent) => void = () => {};
  private readonly error: Gauge<'model' | 'config'>;
  private readonly count: Counter<'model'>;
  private readonly version: Gauge<'model'>;
  private readonly modelDir: string | undefined;

  constructor(o: CalibrationLoopOptions) {
    this.o = o;
    const { enabled: _e, dir: _d, ...tuning } = o.config;
    try {
      this.calibrator = new LatencyCalibrator(o.profile, tuning);
    } catch (e) {
      if (!isHetserveError(e)) throw e;
      throw new HetserveError('E_CONFIG_INVALID', e.message, { ...e.details });
    }
    this.started = o.timers.now();
    const registers = [o.registry];
    this.error = metric(
      o.registry,
      'hetserve_latency_prediction_error',
      () =>
        new Gauge({
          name: 'hetserve_latency_prediction_error',
          help: 'Measured mean batch latency / profile prediction − 1, per function configuration and batch size',
          labelNames: ['model', 'config'] as const,
          registers,
        }),
    );
    this.count = metric(
      o.registry,
      'hetserve_calibrations_total',
      () =>
        new Counter({
          name: 'hetserve_calibrations_total',
          help: 'Profile refits after a confirmed latency drift',
          labelNames: ['model'] as const,
          registers,
        }),
    );
    this.version = metric(
      o.registry,
      'hetserve_calibration_version',
      () =>
        new Gauge({
          name: 'hetserve_calibration_version',
          help: 'Version of the calibrated profile in use (0: the configured profile)',
          labelNames: ['model'] as const,
          registers,
        }),
    );
    this.count.labels(o.model).inc(0);
    this.version.labels(o.model).set(0);
    if (o.dir) {
      this.modelDir = join(o.dir, o.model);
      mkdirSync(this.modelDir, { recursive: true });
      this.write(0, undefined);
    }
  }

  /** The profile plans are made with now. */
  get profile(): ServerlessProfile {
    return this.calibrator.profile;
  }

  /** Called after each refit (the service's re-plan). */
  whenRefitted(fn: (ev: CalibrationEvent) => void): void {
    this.onRefit = fn;
  }

  /** One answered batch: `latencyS` of backend time on `fn` for `batch` requests. */
  observe(fn: FunctionConfig, batch: number, latencyS: number): void {
    let ev: CalibrationEvent | undefined;
    try {
      ev = this.calibrator.observe(fn, batch, latencyS, this.o.timers.now() - this.started);
    } catch (e) {
      // Called on the answer path: a calibration bug must never fail a served batch.
      this.o.logger.error({ model: this.o.model, err: (e as Error).message }, 'calibration failed');
      return;
    }
    if (!ev) return;
    this.count.labels(this.o.model).inc();
    this.version.labels(this.o.model).set(ev.version);
    this.o.logger.info(
      {
        model: this.o.model,
        version: ev.version,
        drifted: ev.drifted.map((d) => `${d.key} ×${d.ratio.toFixed(3)}`),
        errorBefore: +ev.errorBefore.toFixed(4),
        errorAfter: +ev.errorAfter.toFixed(4),
      },
      'latency drift confirmed; profile recalibrated, re-planning',
    );
    try {
      this.write(ev.version, ev);
    } catch (e) {
      // Serving goes on with the calibrated profile in memory; the disk copy is for people.
      this.o.logger.error(
        { model: this.o.model, err: (e as Error).message },
        'cannot write calibrated profile',
      );
    }
    this.onRefit(ev);
  }

  private write(version: number, ev: CalibrationEvent | undefined): void {
    if (!this.modelDir) return;
    writeFileSync(
      join(this.modelDir, `profile-v${version}.json`),
      JSON.stringify(this.calibrator.profile, null, 1) + '\n',
    );
    if (ev) appendFileSync(join(this.modelDir, 'calibration.jsonl'), JSON.stringify(ev) + '\n');
  }

  /** Refresh the prediction-error gauges (called once per dashboard tick). */
  tick(): CalibrationKeyStats[] {
    const stats = this.calibrator.stats();
    for (const s of stats) if (Number.isFinite(s.error)) this.error.labels(this.o.model, s.key).set(s.error);
    return stats;
  }

  /** What the dashboard and GET /admin/calibration show. */
  snapshot(): {
    enabled: true;
    version: number;
    dir: string | null;
    options: LatencyCalibrator['options'];
    stats: CalibrationKeyStats[];
    events: CalibrationEvent[];
    falseAlarms: number;
  } {
    const events = this.calibrator.events;
    return {
      enabled: true,
      version: this.calibrator.version,
      dir: this.modelDir ?? null,
      options: this.calibrator.options,
      stats: this.calibrator.stats(),
      events: events.slice(-KEEP_EVENTS),
      falseAlarms: this.calibrator.falseAlarms,
    };
  }
}
