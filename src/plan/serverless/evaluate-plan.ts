/**
 * Re-evaluate a Plan under a predictor (the "real" model): its configuration and timeouts are
 * kept, latency, cost and SLO slack are recomputed. Used to show BATCH's plans under the same
 * model as the others, and by property tests to check any plan against design §3.
 */
import type { App } from '../../model/app.ts';
import { HetserveError } from '../../model/errors.ts';
import type { Plan } from '../../model/plan.ts';
import type { FunctionChoice, Predictor } from '../../predict/predictor.ts';

export interface GroupUnderModel {
  apps: string[];
  feasible: boolean;
  /** Which constraint breaks when infeasible. */
  reason?: string;
  latency: { avg: number; max: number };
  costPerRequest: number;
  /** Cost per request under the truncated-Poisson batch-size distribution. */
  expectedCostPerRequest: number;
  trafficShare: number;
  /** Per app: SLO − timeout − max latency under the model (negative = SLO broken). */
  slack: Record<string, number>;
  equivalentTimeout: number;
}

export interface PlanUnderModel {
  feasible: boolean;
  totalCostPerRequest: number;
  totalExpectedCostPerRequest: number;
  groups: GroupUnderModel[];
  /** Smallest per-app slack over the plan. */
  minSlack: number;
}

/** Evaluate `plan` for `apps` (name → SLO, rate) under `predictor`. */
export function evaluatePlan(plan: Plan, apps: readonly App[], predictor: Predictor): PlanUnderModel {
  const byName = new Map(apps.map((a) => [a.name, a]));
  // An app split across groups (MBS) carries its per-group share in appRps; otherwise its full rate.
  const rateIn = (g: Plan['groups'][number], n: string): number => g.appRps?.[n] ?? byName.get(n)?.rps ?? 0;
  const totalRate = plan.groups.reduce((s, g) => s + g.apps.reduce((t, n) => t + rateIn(g, n), 0), 0);
  const groups = plan.groups.map((g): GroupUnderModel => {
    const members = g.apps.map((n) => {
      const a = byName.get(n);
      if (!a) {
        throw new HetserveError(
          'E_PLAN_APPS_MISMATCH',
          `plan group names app ${JSON.stringify(n)} that is not in the app list`,
          {
            field: 'apps',
            value: n,
          },
        );
      }
      return a;
    });
    const order = members.map((_, i) => i).sort((x, y) => members[x].slo - members[y].slo);
    const sorted = order.map((i) => members[i]);
    const fn: FunctionChoice =
      g.function.kind === 'cpu'
        ? { kind: 'cpu', vcpu: g.function.vcpu }
        : { kind: 'gpu', gpuMemoryGb: g.function.gpuMemoryGb };
    const ev = predictor.evaluate(
      { slos: sorted.map((a) => a.slo), rates: sorted.map((a) => rateIn(g, a.name)) },
      fn,
      g.batchSize,
      { timeouts: sorted.map((a) => g.timeouts[a.name] ?? 0) },
    );
    const slack: Record<string, number> = {};
    sorted.forEach((a, i) => (slack[a.name] = ev.slack[i]));
    return {
      apps: sorted.map((a) => a.name),
      feasible: ev.feasible,
      ...(ev.reason ? { reason: ev.reason } : {}),
      latency: ev.latency,
      costPerRequest: ev.costPerRequest,
      expectedCostPerRequest: predictor.expectedCost(ev),
      trafficShare: totalRate > 0 ? ev.rate / totalRate : 0,
      slack,
      equivalentTimeout: ev.equivalentTimeout,
    };
  });
  const minSlack = Math.min(...groups.flatMap((g) => Object.values(g.slack)));
  return {
    feasible: groups.every((g) => g.feasible),
    totalCostPerRequest: groups.reduce((s, g) => s + g.costPerRequest * g.trafficShare, 0),
    totalExpectedCostPerRequest: groups.reduce((s, g) => s + g.expectedCostPerRequest * g.trafficShare, 0),
    groups,
    minSlack,
  };
}
