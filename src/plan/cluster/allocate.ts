/**
 * `allocate()`: the cluster planner end to end. Given a latency profile, an instance pool, a budget
 * and a QoS target, rank every configuration within the budget by the Kairos upper bound (or the LP
 * estimate), pick one by similarity among the top-ranked (or take the top-1), and report it beside
 * the runner-ups and the best homogeneous configuration.
 */
import { readFileSync } from 'node:fs';
import type { ClusterConfig, ClusterProfile, InstancePool, Allocation } from '../../model/cluster.ts';
import { clusterSchemas } from '../../model/cluster-schema.ts';
import { HetserveError, badField } from '../../model/errors.ts';
import { parseWith } from '../../model/validate.ts';
import { compileBound, type Aggregation } from './bound.ts';
import { homogeneousBaseline, oracleBaseline, type OracleRanking } from './baselines.ts';
import type { BayesianSearchResult } from './bayesian.ts';
import { rankConfigurations, type EnumerationPool, type RankedConfig } from './enumerate.ts';
import { DEFAULT_QOS_MS, KAIROS_MODELS, LatencyTable } from '../../predict/latency-table.ts';
import { createLpEstimator, fluidBoundQps, lpData, type LpData } from './lp.ts';
import type { ClusterOracle } from './oracle.ts';
import {
  computeProfileQuantities,
  prototypeProfileQuantities,
  sizeLimit,
  type ProfileQuantities,
  type QuantityOptions,
} from './quantities.ts';
import { deepRecSysSizes, type QuerySizeDistribution } from '../../workload/query-sizes.ts';
import { selectBySimilarity } from './select.ts';

const DATA_DIR = new URL('../../../data/kairos/', import.meta.url);

export interface AllocateOptions {
  /** Bundled model name (rm2, dien, wnd, mtwnd, ncf). Default `'rm2'`. Ignored when `profile` is set. */
  model?: string;
  /** A user latency profile (schema `cluster-profile`) instead of a bundled model. */
  profile?: ClusterProfile;
  /**
   * Instance pool. Default: the Kairos evaluation pool (data/kairos/instances.json, g4dn.xlarge as
   * base). A type without `maxCount` may be used as often as the budget allows.
   */
  pool?: InstancePool;
  /**
   * Instead of `pool`: these type names, priced from data/kairos/aws-ec2-prices.csv. The base type is
   * g4dn.xlarge when listed, else the cheapest listed type that meets QoS at every size.
   */
  types?: readonly string[];
  /** Hourly budget in USD. Default: the pool's `budgetUsdPerHour` (2.5 for the default pool and for `types`). */
  budgetUsdPerHour?: number;
  /** QoS target in ms. Default: the model's (rm2 350, dien 35, wnd 25, mtwnd 25, ncf 5); required for a user profile. */
  qosMs?: number;
  /** Percentile the QoS applies to, in (0, 100). Default 99. */
  percentile?: number;
  /** Query-size distribution. Default: the DeepRecSys-like mix (design §6.3). */
  sizes?: QuerySizeDistribution;
  /**
   * `'similarity'`: L1 medoid of the top `similarityK` (the paper's rule); `'top1'`: the best-ranked;
   * `'verified'`: the `oracle` (e.g. the simulator) measures the top `oracleCandidates` and keeps the
   * best-ranked one within `verifyTolerance` of the best measurement. Default: `'similarity'` with
   * `compat: 'prototype'` (the prototype's allocator), else `'verified'` when an oracle is given,
   * else `'top1'` (the best rule that needs no simulation). `allocateVerified()` (hetserve/simulate)
   * supplies the simulator as the oracle: the measured best rule (reports/kairos/selection-rules.md).
   */
  select?: 'similarity' | 'top1' | 'verified';
  /** How many top configurations the similarity rule compares. Default 5. */
  similarityK?: number;
  /**
   * Ranking key. `'ub'` (default): the Kairos upper bound. `'lp'`: the LP estimate. LPs are solved in
   * decreasing order of the fluid upper bound (which no LP exceeds), stopping as soon as no remaining
   * configuration can enter the reported top; `lpRankingExact` tells whether that happened within
   * `lpCandidates` solves.
   */
  rank?: 'ub' | 'lp';
  /** Most LPs solved when `rank: 'lp'`. Default 400. */
  lpCandidates?: number;
  /** `'prototype'`: the prototype's stored profile quantities and max aggregation (reproduces kairos.json). */
  compat?: 'prototype';
  /** Runner-ups reported (including the chosen one's rank neighbours). Default 10. */
  top?: number;
  /** `'prune'` skips configurations that could still add an instance of a used type. Default `'keep'`. */
  dominance?: 'keep' | 'prune';
  /** Compute the LP estimate for the reported configurations. Default `true`. */
  lp?: boolean;
  /** Run the Ribbon-like Bayesian-optimisation baseline (seeded). Default: off. */
  bayesian?: { seed?: number; iterations?: number; initPoints?: number };
  /** Exhaustive oracle (e.g. the simulator) evaluating the best `oracleCandidates` configurations. */
  oracle?: ClusterOracle;
  /** Configurations handed to the oracle (best by the ranking key). Default 20. */
  oracleCandidates?: number;
  /**
   * The `'verified'` rule keeps the best-ranked candidate whose measurement is ≥ (1 − tolerance) ×
   * the best measurement: a short simulation's own noise (a few %) does not overrule the ranking,
   * a clear gain does. Default 0.05. 0: the best measured (ties: better rank).
   */
  verifyTolerance?: number;
  /** Progress of the oracle's evaluations (done, total). */
  onOracleProgress?: (done: number, total: number) => void;
}

