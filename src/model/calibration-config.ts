/**
 * `calibration:` section of the gateway config (serverless mode): online latency calibration
 * (src/serve/calibration-loop.ts, docs/reference/calibration.md). Defaults are the calibrator's.
 */
import { z } from 'zod';

export const CalibrationConfigSchema = z
  .object({
    /** Learn batch latencies, refit the profile on drift and re-plan (default true). */
    enabled: z.boolean().default(true),
    /**
     * Directory the calibrated profiles are written to (relative to the config file), one
     * `<model>/profile-v<N>.json` per refit plus `<model>/calibration.jsonl` (one event a line).
     * Absent: kept in memory only (GET /admin/profile still serves it).
     */
    dir: z.string().min(1).optional(),
    /** Latencies kept per (function configuration, batch size) (default 256). */
    window: z.number().int().min(1).optional(),
    /** Samples of the recent mean, and fresh samples a suspect configuration needs (default 30). */
    minSamples: z.number().int().min(1).optional(),
    /** Samples before the tail is compared with the profile's maximum (default 100). */
    minTailSamples: z.number().int().min(1).optional(),
    /** Largest tolerated |measured mean / predicted average − 1| (default 0.15). */
    tolerance: z.number().gt(0).lt(10).optional(),
    /** Largest tolerated |measured p99 / predicted maximum − 1| (default 0.2). */
    tailTolerance: z.number().gt(0).lt(10).optional(),
    /** Observations in a row out of tolerance before a configuration is suspect (default 5). */
    confirm: z.number().int().min(1).optional(),
    /** Least seconds between two refits; a drift confirmed sooner waits (default 10). */
    minIntervalS: z.number().min(0).finite().optional(),
    /** Move unmeasured configurations of a resource kind by its measured drift (default true). */
    transfer: z.boolean().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const window = c.window ?? 256;
    for (const k of ['minSamples', 'minTailSamples'] as const)
      if (c[k] !== undefined && c[k] > window)
        ctx.addIssue({ code: 'custom', path: [k], message: `must be <= window (${window})` });
  });
export type CalibrationConfig = z.output<typeof CalibrationConfigSchema>;
