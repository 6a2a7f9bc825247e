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

/** What `auto` can pick, recorded in its plans as `auto:<choice>` (src/plan/serverless/auto.ts). */
export const AUTO_CHOICES: readonly string[] = ['harmony', 'optimal', 'optimal-contiguous'];

/**
 * The registered planner a plan's `algorithm` names. `auto` records what it picked as
 * `auto:<choice>` (e.g. `auto:harmony`); re-planning with that name runs `auto` again, which is
 * what the user asked for in the first place. Any other `auto:…` name is unknown (a typo must not
 * silently run `auto`).
 */
export function plannerName(name: string): string {
  return name.startsWith('auto:') && AUTO_CHOICES.includes(name.slice(5)) ? 'auto' : name;
}

export function hasPlanner(name: string): boolean {
  return planners.has(plannerName(name));
}

/** A planner by name (or a plan's `auto:…` name); E_UNKNOWN_ALGORITHM (exit 2) naming the known ones otherwise. */
export function getPlanner(name: string): ServerlessPlanner {
  const p = planners.get(plannerName(name));
  if (!p) {
    throw new HetserveError(
      'E_UNKNOWN_ALGORITHM',
      `algorithm: unknown planning algorithm ${JSON.stringify(name)}; known: ${[...planners.keys()].join(', ')}`,
      { field: 'algorithm', value: name },
    );
  }
  return p;
}