/** A reported configuration. */
export interface ReportedConfig extends ClusterConfig {
  /** 1-based rank in the ranking. */
  rank: number;
  /** Closed-form upper bound of the LP estimate (weak duality); present with `lpBoundQps`. */
  fluidBoundQps?: number;
}

export interface AllocationResult extends Allocation {
  chosen: ReportedConfig;
  compat: 'prototype' | null;
  rankBy: 'ub' | 'lp';
  select: 'similarity' | 'top1' | 'verified';
  similarity: { k: number; distance: 'l1'; chosenRank: number; totalDistance: number[] };
  top1: ReportedConfig;
  runnersUp: ReportedConfig[];
  homogeneous: (ReportedConfig & { scaledToBudgetQps: number }) | null;
  /** With `rank: 'lp'`: whether the LP ranking is provably the exact top (see `lpCandidates`). */
  lpRankingExact?: boolean;
  /** Chosen estimate / homogeneous estimate scaled to the budget. */
  gainOverHomogeneous: number | null;
  feasibleConfigs: number;
  productSize: number;
  quantities: ProfileQuantities;
  bayesian?: BayesianSearchResult & { bestConfig: Record<string, number> | null };
  oracle?: { name: string; ranked: { counts: Record<string, number>; allowableQps: number }[] };
  /** With `select: 'verified'`: the tolerance the pick used. */
  verifyTolerance?: number;
}

interface BundledPool {
  instanceTypes: string[];
  maxCount: number[];
  priceUsdPerHour: number[];
  budgetUsdPerHour: number;
}

/** The Kairos evaluation pool (data/kairos/instances.json), base g4dn.xlarge. */
export function defaultPool(): InstancePool {
  const p = JSON.parse(readFileSync(new URL('instances.json', DATA_DIR), 'utf8')) as BundledPool;
  return {
    types: p.instanceTypes.map((name, i) => ({
      name,
      priceUsdPerHour: p.priceUsdPerHour[i],
      maxCount: p.maxCount[i],
      base: i === 0,
    })),
    budgetUsdPerHour: p.budgetUsdPerHour,
  };
}

/** On-demand USD/h by type name, from data/kairos/aws-ec2-prices.csv. */
export function ec2Prices(): Map<string, number> {
  const lines = readFileSync(new URL('aws-ec2-prices.csv', DATA_DIR), 'utf8').trim().split(/\r?\n/).slice(1);
  return new Map(lines.map((l) => l.split(',')).map(([n, p]) => [n.trim(), Number(p)]));
}

