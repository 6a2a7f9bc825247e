/**
 * Profile quantities of the Kairos upper bound (design §4.2): the base type's mixed-stream rate
 * `qps`, and per auxiliary type its size limit, `small_ratio`, `time_ratio` and `all_batch[v]`
 * (its rate when serving only sizes ≤ v) for every candidate v.
 *
 * Two sources:
 * - `computeProfileQuantities` (default): exact expectations over the query-size distribution of
 *   the latency table's means. The QoS test that sets each type's size limit is configurable:
 *   by default a size is servable when the chosen percentile of its samples is ≤ QoS and the limit
 *   is the largest servable size (design §4.5 fix); `limitBy: 'median', includeViolating: true`
 *   is the prototype's rule (the first size whose median exceeds QoS is still counted as small).
 * - `prototypeProfileQuantities` (`compat: 'prototype'`): the prototype's stored, rounded values from
 *   data/kairos/prototype-profile.json, needed to reproduce its ranking bit for bit.
 */
import { readFileSync } from 'node:fs';
import { HetserveError, badField } from '../../model/errors.ts';
import type { LatencyTable } from '../../predict/latency-table.ts';
import type { QuerySizeDistribution } from '../../workload/query-sizes.ts';

export interface AuxQuantities {
  readonly type: string;
  /** Size threshold: the type takes queries of size ≤ limit (0 = it can serve none). */
  readonly limit: number;
  /** Smallest size that breaks QoS on this type, or null if every size meets it (for reports). */
  readonly vioBatch: number | null;
  /** P(size ≤ limit). */
  readonly smallRatio: number;
  /** Share of the base type's busy time spent on sizes ≤ limit. */
  readonly timeRatio: number;
  /** Rate (QPS) of one instance serving only sizes ≤ limit = allBatch[limit]. */
  readonly qps: number;
  /** Rate (QPS) of one instance serving only sizes ≤ v, keyed by candidate v. */
  readonly allBatch: Readonly<Record<string, number>>;
}

export interface ProfileQuantities {
  readonly model: string;
  readonly source: 'samples' | 'prototype';
  readonly base: string;
  /** Rate of one base instance on the whole mixed stream: 1000 / E_D[L_base]. */
  readonly baseQps: number;
  readonly aux: readonly AuxQuantities[];
  /**
   * `smallRatio` and `timeRatio` as functions of a threshold v (available when computed from the
   * samples; the per-type bound needs them at every candidate v).
   */
  readonly byLimit?: Readonly<Record<string, { smallRatio: number; timeRatio: number }>>;
}

export interface QuantityOptions {
  /** QoS target in ms. Required. */
  qosMs: number;
  /** Statistic compared with QoS to decide whether a type can serve a size. Default `'percentile'`. */
  limitBy?: 'percentile' | 'median' | 'mean';
  /** Percentile (0, 100) used when `limitBy` is `'percentile'`. Default 99. */
  percentile?: number;
  /** Prototype rule: count the first violating size as servable. Default `false`. */
  includeViolating?: boolean;
}

/** The statistic of `type` at each profiled size that `limitBy` compares with QoS. */
export function limitStatistic(
  table: LatencyTable,
  type: string,
  opts: Pick<QuantityOptions, 'limitBy' | 'percentile'>,
): number[] {
  const by = opts.limitBy ?? 'percentile';
  const p = (opts.percentile ?? 99) / 100;
  return table.batchSizes.map((b) => {
    if (by === 'mean') return table.meanMs(type, b);
    return table.quantileMs(type, b, by === 'median' ? 0.5 : p);
  });
}

/** Largest servable size and first violating size of `type` (see QuantityOptions). */
export function sizeLimit(
  table: LatencyTable,
  type: string,
  opts: QuantityOptions,
): { limit: number; vioBatch: number | null } {
  const stat = limitStatistic(table, type, opts);
  const i = stat.findIndex((x) => x > opts.qosMs);
  if (i < 0) return { limit: table.maxSize, vioBatch: null };
  const vio = table.batchSizes[i];
  return { limit: opts.includeViolating ? vio : i === 0 ? 0 : table.batchSizes[i - 1], vioBatch: vio };
}

/**
 * Compute the quantities from a latency table and an exact size distribution. Every size of the
 * distribution must lie within the profile (else E_PROFILE_INVALID). The base type must meet QoS
 * at every size of the distribution (else E_QOS_UNREACHABLE, with the smallest QoS that would).
 */
