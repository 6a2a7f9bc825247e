/** The gateway's planner: the serverless `plan()` of src/plan/serverless, loaded on first use. */
import type { App } from '../model/app.ts';
import type { Plan } from '../model/plan.ts';
import type { PriceTable } from '../model/prices.ts';
import type { ServerlessProfile } from '../model/profile.ts';

export interface GatewayPlanOptions {
  /** Registered algorithm (default: the planner's default). */
  algorithm?: string;
  prices?: PriceTable;
  compat?: 'paper' | 'prototype';
  /** Leave a measured profile's cpu.fitRange (default false). */
  extrapolate?: boolean;
}

export async function planServerless(
  apps: App[],
  profile: ServerlessProfile,
  options: GatewayPlanOptions,
): Promise<Plan> {
  const { plan } = await import('../plan/serverless/index.ts');
  return plan(apps, profile, {
    ...(options.algorithm ? { algorithm: options.algorithm } : {}),
    ...(options.prices ? { prices: options.prices } : {}),
    ...(options.compat ? { compat: options.compat } : {}),
    ...(options.extrapolate ? { extrapolate: true } : {}),
  });
}
