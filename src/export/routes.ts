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
  /** Alias or version to invoke (Lambda: 'live' when provisioned concurrency is set). */
  readonly qualifier?: string;
  /**
   * Apps this group serves only part of (split apps), with the share of each app's traffic it
   * takes, req/s: the gateway routes such an app across its groups in proportion. Absent: the
   * group serves all traffic of its apps.
   */
  readonly appRps?: Readonly<Record<string, number>>;
}

export interface GatewayRoutes {
  readonly kind: 'hetserve-gateway-routes';
  readonly model: string;
  readonly plan: Plan;
  readonly routes: readonly GatewayRoute[];
}

/** The split-app shares of a group, for its route (undefined when it splits none). */
export function routeShares(plan: Plan, groupIndex: number): Record<string, number> | undefined {
  const g = plan.groups[groupIndex]!;
  const split = g.apps.filter((a) => plan.groups.some((o, j) => j !== groupIndex && o.apps.includes(a)));
  return split.length > 0 ? Object.fromEntries(split.map((a) => [a, g.appRps![a]!])) : undefined;
}

export function routesFile(plan: Plan, routes: readonly GatewayRoute[]): { path: string; content: string } {
  const doc: GatewayRoutes = { kind: 'hetserve-gateway-routes', model: plan.model, plan, routes };
  return { path: 'routes.json', content: JSON.stringify(doc, null, 2) + '\n' };
}
