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
 *
 * `verifyReallocation` re-decides a proposed change with measured capacities (the default rule,
 * as in `allocate`): an oracle (the simulator) measures the current pool and the few candidates the
 * bound proposed, and the same rule and hysteresis run on those measurements.
 */
import { badField } from '../../model/errors.ts';
import { compileBound } from './bound.ts';
import { rankConfigurations, type EnumerationPool, type RankedConfig } from './enumerate.ts';
import type { ClusterOracle } from './oracle.ts';
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
  /** Capacity wanted: measured rate × headroom. */
  needQps: number;
  /**
   * What the bound proposed, best first: the cheapest configurations covering the need (`cover`),
   * or, when none does, the highest-capacity ones (`max`). A verifier measures these.
   */
  candidates: Record<string, number>[];
  mode: 'cover' | 'max';
  /** Present when the decision was verified: measured allowable q/s of the current pool and each candidate. */
  verified?: { currentQps: number; candidatesQps: number[] };
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

/** Candidates a decision proposes for verification. */
const candidates = 5;

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
  const covering = ranked
    .filter((r) => r.score >= need)
    .sort((a, b) => a.cost - b.cost || b.score - a.score || a.order - b.order);
  const mode = covering.length > 0 ? 'cover' : 'max';
  const proposed: RankedConfig[] = (mode === 'cover' ? covering : ranked).slice(0, candidates);
  const cur = names.map((n) => i.current[n] ?? 0);
  const curCap = cur[baseIndex] > 0 ? bound(cur) : 0;
  const curCost = cur.reduce((s, c, k) => s + c * pool.prices[k], 0);
  const asRecord = (c: readonly number[]): Record<string, number> =>
    Object.fromEntries(names.map((n, k) => [n, c[k]]));
  const w = proposed[0];
  return {
    ...decide(i, need, cur, curCap, curCost, w.counts, w.score, w.cost, asRecord),
    needQps: need,
    candidates: proposed.map((r) => asRecord(r.counts)),
    mode,
  };
}

/** The hysteresis rule on given capacities (bound or measured). */
function decide(
  i: Pick<ReallocInput, 'budgetUsdPerHour' | 'margin'>,
  need: number,
  cur: readonly number[],
  curCap: number,
  curCost: number,
  wanted: readonly number[],
  wantedCap: number,
  wantedCost: number,
  asRecord: (c: readonly number[]) => Record<string, number>,
): Omit<ReallocDecision, 'needQps' | 'candidates' | 'mode' | 'verified'> {
  const same = wanted.every((c, k) => c === cur[k]);
  const overBudget = curCost > i.budgetUsdPerHour + 1e-9;
  const short = curCap < need || overBudget;
  let action: ReallocDecision['action'] = 'keep';
  let reason: string;
  if (same) reason = 'the pool is the wanted configuration';
  else if (short && (overBudget || wantedCap > curCap * (1 + i.margin))) {
    action = overBudget && wantedCost < curCost ? 'shrink' : 'grow';
    reason = overBudget
      ? `the pool costs ${r3(curCost)} $/h, over the budget ${i.budgetUsdPerHour}`
      : `capacity ${r3(curCap)} q/s < ${r3(need)} q/s wanted (rate × headroom)`;
  } else if (!short && wantedCost < curCost * (1 - i.margin)) {
    action = 'shrink';
    reason = `${r3(wantedCost)} $/h covers ${r3(need)} q/s (now ${r3(curCost)} $/h)`;
  } else reason = `within the ${i.margin} margin`;
  return {
    action,
    target: asRecord(action === 'keep' ? cur : wanted),
    wanted: asRecord(wanted),
    currentCapacityQps: curCap,
    wantedCapacityQps: wantedCap,
    currentCostUsdPerHour: curCost,
    wantedCostUsdPerHour: wantedCost,
    reason,
  };
}

/**
 * Re-decide `d` (from `planReallocation(i)`) with the oracle's measured allowable throughput of the
 * current pool and of `d.candidates`: in `cover` mode the cheapest candidate measured to cover the
 * need, else (or when none does) the best-ranked candidate within `tolerance` of the best
 * measurement; then the same hysteresis on measured capacities. A `keep` is returned unchanged
 * (nothing to verify, no simulation).
 */
export async function verifyReallocation(
  i: ReallocInput,
  d: ReallocDecision,
  oracle: ClusterOracle,
  tolerance = 0.05,
): Promise<ReallocDecision> {
  if (d.action === 'keep' || d.candidates.length === 0) return d;
  const names = i.types.map((t) => t.name);
  const vec = (c: Readonly<Record<string, number>>): number[] => names.map((n) => c[n] ?? 0);
  const cur = vec(i.current);
  const hasBase = (i.current[i.baseType] ?? 0) > 0;
  const configs = [...(hasBase ? [vec(i.current)] : []), ...d.candidates.map(vec)].map((c) =>
    Object.fromEntries(names.map((n, k) => [n, c[k]])),
  );
  const measured = (
    await oracle.evaluate({
      configs,
      qosMs: i.qosMs,
      percentile: i.percentile ?? 99,
      baseType: i.baseType,
    })
  ).map((r) => r.allowableQps);
  const curQps = hasBase ? measured[0] : 0;
  const candQps = hasBase ? measured.slice(1) : measured;
  const best = Math.max(...candQps);
  let pick = d.mode === 'cover' ? candQps.findIndex((q) => q >= d.needQps) : -1;
  if (pick < 0) pick = candQps.findIndex((q) => q >= (1 - tolerance) * best);
  const prices = new Map(i.types.map((t) => [t.name, t.priceUsdPerHour]));
  const cost = (c: readonly number[]): number => c.reduce((s, n, k) => s + n * prices.get(names[k])!, 0);
  const w = vec(d.candidates[pick]);
  const asRecord = (c: readonly number[]): Record<string, number> =>
    Object.fromEntries(names.map((n, k) => [n, c[k]]));
  return {
    ...decide(i, d.needQps, cur, curQps, cost(cur), w, candQps[pick], cost(w), asRecord),
    needQps: d.needQps,
    candidates: d.candidates,
    mode: d.mode,
    verified: { currentQps: curQps, candidatesQps: candQps },
  };
}
