/**
 * Registry of serverless planners. Each algorithm module registers itself on import; the registry
 * lists them for the CLI, the benchmark table and `plan()`.
 */
import { HetserveError } from '../../model/errors.ts';
import type { ServerlessPlanner } from './types.ts';

const planners = new Map<string, ServerlessPlanner>();

/** Add (or replace) a planner under its name. */
export function registerPlanner(planner: ServerlessPlanner): void {
  planners.set(planner.name, planner);
}

/** All registered planners, in registration order. */
export function listPlanners(): ServerlessPlanner[] {
  return [...planners.values()];
}

export function hasPlanner(name: string): boolean {
  return planners.has(name);
}

/** A planner by name; E_UNKNOWN_ALGORITHM (exit 2) naming the known ones otherwise. */
export function getPlanner(name: string): ServerlessPlanner {
  const p = planners.get(name);
  if (!p) {
    throw new HetserveError(
      'E_UNKNOWN_ALGORITHM',
      `algorithm: unknown planning algorithm ${JSON.stringify(name)}; known: ${[...planners.keys()].join(', ')}`,
      { field: 'algorithm', value: name },
    );
  }
  return p;
}
