/**
 * Serverless planning: `plan(apps, profile, options)` runs a registered algorithm and returns a
 * Plan (src/model/plan.ts). Algorithms register themselves on import (registry.ts); add one import
 * line below per algorithm module.
 */
import type { Plan } from '../../model/plan.ts';
import type { ServerlessProfile } from '../../model/profile.ts';
import { getPlanner, hasPlanner } from './registry.ts';
import type { ServerlessPlanOptions } from './types.ts';
import './harmony.ts';
import './batch.ts';

export * from './types.ts';
export { registerPlanner, listPlanners, getPlanner, hasPlanner } from './registry.ts';
export {
  preparePlanning,
  finishPlan,
  defaultGrid,
  vcpuGrid,
  groupInput,
  lowestLatency,
  toPlanGroup,
} from './context.ts';
export { provisionGroup, provisionInput, type FunctionKind } from './provision.ts';
export { runHarmony, harmonyPlanner, type HarmonyTrace } from './harmony.ts';
export { runBatch, batchPlanner, batchEvaluate } from './batch.ts';
export { evaluatePlan, type PlanUnderModel, type GroupUnderModel } from './evaluate-plan.ts';

/** The algorithm `plan()` runs when none is named: 'auto' once registered, else 'harmony'. */
export function defaultAlgorithm(): string {
  return hasPlanner('auto') ? 'auto' : 'harmony';
}

/**
 * Plan `apps` (name, SLO s, rate req/s) on one model. Options: see `ServerlessPlanOptions`
 * (algorithm, prices, compat, gpuMaxOverhead, costModel, grid, timeBudgetMs, seed).
 * Throws HetserveError: E_APPS_EMPTY, E_APP_INVALID, E_APP_DUPLICATE, E_UNKNOWN_ALGORITHM,
 * E_UNKNOWN_PRICE_TABLE, E_INVALID_OPTION (exit 2); E_SLO_UNREACHABLE (exit 3).
 */
export function plan(
  apps: readonly unknown[],
  profile: ServerlessProfile,
  options: ServerlessPlanOptions = {},
): Plan {
  const planner = getPlanner(options.algorithm ?? defaultAlgorithm());
  return planner.plan(apps as never, profile, options);
}
