/**
 * Contracts of the serverless planners. A planner turns apps + a model profile into a `Plan`
 * (src/model/plan.ts). Planners share one `PlanContext` (validated apps, predictor, grid) built
 * by `preparePlanning` and assemble their output with `finishPlan` (src/plan/serverless/context.ts).
 */
import type { App } from '../../model/app.ts';
import type { Plan } from '../../model/plan.ts';
import type { PriceTable } from '../../model/prices.ts';
import type { ServerlessProfile } from '../../model/profile.ts';
import type { Compat } from '../../predict/batching.ts';
import type { CostModel, GroupEvaluation, Predictor } from '../../predict/predictor.ts';

/** The configuration space searched (design §4.3 / §9 search spaces). */
export interface ConfigGrid {
  /** vCPU values of CPU functions, ascending. Default 0.05, 0.10, …, 16.00 (exact two-decimal values). */
  cpuVcpus: readonly number[];
  /** CPU batch sizes 1..cpuBatchMax (capped by the profiled sizes). Default 4. */
  cpuBatchMax: number;
  /** GPU memory sizes (GB) of GPU functions, ascending. Default 1..24. */
  gpuMemoriesGb: readonly number[];
  /** GPU batch sizes 1..gpuBatchMax. Default 32. */
  gpuBatchMax: number;
}

/** Options of `plan()` and of every planner. Every field is optional. */
export interface ServerlessPlanOptions {
  /** Registered algorithm name. Default 'auto' when registered, otherwise 'harmony'. */
  algorithm?: string;
  /** Price table: bundled name ('prototype-cny', 'paper-usd', 'alibaba-cu-2024'), file path or table. Default 'prototype-cny'. */
  prices?: string | PriceTable;
  /** 'paper' (default) or 'prototype' (reproduce the prototype's numbers and quirks). */
  compat?: Compat;
  /** GPU max-latency overhead factor when m < M_max. Default 1.2. */
  gpuMaxOverhead?: number;
  /** Cost model in compat 'paper': 'full-batch' (default, Eq. 6 at b) or 'expected' (batch-size distribution). */
  costModel?: CostModel;
  /** Override parts of the search grid (see `ConfigGrid` for the defaults). */
  grid?: Partial<ConfigGrid>;
  /** Time budget for anytime planners (auto, mbs), ms. Default: each planner's own. */
  timeBudgetMs?: number;
  /** Seed for randomised planners (mbs). Default 1. */
  seed?: number;
  /**
   * Let CPU groups use vCPU values outside the profile's `cpu.fitRange` (their latency is then
   * extrapolated and the plan carries W_EXTRAPOLATED). Default false: stay inside the measured range.
   */
  extrapolate?: boolean;
}

/** One group a planner chose: its apps (SLO order) and the predictor's evaluation of its configuration. */
export interface PlannedGroup {
  apps: App[];
  evaluation: GroupEvaluation;
}

/** What every planner works from: validated, SLO-sorted apps with rate > 0, one predictor, one grid. */
export interface PlanContext {
  /** Apps to plan: rate > 0, sorted by SLO ascending (ties by name). */
  apps: App[];
  /** Every validated input app, in input order (including excluded ones). */
  inputApps: App[];
  /** Apps left out (rate 0) with the reason. */
  excluded: { app: string; reason: string }[];
  profile: ServerlessProfile;
  predictor: Predictor;
  grid: ConfigGrid;
  options: ServerlessPlanOptions;
  /** nowMs() (clock.ts) when planning started (for planningMs). */
  startedAt: number;
}

/** A planning algorithm. `plan` must return a Plan whose groups are feasible under its own predictor. */
export interface ServerlessPlanner {
  /** Registry key, e.g. 'harmony'. */
  readonly name: string;
  /** One line for `--help` and tables. */
  readonly description: string;
  plan(apps: readonly App[], profile: ServerlessProfile, options?: ServerlessPlanOptions): Plan;
}
