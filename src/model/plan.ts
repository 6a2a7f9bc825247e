import { z } from 'zod';

/** A serverless function configuration: CPU (vCPU + RAM) or GPU (GPU memory slice + vCPU + RAM). */
export const FunctionConfigSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('cpu'),
      vcpu: z.number().positive(),
      memoryGb: z.number().positive(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('gpu'),
      gpuMemoryGb: z.number().int().positive(),
      vcpu: z.number().positive(),
      memoryGb: z.number().positive(),
    })
    .strict(),
]);
export type FunctionConfig = z.infer<typeof FunctionConfigSchema>;

export const PlanGroupSchema = z
  .object({
    /** Application names, in SLO order. */
    apps: z.array(z.string()).min(1),
    function: FunctionConfigSchema,
    batchSize: z.number().int().positive(),
    /** Per-application batching timeout, seconds, keyed by app name. */
    timeouts: z.record(z.string(), z.number().nonnegative()),
    /** Predicted cost per request of this group (price-table currency). */
    costPerRequest: z.number().nonnegative(),
    /** Share of total traffic (η^X). */
    trafficShare: z.number().min(0).max(1),
    /** costPerRequest × trafficShare. */
    weightedCost: z.number().nonnegative(),
    /** Total request rate of the group, req/s. */
    rps: z.number().nonnegative(),
    /** Predicted batch latency at batchSize, seconds. */
    latency: z.object({ avg: z.number(), max: z.number() }).strict(),
    /** Per app: SLO − timeout − max latency (≥ 0 when the SLO holds under the model). */
    slack: z.record(z.string(), z.number()),
    /**
     * Per-app request rate this group serves, req/s, present only when some app's traffic is split
     * across groups (the MBS baseline); absent: each app sends all its traffic here.
     */
    appRps: z.record(z.string(), z.number().nonnegative()).optional(),
    /**
     * Cost per request when batch sizes follow the truncated-Poisson distribution of the group's
     * rate over its equivalent timeout (partial batches cost more; harmonybatch design §10.8).
     */
    expectedCostPerRequest: z.number().nonnegative().optional(),
  })
  .strict();
export type PlanGroup = z.infer<typeof PlanGroupSchema>;

/**
 * Something the planner chose that the profile does not vouch for (the plan is still the one the
 * model predicts best). W_EXTRAPOLATED: a CPU group's vCPU lies outside the profile's
 * `cpu.fitRange`, so its latency (and hence cost and slack) comes from extrapolated curves.
 */
export const PlanWarningSchema = z
  .object({
    code: z.enum(['W_EXTRAPOLATED']),
    /** Index into `groups`. */
    group: z.number().int().nonnegative(),
    /** Path of the planned value within the group, e.g. 'function.vcpu'. */
    field: z.string(),
    value: z.number(),
    /** The range [lo, hi] the profile was fitted on. */
    range: z.tuple([z.number(), z.number()]),
    message: z.string(),
  })
  .strict();
export type PlanWarning = z.infer<typeof PlanWarningSchema>;

/** Output of `hetserve plan` / `plan()`: what the gateway, simulator and exporters consume. */
export const PlanSchema = z
  .object({
    kind: z.literal('serverless-plan'),
    algorithm: z.string(),
    model: z.string(),
    priceTable: z.string(),
    currency: z.string(),
    compat: z.enum(['paper', 'prototype']),
    totalCostPerRequest: z.number().nonnegative(),
    groups: z.array(PlanGroupSchema),
    /** Apps left out (rate 0), with the reason. */
    excluded: z.array(z.object({ app: z.string(), reason: z.string() }).strict()).default([]),
    /** Per-app SLO and rate as planned, keyed by name. */
    apps: z.array(z.object({ name: z.string(), slo: z.number(), rps: z.number() }).strict()),
    /** Wall time of the planner, ms. */
    planningMs: z.number().nonnegative().optional(),
    /** Caveats about the plan (see `PlanWarningSchema`); absent when there are none. */
    warnings: z.array(PlanWarningSchema).optional(),
  })
  .strict();
export type Plan = z.infer<typeof PlanSchema>;
