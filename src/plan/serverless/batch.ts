/**
 * The BATCH baseline (Ali et al., SC'20) as the HarmonyBatch prototype runs it (design §7): one
 * CPU function per app, exhaustive search over vCPU × batch 1..4 under a deterministic latency
 * model (maximum = average), timeout t = s − L_avg (0 at batch 1), cost evaluated at the expected
 * batch b_eff = min(b, ⌊r·t⌋ + 1). When nothing fits it falls back to the largest vCPU at batch 1,
 * timeout 0, even though that breaks the SLO. Its plans must also be shown under the real model
 * (`evaluatePlan`), since its own figures ignore latency variance.
 */
import type { App } from '../../model/app.ts';
import { HetserveError } from '../../model/errors.ts';
import type { Plan } from '../../model/plan.ts';
import type { ServerlessProfile } from '../../model/profile.ts';
import { costPerRequest, type BilledResources } from '../../predict/cost.ts';
import { cpuLatencyAvg, cpuMaxBatch } from '../../predict/latency.ts';
import { cpuFunctionMemoryGb } from '../../predict/memory.ts';
import { type FunctionChoice, type GroupEvaluation } from '../../predict/predictor.ts';
import { finishPlan, groupInput, preparePlanning } from './context.ts';
import { registerPlanner } from './registry.ts';
import type { PlanContext, PlannedGroup, ServerlessPlanOptions, ServerlessPlanner } from './types.ts';

/** BATCH's evaluation of one app on (vCPU, b) under its own model, or null when infeasible there. */
export function batchEvaluate(
  ctx: PlanContext,
  app: App,
  vcpu: number,
  batch: number,
  force = false,
): GroupEvaluation | null {
  const pred = ctx.predictor;
  const fn: FunctionChoice = { kind: 'cpu', vcpu };
  const ev = pred.evaluate(groupInput([app]), fn, batch, { deterministic: true });
  if (!ev.function) return null;
  if (ev.reason === 'slo' && !force) return null;
  // BATCH keeps configurations whose expected batch is below b and prices them at b_eff.
  const t = ev.timeouts[0];
  const effectiveBatch = batch === 1 ? 1 : Math.min(batch, Math.floor(app.rps * t) + 1);
  const res = pred.resources(fn, batch)!;
  const costPerRequest = pred.batchCostPerRequest(fn, res, effectiveBatch);
  const latency = { avg: ev.latency.avg, max: ev.latency.avg };
  return { ...ev, feasible: ev.reason !== 'slo', latency, effectiveBatch, costPerRequest };
}

export function runBatch(ctx: PlanContext): PlannedGroup[] {
  const vcpus = ctx.grid.cpuVcpus;
  const p = ctx.profile;
  const prices = ctx.predictor.prices;
  const bTop = Math.min(ctx.grid.cpuBatchMax, cpuMaxBatch(p));
  const res: BilledResources = { kind: 'cpu', vcpu: 0, memoryGb: 0, gpuMemoryGb: 0 };
  return ctx.apps.map((app) => {
    // The search inlines batchEvaluate's arithmetic (no allocation per grid point); the winner
    // is then evaluated through it, so the plan's figures come from one place.
    let bestCost = Infinity;
    let bestC = -1;
    let bestB = 1;
    for (const c of vcpus) {
      for (let b = 1; b <= bTop; b++) {
        const mem = cpuFunctionMemoryGb(p, c, b);
        if (mem === null) continue;
        const room = app.slo - cpuLatencyAvg(p, c, b);
        if (room < 0) continue;
        const beff = b === 1 ? 1 : Math.min(b, Math.floor(app.rps * room) + 1);
        res.vcpu = c;
        res.memoryGb = mem;
        const cost = costPerRequest(prices, res, cpuLatencyAvg(p, c, beff), beff);
        if (cost < bestCost) {
          bestCost = cost;
          bestC = c;
          bestB = b;
        }
      }
    }
    // need_one fallback: the biggest CPU function at batch 1 (breaks the SLO; slack shows it).
    const best =
      bestC >= 0
        ? batchEvaluate(ctx, app, bestC, bestB)
        : batchEvaluate(ctx, app, vcpus[vcpus.length - 1], 1, true);
    if (!best) {
      throw new HetserveError(
        'E_INVALID_OPTION',
        `algorithm: batch needs a CPU profile; ${ctx.profile.name} has none`,
        {
          field: 'algorithm',
          value: 'batch',
        },
      );
    }
    return { apps: [app], evaluation: best };
  });
}

export const batchPlanner: ServerlessPlanner = {
  name: 'batch',
  description:
    'BATCH baseline: one CPU function per app, deterministic latency model (as the prototype runs it)',
  plan(apps: readonly App[], profile: ServerlessProfile, options: ServerlessPlanOptions = {}): Plan {
    const ctx = preparePlanning(apps, profile, options);
    return finishPlan(ctx, 'batch', runBatch(ctx));
  },
};

registerPlanner(batchPlanner);
