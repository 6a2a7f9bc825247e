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
import './optimal.ts';
import './mbs.ts';
import './auto.ts';

export * from './types.ts';
export {
  registerPlanner,
  listPlanners,
  getPlanner,
  hasPlanner,
  plannerName,
  AUTO_CHOICES,
} from './registry.ts';
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
export {
  planOptimal,
  optimalOnContext,
  optimalPlanner,
  optimalContiguousPlanner,
  optimalGrid,
  OptimalDeadlineError,
  DEFAULT_EXACT_MAX_APPS,
  type OptimalPlanOptions,
  type OptimalResult,
} from './optimal.ts';
export { GroupSearch, gridPoints, type GridPoint, type SearchStats } from './optimal-search.ts';
export {
  bestSetPartition,
  bestContiguousPartition,
  MAX_SET_PARTITION_ITEMS,
  type PartitionResult,
  type ContiguousResult,
} from './subset-dp.ts';
export {
  planMbs,
  mbsOnContext,
  mbsPlanner,
  evenTrafficSplit,
  type MbsPlanOptions,
  type MbsResult,
  type TrafficSplit,
} from './mbs.ts';
export {
  planAuto,
  autoOnContext,
  autoPlanner,
  DEFAULT_AUTO_BUDGET_MS,
  type AutoPlanOptions,
  type AutoResult,
  type AutoCandidate,
} from './auto.ts';
export { planWarnings, outsideRange } from './warnings.ts';
export {
  bayesOpt,
  type BayesOptOptions,
  type BayesOptResult,
  type BayesOptSample,
} from '../../optimize/gp.ts';

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
