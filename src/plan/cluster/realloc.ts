/**
 * Live re-allocation of a cluster pool (the gateway's cluster mode): from a measured rate and size
 * mix, the configuration to run now, within the budget, with hysteresis so a noisy measurement does
 * not make the pool flap.
 *
 * Capacity of a configuration = the Kairos upper bound (bound.ts) for the measured size mix. The
 * wanted configuration is the cheapest affordable one whose capacity covers the measured rate ×
 * `headroom` (ties: the higher capacity); when none does, the highest-capacity affordable one (the
 * Kairos top-1). The pool changes only when
 * - it is short (capacity < rate × headroom, or over budget) and the wanted configuration has more
 *   than (1 + margin) × its capacity, or is within budget when the current one is not (grow), or
 * - it has enough and the wanted configuration costs less than (1 − margin) × its cost (shrink).
 */
import { badField } from '../../model/errors.ts';
import { compileBound } from './bound.ts';
import { rankConfigurations, type EnumerationPool } from './enumerate.ts';
import type { LatencyTable } from '../../predict/latency-table.ts';
import { computeProfileQuantities } from './quantities.ts';
import { sizeDistributionFromHistogram, type QuerySizeDistribution } from '../../workload/query-sizes.ts';

export interface ReallocType {
  name: string;
  priceUsdPerHour: number;
  /** Most instances of this type (default: as many as the budget buys). */
  maxCount?: number;
}

export interface ReallocInput {
  table: LatencyTable;
  /** Types the pool may use; `baseType` among them. */
  types: readonly ReallocType[];
  baseType: string;
  budgetUsdPerHour: number;
  qosMs: number;
  /** Percentile the QoS applies to (default 99). */
  percentile?: number;
  sizes: QuerySizeDistribution;
  /** Measured rate, queries/s. */
  rateQps: number;
  /** Instances per type now. */
  current: Readonly<Record<string, number>>;
  /** Hysteresis, a fraction in [0, 1). */
  margin: number;
  /** Capacity wanted per unit of measured rate (>= 1). */
  headroom: number;
}

export interface ReallocDecision {
  action: 'keep' | 'grow' | 'shrink';
  /** The configuration to run (the current one when keeping). */
  target: Record<string, number>;
  /** The configuration the rule wanted (even when the hysteresis kept the current one). */
  wanted: Record<string, number>;
  currentCapacityQps: number;
  wantedCapacityQps: number;
  currentCostUsdPerHour: number;
  wantedCostUsdPerHour: number;
  reason: string;
}

/** A size mix from observed query sizes (rounded up onto the table's grid, capped at its largest). */
export function sizeMixFromObservations(
  sizes: readonly number[],
  table: LatencyTable,
): QuerySizeDistribution {
  if (sizes.length === 0) throw badField('E_INVALID_INPUT', 'sizes', [], 'no observed query sizes');
  const counts = new Map<number, number>();
  for (const s of sizes) {
    const g = table.gridSize(Math.min(Math.max(1, s), table.maxSize));
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  const keys = [...counts.keys()].sort((a, b) => a - b);
  return sizeDistributionFromHistogram({ sizes: keys, weights: keys.map((k) => counts.get(k)!) }, 'sizes', 1);
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function planReallocation(i: ReallocInput): ReallocDecision {
  if (!(i.margin >= 0 && i.margin < 1))
    throw badField('E_INVALID_OPTION', 'margin', i.margin, 'must be in [0, 1)');
  if (!(i.headroom >= 1)) throw badField('E_INVALID_OPTION', 'headroom', i.headroom, 'must be >= 1');
  if (!(i.rateQps >= 0)) throw badField('E_INVALID_INPUT', 'rateQps', i.rateQps, 'must be >= 0');
  const names = i.types.map((t) => t.name);
  const baseIndex = names.indexOf(i.baseType);
  if (baseIndex < 0)
    throw badField('E_NO_BASE_TYPE', 'pool', names, `base type ${i.baseType} is not in the pool`);
  const qopts = { qosMs: i.qosMs, limitBy: 'percentile' as const, percentile: i.percentile ?? 99 };
  const aux = names.filter((n) => n !== i.baseType);
  const bound = compileBound(
    computeProfileQuantities(i.table, i.sizes, i.baseType, aux, qopts),
    names,
    'per-type',
  );
  const pool: EnumerationPool = {
    types: names,
    prices: i.types.map((t) => t.priceUsdPerHour),
    maxCounts: i.types.map((t) => t.maxCount ?? Math.floor(i.budgetUsdPerHour / t.priceUsdPerHour + 1e-9)),
    baseIndex,
  };
  const { ranked } = rankConfigurations(pool, { budget: i.budgetUsdPerHour, score: (c) => bound(c) });
  if (ranked.length === 0)
    throw badField(
      'E_BUDGET_TOO_LOW',
      'budgetUsdPerHour',
      i.budgetUsdPerHour,
      `does not buy one ${i.baseType}`,
    );
  const need = i.rateQps * i.headroom;
  let wanted = ranked[0];
  for (const r of ranked)
    if (
      r.score >= need &&
      (wanted.score < need || r.cost < wanted.cost || (r.cost === wanted.cost && r.score > wanted.score))
    )
      wanted = r;
  const cur = names.map((n) => i.current[n] ?? 0);
  const curCap = cur[baseIndex] > 0 ? bound(cur) : 0;
  const curCost = cur.reduce((s, c, k) => s + c * pool.prices[k], 0);
  const asRecord = (c: readonly number[]): Record<string, number> =>
    Object.fromEntries(names.map((n, k) => [n, c[k]]));
  const same = wanted.counts.every((c, k) => c === cur[k]);
  const overBudget = curCost > i.budgetUsdPerHour + 1e-9;
  const short = curCap < need || overBudget;
  let action: ReallocDecision['action'] = 'keep';
  let reason: string;
  if (same) reason = 'the pool is the wanted configuration';
  else if (short && (overBudget || wanted.score > curCap * (1 + i.margin))) {
    action = overBudget && wanted.cost < curCost ? 'shrink' : 'grow';
    reason = overBudget
      ? `the pool costs ${r3(curCost)} $/h, over the budget ${i.budgetUsdPerHour}`
      : `capacity ${r3(curCap)} q/s < ${r3(need)} q/s wanted (rate × headroom)`;
  } else if (!short && wanted.cost < curCost * (1 - i.margin)) {
    action = 'shrink';
    reason = `${r3(wanted.cost)} $/h covers ${r3(need)} q/s (now ${r3(curCost)} $/h)`;
  } else reason = `within the ${i.margin} margin`;
  return {
    action,
    target: asRecord(action === 'keep' ? cur : wanted.counts),
    wanted: asRecord(wanted.counts),
    currentCapacityQps: curCap,
    wantedCapacityQps: wanted.score,
    currentCostUsdPerHour: curCost,
    wantedCostUsdPerHour: wanted.cost,
    reason,
  };
}
