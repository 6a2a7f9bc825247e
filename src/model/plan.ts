import { z } from 'zod';
import { parseWith } from './validate.ts';

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
    latency: z.object({ avg: z.number().finite().positive(), max: z.number().finite().positive() }).strict(),
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
    totalCostPerRequest: z.number().finite().nonnegative(),
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
  .strict()
  .superRefine(checkPlanApps);
export type Plan = z.infer<typeof PlanSchema>;

/** Relative tolerance of "the appRps of a split app add up to its rate" (planners sum floats). */
const SPLIT_REL_TOL = 1e-6;

/**
 * The one rule set every reader of a plan applies (batch manager, simulator, gateway, exporters):
 * app names are unique; every app of a group is an app of the plan and has a timeout there; an app
 * sits in one group, or in several when each of them gives its share in `appRps` and the shares
 * add up to the app's rate (a split app, as MBS plans make).
 */
function checkPlanApps(
  plan: {
    apps: { name: string; rps: number }[];
    groups: { apps: string[]; timeouts: Record<string, number>; appRps?: Record<string, number> }[];
  },
  ctx: z.RefinementCtx,
): void {
  const rate = new Map<string, number>();
  plan.apps.forEach((a, i) => {
    if (rate.has(a.name))
      ctx.addIssue({
        code: 'custom',
        message: `duplicate app name ${JSON.stringify(a.name)}`,
        path: ['apps', i, 'name'],
      });
    rate.set(a.name, a.rps);
  });
  const homes = new Map<string, number[]>();
  plan.groups.forEach((g, gi) => {
    const inGroup = new Set<string>();
    for (const a of g.apps) {
      if (inGroup.has(a))
        ctx.addIssue({
          code: 'custom',
          message: `app ${JSON.stringify(a)} twice in one group`,
          path: ['groups', gi, 'apps'],
        });
      inGroup.add(a);
      if (!rate.has(a))
        ctx.addIssue({
          code: 'custom',
          message: `app ${JSON.stringify(a)} is not in plan.apps`,
          path: ['groups', gi, 'apps'],
        });
      if (g.timeouts[a] === undefined)
        ctx.addIssue({
          code: 'custom',
          message: `no timeout for app ${JSON.stringify(a)}`,
          path: ['groups', gi, 'timeouts'],
        });
      homes.set(a, [...(homes.get(a) ?? []), gi]);
    }
    for (const a of Object.keys(g.appRps ?? {}))
      if (!inGroup.has(a))
        ctx.addIssue({
          code: 'custom',
          message: `appRps names app ${JSON.stringify(a)}, which is not in this group`,
          path: ['groups', gi, 'appRps', a],
        });
  });
  for (const [a, gs] of homes) {
    if (gs.length < 2) continue;
    const missing = gs.find((gi) => !((plan.groups[gi]!.appRps?.[a] ?? 0) > 0));
    if (missing !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `app ${JSON.stringify(a)} is in groups ${gs.join(', ')}; a split app needs its share (> 0 req/s) in appRps of each (missing in group ${missing})`,
        path: ['groups', gs[1]!, 'apps'],
      });
      continue;
    }
    const sum = gs.reduce((s, gi) => s + plan.groups[gi]!.appRps![a]!, 0);
    const want = rate.get(a);
    if (want !== undefined && Math.abs(sum - want) > SPLIT_REL_TOL * Math.max(1, want))
      ctx.addIssue({
        code: 'custom',
        message: `app ${JSON.stringify(a)} is split over groups ${gs.join(', ')} whose appRps add up to ${sum} req/s, not its rate ${want} req/s`,
        path: ['groups', gs[0]!, 'appRps', a],
      });
  }
}

/**
 * Parse a plan any part of hetserve wrote: the schema plus the app rules above. Throws
 * E_PLAN_INVALID naming the field (dotted path under `where`) and the value found there.
 */
export function parsePlan(input: unknown, where = 'plan'): Plan {
  return parseWith(PlanSchema, input, 'E_PLAN_INVALID', where);
}

/**
 * Groups that serve each app with the share of its traffic each gets: one entry of weight 1 for an
 * app in one group, the `appRps` shares for a split app. Assumes a parsed plan.
 */
export function appRoutes(plan: Pick<Plan, 'groups'>): Map<string, { group: number; weight: number }[]> {
  const out = new Map<string, { group: number; weight: number }[]>();
  plan.groups.forEach((g, gi) => {
    for (const a of g.apps) {
      const list = out.get(a) ?? [];
      list.push({ group: gi, weight: g.appRps?.[a] ?? 1 });
      out.set(a, list);
    }
  });
  return out;
}
