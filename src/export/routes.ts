/**
 * Routing table for the serverless targets whose functions sit behind the gateway (Lambda, FC):
 * which function serves which plan group. The gateway's config schema has one backend for all
 * groups, so this file documents the per-group functions for the gateway (or any batching proxy)
 * that invokes them; it carries the plan so batch sizes and timeouts travel with it.
 */
import type { Plan } from '../model/plan.ts';

export interface GatewayRoute {
  /** `group-<i>`. */
  readonly ref: string;
  readonly apps: readonly string[];
  readonly batchSize: number;
  readonly engine: 'lambda' | 'fc';
  /** Function name on the engine. */
  readonly function: string;
  readonly region?: string;
}

export interface GatewayRoutes {
  readonly kind: 'hetserve-gateway-routes';
  readonly model: string;
  readonly plan: Plan;
  readonly routes: readonly GatewayRoute[];
}

export function routesFile(plan: Plan, routes: readonly GatewayRoute[]): { path: string; content: string } {
  const doc: GatewayRoutes = { kind: 'hetserve-gateway-routes', model: plan.model, plan, routes };
  return { path: 'routes.json', content: JSON.stringify(doc, null, 2) + '\n' };
}
