import type { z } from 'zod';

import { profileSchemas, sampleSetKey } from './profile-schema.ts';

const schemas = profileSchemas();
/** [α, β, γ] of L(c) = α·exp(−c/β) + γ, seconds, c in vCPU (harmonybatch design §4.1). */
export const ExpCoefSchema = schemas.ExpCoefSchema;
/**
 * The latencies measured for one function configuration (written by `hetserve profile` unless
 * `--no-samples`); see src/model/profile-schema.ts.
 */
export const LatencySampleSetSchema = schemas.LatencySampleSetSchema;
export type LatencySampleSet = z.output<typeof LatencySampleSetSchema>;
export { sampleSetKey };

/**
 * Latency/memory model of one DNN on serverless CPU and GPU functions (HarmonyBatch §4).
 * Written by `hetserve profile`, read by the serverless planner, simulator and gateway.
 * Defined in src/model/profile-schema.ts (built lazily there for the CLI's start-up).
 */
export const ServerlessProfileSchema = schemas.ServerlessProfileSchema;
export type ServerlessProfile = z.output<typeof ServerlessProfileSchema>;
export type ServerlessProfileInput = z.input<typeof ServerlessProfileSchema>;

/**
 * Measured latencies of one (function, batch size), from which the simulator picks a batch's
 * latency (built by src/profile/samples.ts#sampleLookup).
 */
export interface SampleDraw {
  /** Latencies, seconds, > 0, at least one. */
  latencies: readonly number[];
  source: 'samples' | 'scaled-samples';
}
