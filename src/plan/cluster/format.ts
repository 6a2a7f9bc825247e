/** Human-readable rendering of an allocation (the `hetserve allocate` default output). */
import type { AllocationResult, ReportedConfig } from './allocate.ts';

const f1 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(1));
/** 12096 → '12,096' (as toLocaleString('en-US') writes it, without loading ICU at a cold start). */
const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export function describeMix(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${n} × ${t}`);
  return parts.join(' + ') || '(empty)';
}

function line(c: ReportedConfig): string {
  const lp = c.lpBoundQps === undefined ? '' : ` · LP estimate ${f1(c.lpBoundQps)} QPS`;
  return `cost ${c.costUsdPerHour.toFixed(3)} USD/h · upper bound ${f1(c.upperBoundQps)} QPS${lp}`;
}

export function formatAllocation(r: AllocationResult): string {
  const out: string[] = [];
  const mode = r.compat ? ' · compat prototype' : '';
  out.push(
    `${r.model} · budget ${r.budgetUsdPerHour} USD/h · QoS p${r.percentile} ≤ ${r.qosMs} ms · ` +
      `${r.feasibleConfigs} configurations within budget (of ${thousands(r.productSize)})${mode}`,
  );
  const rule =
    r.select === 'similarity'
      ? `similarity: L1 medoid of the top ${r.similarity.k}`
      : r.select === 'verified'
        ? `verified: best-ranked within ${Math.round((r.verifyTolerance ?? 0) * 100)} % of the best simulated of the top ${r.oracle?.ranked.length ?? 0}`
        : 'top-1';
  const by = r.rankBy === 'ub' ? 'upper bound' : 'LP estimate';
  out.push('', `chosen (${rule} by ${by}, rank ${r.chosen.rank}): ${describeMix(r.chosen.counts)}`);
  out.push(`  ${line(r.chosen)}`);
  if (r.chosen.rank !== 1) out.push(`top-1 by ${by}: ${describeMix(r.top1.counts)}`, `  ${line(r.top1)}`);
  if (r.homogeneous) {
    const h = r.homogeneous;
    const est = r.rankBy === 'lp' ? h.lpBoundQps : h.upperBoundQps;
    out.push(
      `homogeneous: ${describeMix(h.counts)}`,
      `  cost ${h.costUsdPerHour.toFixed(3)} USD/h · ${f1(est)} QPS (${f1(h.scaledToBudgetQps)} scaled to the budget)` +
        (r.gainOverHomogeneous ? ` → chosen gives ${r.gainOverHomogeneous.toFixed(2)}×` : ''),
    );
  }
  if (r.bayesian) {
    const b = r.bayesian;
    out.push(
      `Ribbon-like BO: ${b.bestConfig ? describeMix(b.bestConfig) : 'nothing feasible'} after ${b.trials} trials ` +
        `(${b.distinctConfigs} distinct configurations; best first tried at trial ${b.trialsToBest})`,
    );
  }
  if (r.oracle) {
    const best = r.oracle.ranked[0];
    out.push(
      `oracle ${r.oracle.name} over the top ${r.oracle.ranked.length}: best ${describeMix(best.counts)} ` +
        `at ${f1(best.allowableQps)} QPS`,
    );
    const mine = r.oracle.ranked.find((x) => describeMix(x.counts) === describeMix(r.chosen.counts));
    if (mine)
      out.push(
        `  chosen reaches ${f1(mine.allowableQps)} QPS (${((mine.allowableQps / best.allowableQps) * 100).toFixed(0)} % of the oracle's best)`,
      );
  }
  const types = r.pool.map((t) => t.name);
  const widths = types.map((t) => Math.max(t.length, 3));
  out.push(
    '',
    ['rank', ...types.map((t, i) => t.padStart(widths[i])), '   cost', '     UB', '     LP'].join('  '),
  );
  for (const c of r.runnersUp) {
    const mark = c.rank === r.chosen.rank ? '*' : ' ';
    out.push(
      [
        `${String(c.rank).padStart(3)}${mark}`,
        ...types.map((t, i) => String(c.counts[t] ?? 0).padStart(widths[i])),
        c.costUsdPerHour.toFixed(3).padStart(7),
        f1(c.upperBoundQps).padStart(7),
        f1(c.lpBoundQps).padStart(7),
      ].join('  '),
    );
  }
  return out.join('\n') + '\n';
}