/** Validate a pool document (E_POOL_INVALID naming the field). */
export function parsePool(input: unknown, where = 'pool'): InstancePool {
  return parseWith(clusterSchemas().InstancePoolSchema, input, 'E_POOL_INVALID', where);
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * LP estimates this close (relative) are one value: the LP's optimum is unique, but its last
 * digits depend on the solver's pivoting (~1e-14 here), and ranking must not.
 */
const LP_TIE = 1e-9;
const lpTied = (a: number, b: number): boolean =>
  Math.abs(a - b) <= LP_TIE * Math.max(Math.abs(a), Math.abs(b));

/** Plan a heterogeneous instance mix. Bad input throws HetserveError (see the error catalogue). */
export async function allocate(opts: AllocateOptions = {}): Promise<AllocationResult> {
  const compat = opts.compat;
  const percentile = opts.percentile ?? 99;
  if (!(percentile > 0 && percentile < 100)) {
    throw badField('E_INVALID_OPTION', 'percentile', percentile, 'must be in (0, 100)');
  }
  if (opts.profile && compat) {
    throw badField(
      'E_INVALID_OPTION',
      'compat',
      compat,
      'needs a bundled model (the prototype stored quantities for those only)',
    );
  }
  const table = opts.profile
    ? LatencyTable.fromProfile(opts.profile)
    : LatencyTable.bundled(opts.model ?? 'rm2');
  const model = table.model;
  const qosOrUndefined =
    opts.qosMs ?? (opts.profile ? undefined : DEFAULT_QOS_MS[model as (typeof KAIROS_MODELS)[number]]);
  if (qosOrUndefined === undefined) {
    throw badField(
      'E_INVALID_OPTION',
      'qos',
      qosOrUndefined,
      'a QoS target (ms) is required for a user profile',
    );
  }
  const qosMs: number = qosOrUndefined;
  if (!(qosMs > 0 && Number.isFinite(qosMs)))
    throw badField('E_INVALID_OPTION', 'qos', qosMs, 'must be a positive number of ms');
  const sizes = opts.sizes ?? deepRecSysSizes();
  const qopts: QuantityOptions = compat
    ? { qosMs, limitBy: 'median', includeViolating: true }
    : { qosMs, limitBy: 'percentile', percentile };

  const pool = resolvePool(opts, table, qopts);
  const budgetOrUndefined = opts.budgetUsdPerHour ?? pool.budgetUsdPerHour;
  if (budgetOrUndefined === undefined) {
    throw badField('E_INVALID_OPTION', 'budget', budgetOrUndefined, 'an hourly budget (USD) is required');
  }
  const budget: number = budgetOrUndefined;
  if (!(budget > 0 && Number.isFinite(budget)))
    throw badField('E_INVALID_OPTION', 'budget', budget, 'must be a positive USD/h amount');
  const baseType = pool.types.find((t) => t.base)!;
  if (budget < baseType.priceUsdPerHour) {
    throw new HetserveError(
      'E_BUDGET_TOO_LOW',
      `budget: ${budget} USD/h does not buy one ${baseType.name} (${baseType.priceUsdPerHour} USD/h), which every configuration needs`,
      {
        field: 'budget',
        value: budget,
        minBudgetUsdPerHour: baseType.priceUsdPerHour,
        hint: `use --budget ${baseType.priceUsdPerHour} or more`,
      },
    );
  }
  checkQosReachable(table, sizes, pool, qopts, qosMs);

  const names = pool.types.map((t) => t.name);
  const auxNames = names.filter((n) => n !== baseType.name);
  const quantities = compat
    ? prototypeProfileQuantities(model, baseType.name, auxNames)
    : computeProfileQuantities(table, sizes, baseType.name, auxNames, qopts);
  const aggregation: Aggregation = compat ? 'max' : 'per-type';
  const bound = compileBound(quantities, names, aggregation);
  const epool: EnumerationPool = {
    types: names,
    prices: pool.types.map((t) => t.priceUsdPerHour),
    maxCounts: pool.types.map((t) => t.maxCount ?? Math.floor(budget / t.priceUsdPerHour + 1e-9)),
    baseIndex: names.indexOf(baseType.name),
  };

  const rankBy = opts.rank ?? 'ub';
  const top = opts.top ?? 10;
  if (!Number.isInteger(top) || top < 1)
    throw badField('E_INVALID_OPTION', 'top', top, 'must be an integer ≥ 1');
  const k = opts.similarityK ?? 5;
  const lpCandidates = opts.lpCandidates ?? 400;
  const keep = Math.max(top, k, opts.oracle ? (opts.oracleCandidates ?? 20) : 0);
  const ranking = rankConfigurations(epool, {
    budget,
    score: (c) => bound(c),
    top: keep,
    dominance: opts.dominance ?? 'keep',
  });
  if (ranking.ranked.length === 0) {
    // The budget buys a base instance (checked above), so only a zero max count can get here.
    throw badField(
      'E_POOL_INVALID',
      `pool.types.${baseType.name}.maxCount`,
      baseType.maxCount,
      'must allow at least one base instance',
    );
  }

  // LP data: limits as the bound sees them (the prototype's stored vio_batch in compat mode).
  const wantLp = opts.lp ?? true;
  let lp: { solve: (c: number[]) => number; data: LpData } | undefined;
  if (wantLp || rankBy === 'lp') {
    const limits = names.map((n) =>
      n === baseType.name ? table.maxSize : (quantities.aux.find((a) => a.type === n)?.limit ?? 0),
    );
    const data = lpData(table, sizes, names, limits);
    const estimator = createLpEstimator(data);
    const cache = new Map<string, number>();
    lp = {
      data,
      solve: (c) => {
        const key = c.join(',');
        let v = cache.get(key);
        if (v === undefined) cache.set(key, (v = estimator.estimate(c).qps));
        return v;
      },
    };
  }
  return finishAllocation();

  async function finishAllocation(): Promise<AllocationResult> {
    let ranked: RankedConfig[] = ranking.ranked;
    let lpRankingExact: boolean | undefined;
    if (rankBy === 'lp') {
      // Branch and bound: visit configurations by decreasing fluid bound (≥ their LP) and stop once
      // none left can beat the current want-th best LP.
      const l = lp!;
      const want = Math.max(top, k, opts.oracle ? (opts.oracleCandidates ?? 20) : 0);
      const byFluid = rankConfigurations(epool, {
        budget,
        score: (c) => fluidBoundQps(l.data, c),
        top: lpCandidates,
        dominance: opts.dominance ?? 'keep',
      });
      const scored: (RankedConfig & { lpScore: number })[] = [];
      const best: number[] = []; // the best `want` LP values, descending
      lpRankingExact = byFluid.ranked.length === byFluid.scored;
      for (const r of byFluid.ranked) {
        if (best.length >= want && r.score < best[want - 1] && !lpTied(r.score, best[want - 1])) {
          lpRankingExact = true;
          break;
        }
        const v = l.solve(r.counts);
        scored.push({ ...r, lpScore: v });
        const at = best.findIndex((x) => x < v);
        best.splice(at < 0 ? best.length : at, 0, v);
        if (best.length > want) best.length = want;
      }
      // LP ties are common, not rare (e.g. while the base type's share bounds λ, trading one small
      // instance for another leaves λ unchanged), and a solver returns tied optima with different
      // rounding in the last bits: equal within LP_TIE they are ordered by the Kairos upper bound,
      // then the lower cost, then enumeration order, never by that rounding.
      ranked = scored
        .map((r) => ({ r, ub: bound(r.counts) }))
        .sort(
          (a, b) =>
            (lpTied(a.r.lpScore, b.r.lpScore) ? 0 : b.r.lpScore - a.r.lpScore) ||
            b.ub - a.ub ||
            a.r.cost - b.r.cost ||
            a.r.order - b.r.order,
        )
        .map(({ r }) => r);
    }
    const scoreOf = (r: RankedConfig): number =>
      rankBy === 'lp' ? (r as RankedConfig & { lpScore: number }).lpScore : r.score;
    const report = (counts: number[], rank: number, cost: number): ReportedConfig => {
      const out: ReportedConfig = {
        counts: Object.fromEntries(names.map((n, i) => [n, counts[i]])),
        costUsdPerHour: round6(cost),
        upperBoundQps: bound(counts),
        rank,
      };
      if (lp) {
        out.lpBoundQps = lp.solve(counts);
        out.fluidBoundQps = fluidBoundQps(lp.data, counts);
      }
      return out;
    };
    const sim = selectBySimilarity(
      ranked.map((r) => ({ counts: r.counts, score: scoreOf(r), cost: r.cost })),
      { k, ...(rankBy === 'lp' ? { scoreTolerance: LP_TIE } : {}) },
    );
    const select = opts.select ?? (compat ? 'similarity' : opts.oracle ? 'verified' : 'top1');
    if (select === 'verified' && !opts.oracle)
      throw badField(
        'E_INVALID_OPTION',
        'select',
        select,
        'needs an oracle (e.g. the simulator) to verify with',
      );
    const verifyTolerance = opts.verifyTolerance ?? 0.05;
    if (!(verifyTolerance >= 0 && verifyTolerance < 1))
      throw badField('E_INVALID_OPTION', 'verifyTolerance', verifyTolerance, 'must be in [0, 1)');
    let verified: OracleRanking | undefined;
    let chosenIdx = select === 'similarity' ? sim.index : 0;
    if (opts.oracle) {
      const n = opts.oracleCandidates ?? 20;
      verified = await oracleBaseline(
        opts.oracle,
        epool,
        ranked.slice(0, n).map((r) => r.counts),
        qosMs,
        percentile,
        opts.onOracleProgress,
      );
      if (select === 'verified') {
        // The best-ranked candidate within the tolerance of the best measurement (ties: better rank).
        const bestQps = verified.ranked[0].result.allowableQps;
        const ok = new Set(
          verified.ranked
            .filter((r) => r.result.allowableQps >= (1 - verifyTolerance) * bestQps)
            .map((r) => r.counts.join(',')),
        );
        chosenIdx = ranked.findIndex((r) => ok.has(r.counts.join(',')));
      }
    }
    const top1 = report(ranked[0].counts, 1, ranked[0].cost);
    const chosen =
      chosenIdx === 0 ? top1 : report(ranked[chosenIdx].counts, chosenIdx + 1, ranked[chosenIdx].cost);
    const runnersUp = ranked
      .slice(0, top)
      .map((r, i) => (i === 0 ? top1 : i === chosenIdx ? chosen : report(r.counts, i + 1, r.cost)));

    const estimate = (c: number[]): number => (rankBy === 'lp' ? lp!.solve(c) : bound(c));
    const homog = homogeneousBaseline(epool, budget, estimate);
    const homogeneous = homog
      ? { ...report(homog.counts, 0, homog.cost), scaledToBudgetQps: homog.scaledToBudgetQps }
      : null;
    const chosenQps = rankBy === 'lp' ? chosen.lpBoundQps! : chosen.upperBoundQps;

    const result: AllocationResult = {
      kind: 'cluster-allocation',
      model,
      budgetUsdPerHour: budget,
      qosMs,
      percentile,
      pool: pool.types.map((t, i) => ({ ...t, maxCount: epool.maxCounts[i] })),
      chosen,
      compat: compat ?? null,
      rankBy,
      select,
      similarity: {
        k: Math.min(k, ranked.length),
        distance: 'l1',
        chosenRank: sim.index + 1,
        totalDistance: [...sim.totalDistance],
      },
      top1,
      runnersUp,
      homogeneous,
      gainOverHomogeneous: homogeneous ? chosenQps / homogeneous.scaledToBudgetQps : null,
      ...(lpRankingExact === undefined ? {} : { lpRankingExact }),
      feasibleConfigs: ranking.scored,
      productSize: ranking.productSize,
      quantities,
    };
    if (opts.bayesian) {
      const { bayesianSearch } = await import('./bayesian.ts');
      const r = bayesianSearch(epool, budget, estimate, opts.bayesian);
      result.bayesian = {
        ...r,
        bestConfig: r.best ? Object.fromEntries(names.map((n, i) => [n, r.best!.counts[i]])) : null,
      };
    }
    if (select === 'verified') result.verifyTolerance = verifyTolerance;
    if (verified) {
      const o = verified;
      result.oracle = {
        name: o.oracle,
        ranked: o.ranked.map((r) => ({
          counts: Object.fromEntries(names.map((nm, i) => [nm, r.counts[i]])),
          allowableQps: r.result.allowableQps,
        })),
      };
    }
    return result;
  }
}

/** Build and check the pool: types known to the profile, exactly one base type. */
function resolvePool(opts: AllocateOptions, table: LatencyTable, qopts: QuantityOptions): InstancePool {
  let pool: InstancePool;
  if (opts.types) {
    if (opts.pool)
      throw badField('E_INVALID_OPTION', 'types', opts.types, 'give either a pool or a type list, not both');
    const prices = ec2Prices();
    const types = opts.types.map((name) => {
      const price = prices.get(name);
      if (price === undefined) {
        throw badField(
          'E_UNKNOWN_INSTANCE_TYPE',
          'types',
          name,
          `not in aws-ec2-prices.csv (${[...prices.keys()].join(', ')})`,
        );
      }
      return { name, priceUsdPerHour: price, base: false };
    });
    for (const t of types) requireProfiled(table, t.name);
    const meetsAll = (n: string): boolean => sizeLimit(table, n, qopts).limit >= table.maxSize;
    const base =
      types.find((t) => t.name === 'g4dn.xlarge' && meetsAll(t.name)) ??
      [...types].sort((a, b) => a.priceUsdPerHour - b.priceUsdPerHour).find((t) => meetsAll(t.name));
    if (!base) {
      throw badField(
        'E_NO_BASE_TYPE',
        'types',
        opts.types,
        `none of them meets ${qopts.qosMs} ms at every query size`,
        {
          hint: 'add an accelerated type such as g4dn.xlarge, or raise --qos',
        },
      );
    }
    base.base = true;
    pool = { types, budgetUsdPerHour: defaultPool().budgetUsdPerHour };
  } else {
    pool = opts.pool ? parsePool(opts.pool) : defaultPool();
    for (const t of pool.types) requireProfiled(table, t.name);
  }
  const seen = new Set<string>();
  for (const t of pool.types) {
    if (seen.has(t.name)) throw badField('E_POOL_INVALID', 'pool.types', t.name, 'duplicate instance type');
    seen.add(t.name);
  }
  const bases = pool.types.filter((t) => t.base);
  if (bases.length === 0) {
    throw badField(
      'E_NO_BASE_TYPE',
      'pool.types',
      pool.types.map((t) => t.name),
      'no type is marked base: true',
      {
        hint: 'mark the accelerated type that meets QoS for every query size as base',
      },
    );
  }
  if (bases.length > 1) {
    throw badField(
      'E_POOL_INVALID',
      'pool.types',
      bases.map((t) => t.name),
      'exactly one base type is supported',
    );
  }
  return pool;
}

function requireProfiled(table: LatencyTable, name: string): void {
  if (!table.has(name)) {
    throw badField(
      'E_UNKNOWN_INSTANCE_TYPE',
      'types',
      name,
      `the ${table.model} profile has no latencies for it (has ${table.types.join(', ')})`,
    );
  }
}

/** E_QOS_UNREACHABLE when no pool type meets QoS even at the smallest query size. */
function checkQosReachable(
  table: LatencyTable,
  sizes: QuerySizeDistribution,
  pool: InstancePool,
  qopts: QuantityOptions,
  qosMs: number,
): void {
  const smallest = table.gridSize(sizes.sizes[0]);
  const any = pool.types.some((t) => sizeLimit(table, t.name, qopts).limit >= smallest);
  if (!any) {
    const need = Math.min(
      ...pool.types.map((t) =>
        qopts.limitBy === 'median'
          ? table.medianMs(t.name, smallest)
          : table.quantileMs(t.name, smallest, (qopts.percentile ?? 99) / 100),
      ),
    );
    throw new HetserveError(
      'E_QOS_UNREACHABLE',
      `qos: no instance type meets ${qosMs} ms for any query size (best at size ${smallest}: ${Math.round(need * 1000) / 1000} ms)`,
      { field: 'qos', value: qosMs, minQosMs: need },
    );
  }
}
