/** Human-readable report of a serverless plan (what `hetserve plan` prints without --json). */
import type { App } from '../../model/app.ts';
import type { Plan, PlanGroup } from '../../model/plan.ts';
import type { Predictor } from '../../predict/predictor.ts';
import { evaluatePlan } from './evaluate-plan.ts';

const fmtCost = (x: number) => (Number.isFinite(x) ? x.toExponential(4) : 'inf');

function describeFunction(g: PlanGroup): string {
  const f = g.function;
  return f.kind === 'cpu'
    ? `CPU ${f.vcpu.toFixed(2)} vCPU / ${f.memoryGb} GB`
    : `GPU ${f.gpuMemoryGb} GB (${f.vcpu.toFixed(2)} vCPU)`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, c) => cell.padEnd(widths[c]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function groupRows(plan: Plan): string[][] {
  const rows = [['group', 'apps', 'function', 'batch', 'timeouts (s)', 'cost/request', 'share', 'weighted']];
  plan.groups.forEach((g, i) =>
    rows.push([
      String(i),
      g.apps.join(','),
      describeFunction(g),
      String(g.batchSize),
      g.apps.map((a) => g.timeouts[a].toFixed(3)).join(','),
      fmtCost(g.costPerRequest),
      g.trafficShare.toFixed(3),
      fmtCost(g.weightedCost),
    ]),
  );
  return rows;
}

/** The plan's table, then (when given) the BATCH baseline: its own figures and under the real model. */
export function formatPlanReport(
  plan: Plan,
  apps: readonly unknown[],
  predictor: Predictor,
  baseline?: Plan,
): string {
  const known = new Map(plan.apps.map((a) => [a.name, a]));
  const appList: App[] = [...known.values()].filter((a) => a.rps > 0);
  void apps;
  let out = `${plan.algorithm} plan for ${plan.model} (${plan.compat} mode, prices ${plan.priceTable}, ${plan.currency})\n`;
  out += table(groupRows(plan));
  out += `total cost per request: ${fmtCost(plan.totalCostPerRequest)} ${plan.currency}`;
  out += plan.planningMs !== undefined ? `   (planned in ${plan.planningMs.toFixed(2)} ms)\n` : '\n';
  for (const e of plan.excluded) out += `warning: app ${e.app} left out: ${e.reason}\n`;
  for (const w of plan.warnings ?? []) out += `warning: ${w.message}\n`;
  if (baseline) {
    const real = evaluatePlan(baseline, appList, predictor);
    out += `\nBATCH baseline (CPU only, deterministic latency model)\n`;
    const rows = groupRows(baseline);
    rows[0].push('real cost/req', 'real min slack (s)');
    real.groups.forEach((g, i) => {
      const slack = Math.min(...Object.values(g.slack));
      rows[i + 1].push(fmtCost(g.costPerRequest), `${slack.toFixed(3)}${slack < 0 ? ' SLO broken' : ''}`);
    });
    out += table(rows);
    out += `total cost per request: ${fmtCost(baseline.totalCostPerRequest)} (its own model), ${fmtCost(real.totalCostPerRequest)} (real model)`;
    out += real.minSlack < 0 ? ` — breaks an SLO under the real model\n` : '\n';
    out += `${plan.algorithm} / BATCH cost (real model): ${(plan.totalCostPerRequest / real.totalCostPerRequest).toFixed(3)}\n`;
  }
  return out;
}
