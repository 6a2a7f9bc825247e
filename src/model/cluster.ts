import type { z } from 'zod';

import { clusterSchemas } from './cluster-schema.ts';

// Built here for the package's users; the CLI's paths call clusterSchemas() where they validate.
const schemas = clusterSchemas();

/**
 * Per-query latency of one model on each instance type, by query (batch) size (kairos design §8).
 * Each type gives either samples (inference + loading, or totals) per size, or mean latencies.
 */
export const ClusterInstanceProfileSchema = schemas.ClusterInstanceProfileSchema;

export const ClusterProfileSchema = schemas.ClusterProfileSchema;
export type ClusterProfile = z.infer<typeof ClusterProfileSchema>;

export const InstanceTypeSchema = schemas.InstanceTypeSchema;

export const InstancePoolSchema = schemas.InstancePoolSchema;
export type InstancePool = z.infer<typeof InstancePoolSchema>;

/** One configuration: a count per instance type. */
export const ClusterConfigSchema = schemas.ClusterConfigSchema;
export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;

/**
 * Minimal contract of `hetserve allocate --json` that exporters and the gateway rely on; the
 * allocator may add fields (passthrough).
 */
export const AllocationSchema = schemas.AllocationSchema;
export type Allocation = z.infer<typeof AllocationSchema>;

/** GPUs per instance of a pool type: its `gpus`, else 1 for the base type or an AWS GPU family. */
export function instanceGpus(t: { name: string; base?: boolean; gpus?: number }): number {
  if (t.gpus !== undefined) return t.gpus;
  return t.base || /^(p\d|g\d|gr\d)/i.test(t.name) ? 1 : 0;
}
