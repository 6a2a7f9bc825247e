/**
 * The cluster documents' zod schemas (profile, pool, allocation), built on first use
 * (`clusterSchemas()`): constructing them took ~8 % of a cold `hetserve allocate`, which reads a
 * bundled profile and validates nothing. src/model/cluster.ts exports them built.
 */
import { z } from 'zod';

function buildClusterSchemas() {
  /**
   * Per-query latency of one model on each instance type, by query (batch) size (kairos design §8).
   * Each type gives either samples (inference + loading, or totals) per size, or mean latencies.
   */
  const ClusterInstanceProfileSchema = z
    .object({
      inferMs: z.array(z.array(z.number().nonnegative())).optional(),
      loadMs: z.array(z.array(z.number().nonnegative())).optional(),
      totalMs: z.array(z.array(z.number().nonnegative())).optional(),
      meanMs: z.array(z.number().nonnegative()).optional(),
    })
    .strict()
    .refine((p) => p.totalMs || p.meanMs || p.inferMs, {
      message: 'needs inferMs(+loadMs), totalMs or meanMs',
    });

  const ClusterProfileSchema = z
    .object({
      model: z.string().min(1),
      unit: z.literal('ms'),
      batchSizes: z.array(z.number().int().positive()).min(1),
      source: z.string().optional(),
      note: z.string().optional(),
      samplesPerBatch: z.number().int().positive().optional(),
      instances: z.record(z.string(), ClusterInstanceProfileSchema),
    })
    .strict();

  const InstanceTypeSchema = z
    .object({
      name: z.string().min(1),
      priceUsdPerHour: z.number().finite().positive('must be a positive USD/h price'),
      maxCount: z.number().int().nonnegative().optional(),
      /** The accelerated type that meets QoS for every size on its own. */
      base: z.boolean().default(false),
      /**
       * GPUs per instance. Default: 1 for the base type and for AWS GPU families (p*, g* such as
       * g4dn.xlarge), 0 otherwise (see `instanceGpus`).
       */
      gpus: z.number().int().nonnegative().optional(),
    })
    .strict();
  const InstancePoolSchema = z
    .object({ types: z.array(InstanceTypeSchema).min(1), budgetUsdPerHour: z.number().positive().optional() })
    .strict();

  /** One configuration: a count per instance type. */
  const ClusterConfigSchema = z
    .object({
      counts: z.record(z.string(), z.number().int().nonnegative()),
      costUsdPerHour: z.number().nonnegative(),
      upperBoundQps: z.number().nonnegative(),
      lpBoundQps: z.number().nonnegative().optional(),
      /** 1-based rank in the planner's ranking (0 for the homogeneous baseline). */
      rank: z.number().int().nonnegative().optional(),
      /** Closed-form upper bound of the LP estimate (weak duality). */
      fluidBoundQps: z.number().nonnegative().optional(),
    })
    .passthrough();

  /**
   * Minimal contract of `hetserve allocate --json` that exporters and the gateway rely on; the
   * allocator may add fields (passthrough).
   */
  const AllocationSchema = z
    .object({
      kind: z.literal('cluster-allocation'),
      model: z.string(),
      budgetUsdPerHour: z.number().positive(),
      qosMs: z.number().positive(),
      percentile: z.number().gt(0).lt(100),
      pool: z.array(InstanceTypeSchema),
      chosen: ClusterConfigSchema,
      // Optional report fields written by `hetserve allocate` (src/plan/cluster/allocate.ts).
      compat: z.enum(['prototype']).nullable().optional(),
      rankBy: z.enum(['ub', 'lp']).optional(),
      select: z.enum(['similarity', 'top1', 'verified']).optional(),
      top1: ClusterConfigSchema.optional(),
      runnersUp: z.array(ClusterConfigSchema).optional(),
      homogeneous: ClusterConfigSchema.extend({ scaledToBudgetQps: z.number().nonnegative() })
        .nullable()
        .optional(),
      gainOverHomogeneous: z.number().nullable().optional(),
      lpRankingExact: z.boolean().optional(),
      feasibleConfigs: z.number().int().nonnegative().optional(),
      productSize: z.number().nonnegative().optional(),
    })
    .passthrough();
  return {
    ClusterInstanceProfileSchema,
    ClusterProfileSchema,
    InstanceTypeSchema,
    InstancePoolSchema,
    ClusterConfigSchema,
    AllocationSchema,
  };
}

let built: ReturnType<typeof buildClusterSchemas> | undefined;

/** The schemas of src/model/cluster.ts, built once. */
export function clusterSchemas(): ReturnType<typeof buildClusterSchemas> {
  return (built ??= buildClusterSchemas());
}
