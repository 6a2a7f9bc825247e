/** The gateway's planner: the serverless `plan()` of src/plan/serverless (engineer A/B). */
import type { App } from '../model/app.ts';
import type { Plan } from '../model/plan.ts';
import type { PriceTable } from '../model/prices.ts';
import type { ServerlessProfile } from '../model/profile.ts';

export interface GatewayPlanOptions {
  algorithm?: string;
  prices?: PriceTable;
  compat?: 'paper' | 'prototype';
}

type PlanModule = {
  plan: (apps: App[], profile: ServerlessProfile, options: Record<string, unknown>) => Plan;
};

let planner: Promise<PlanModule> | undefined;

export async function planServerless(
  apps: App[],
  profile: ServerlessProfile,
  options: GatewayPlanOptions,
): Promise<Plan> {
  const spec = '../plan/serverless/index.ts';
  planner ??= import(spec) as Promise<PlanModule>;
  const mod = await planner;
  const opts: Record<string, unknown> = {};
  if (options.algorithm) opts['algorithm'] = options.algorithm;
  if (options.prices) opts['prices'] = options.prices;
  if (options.compat) opts['compat'] = options.compat;
  return mod.plan(apps, profile, opts);
}