export function computeProfileQuantities(
  table: LatencyTable,
  sizes: QuerySizeDistribution,
  base: string,
  auxTypes: readonly string[],
  opts: QuantityOptions,
): ProfileQuantities {
  const maxSize = sizes.sizes[sizes.sizes.length - 1];
  if (maxSize > table.maxSize) {
    throw badField(
      'E_PROFILE_INVALID',
      'batchSizes',
      table.maxSize,
      `the ${table.model} profile stops below query size ${maxSize}`,
      {
        hint: 'profile every size of the query-size distribution',
      },
    );
  }
  // Per profiled-size index: probability mass (sizes rounded up onto the grid).
  const n = table.batchSizes.length;
  const mass = new Float64Array(n);
  sizes.sizes.forEach((s, i) => (mass[table.sizeIndex(s)] += sizes.probabilities[i]));
  const baseRow = table.meanRow(base);
  const baseStat = limitStatistic(table, base, opts);
  let worst = 0;
  for (let i = 0; i < n; i++) if (mass[i] > 0) worst = Math.max(worst, baseStat[i]);
  if (worst > opts.qosMs) {
    const bad = table.batchSizes[baseStat.findIndex((x, i) => mass[i] > 0 && x > opts.qosMs)];
    throw new HetserveError(
      'E_QOS_UNREACHABLE',
      `qos: base type ${base} misses ${opts.qosMs} ms at query size ${bad}; it needs at least ${round3(worst)} ms to serve every size`,
      { field: 'qos', value: opts.qosMs, minQosMs: worst, hint: `use --qos ${Math.ceil(worst)} or more` },
    );
  }
  const eBase = dot(mass, baseRow, n);
  const prefixUpTo = (v: number, row: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < n && table.batchSizes[i] <= v; i++) s += mass[i] * row[i];
    return s;
  };
  const ones = new Float64Array(n).fill(1);
  const limits = auxTypes.map((t) => ({ t, ...sizeLimit(table, t, opts) }));
  const candidates = [...new Set(limits.map((l) => l.limit).filter((v) => v > 0))];
  const byLimit: Record<string, { smallRatio: number; timeRatio: number }> = {};
  for (const v of candidates) {
    byLimit[v] = { smallRatio: prefixUpTo(v, ones), timeRatio: prefixUpTo(v, baseRow) / eBase };
  }
  const aux = limits.map(({ t, limit, vioBatch }): AuxQuantities => {
    const row = table.meanRow(t);
    const allBatch: Record<string, number> = {};
    for (const v of candidates) {
      const small = byLimit[v].smallRatio;
      allBatch[v] = small > 0 ? (1000 * small) / prefixUpTo(v, row) : 0;
    }
    const small = limit > 0 ? byLimit[limit].smallRatio : 0;
    return {
      type: t,
      limit,
      vioBatch,
      smallRatio: small,
      timeRatio: limit > 0 ? byLimit[limit].timeRatio : 0,
      qps: limit > 0 ? allBatch[limit] : 0,
      allBatch,
    };
  });
  return { model: table.model, source: 'samples', base, baseQps: 1000 / eBase, aux, byLimit };
}

function dot(a: Float64Array, b: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

interface StoredType {
  qps: number;
  small_ratio?: number;
  vio_batch?: number;
  time_ratio?: number;
  all_batch?: Record<string, number>;
}

let storedCache: Record<string, Record<string, StoredType>> | undefined;

/**
 * The prototype's stored quantities for a bundled model (`compat: 'prototype'`). `base` and
 * `auxTypes` must be types the prototype profiled (else E_UNKNOWN_INSTANCE_TYPE).
 */
export function prototypeProfileQuantities(
  model: string,
  base: string,
  auxTypes: readonly string[],
): ProfileQuantities {
  storedCache ??= (
    JSON.parse(
      readFileSync(new URL('../../../data/kairos/prototype-profile.json', import.meta.url), 'utf8'),
    ) as {
      models: Record<string, Record<string, StoredType>>;
    }
  ).models;
  const m = storedCache[model];
  if (!m) {
    throw badField(
      'E_UNKNOWN_MODEL',
      'model',
      model,
      `--compat prototype has stored quantities for ${Object.keys(storedCache).join(', ')} only`,
    );
  }
  const get = (t: string): StoredType => {
    const q = m[t];
    if (!q)
      throw badField(
        'E_UNKNOWN_INSTANCE_TYPE',
        'types',
        t,
        `the prototype profiled ${Object.keys(m).join(', ')} only`,
      );
    return q;
  };
  const aux = auxTypes.map((t): AuxQuantities => {
    const q = get(t);
    if (q.vio_batch === undefined) {
      throw badField(
        'E_POOL_INVALID',
        'types',
        t,
        'is the base type in the prototype profile, not an auxiliary one',
      );
    }
    return {
      type: t,
      limit: q.vio_batch,
      vioBatch: q.vio_batch,
      smallRatio: q.small_ratio ?? 0,
      timeRatio: q.time_ratio ?? 0,
      qps: q.qps,
      allBatch: q.all_batch ?? {},
    };
  });
  return { model, source: 'prototype', base, baseQps: get(base).qps, aux };
}
