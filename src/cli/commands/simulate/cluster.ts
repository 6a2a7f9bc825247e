/**
 * `hetserve simulate cluster`: run a configuration (instance counts) of a Kairos model under the
 * dispatch core's distributors, at a given rate or searching the allowable throughput.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HetserveError } from '../../../model/errors.ts';
import type { InstancePool } from '../../../model/cluster.ts';
import { parseNumber, parseNumberList, printJson, readJsonFile } from '../../io.ts';
import { defaultPool, parsePool } from '../../../plan/cluster/allocate.ts';
import {
  DEFAULT_QOS_MS,
  KAIROS_MODELS,
  LatencyTable,
  parseClusterProfile,
} from '../../../predict/latency-table.ts';
import {
  deepRecSysSizes,
  sizeDistributionFromHistogram,
  type QuerySizeDistribution,
} from '../../../workload/query-sizes.ts';
import { progressBar } from '../../progress.ts';
import { parseList } from './common.ts';
import {
  expandCounts,
  findAllowableThroughput,
  simulateCluster,
  type AllowableResult,
  type ClusterSimResult,
} from '../../../simulate/cluster.ts';
import {
  distributorFactory,
  parseDistributorName,
  type DistributorName,
} from '../../../simulate/distributors.ts';
import { barChartSvg, markdownTable, textTable, writeFigure } from '../../../experiments/report.ts';
import type { GapMode } from '../../../workload/arrivals.ts';

export interface SimulateClusterCliOptions {
  model: string;
  config: string;
  qos?: string;
  percentile: string;
  distributor: string;
  rate?: string;
  findMaxRate?: boolean;
  queries: string;
  seeds: string;
  steps: string;
  gaps: string;
  threshold?: string;
  pool?: string;
  sizes?: string;
  compat: string;
  penaltyPercentile?: string;
  json?: boolean;
  report?: string;
  quiet?: boolean;
}

/** A model's latency table: bundled name or a cluster-profile JSON file. */
export function loadTable(model: string): LatencyTable {
  if ((KAIROS_MODELS as readonly string[]).includes(model)) return LatencyTable.bundled(model);
  if (/\.json$/i.test(model) || model.includes('/'))
    return LatencyTable.fromProfile(parseClusterProfile(readJsonFile(model, 'model'), model));
  return LatencyTable.bundled(model); // raises E_UNKNOWN_MODEL naming the bundled ones
}

/**
 * Instance counts from `--config`: either counts in pool order (`1,0,13,0`) or `type=count` pairs
 * (`g4dn.xlarge=1,r5n.large=13`). Every type must be in the pool and the latency table.
 */
export function parseConfig(raw: string, pool: InstancePool, table: LatencyTable): Record<string, number> {
  const types = pool.types.map((t) => t.name);
  const items = parseList('config', raw);
  const counts: Record<string, number> = {};
  if (items.every((s) => s.includes('='))) {
    for (const it of items) {
      const [t, v] = it.split('=');
      if (!types.includes(t))
        throw new HetserveError(
          'E_UNKNOWN_INSTANCE_TYPE',
          `config: instance type ${JSON.stringify(t)} is not in the pool (${types.join(', ')})`,
          {
            field: 'config',
            value: t,
          },
        );
      counts[t] = parseNumber('--config', v, { integer: true, min: 0 });
    }
  } else {
    if (items.length !== types.length)
      throw new HetserveError(
        'E_INVALID_OPTION',
        `config: expected ${types.length} counts in pool order (${types.join(', ')}), got ${items.length}`,
        {
          field: 'config',
          value: raw,
        },
      );
    items.forEach((v, i) => (counts[types[i]] = parseNumber('--config', v, { integer: true, min: 0 })));
  }
  for (const [t, n] of Object.entries(counts))
    if (n > 0 && !table.has(t))
      throw new HetserveError(
        'E_UNKNOWN_INSTANCE_TYPE',
        `config: the ${table.model} profile has no latencies for ${JSON.stringify(t)}`,
        { field: 'config', value: t },
      );
  if (Object.values(counts).every((n) => n === 0))
    throw new HetserveError(
      'E_INVALID_OPTION',
      `config: the configuration has no instance (got ${JSON.stringify(raw)})`,
      { field: 'config', value: raw },
    );
  return counts;
}

export function baseTypeOf(pool: InstancePool): string {
  const b = pool.types.find((t) => t.base);
  if (!b)
    throw new HetserveError('E_NO_BASE_TYPE', 'pool: no instance type is marked base: true', {
      field: 'pool.types',
      value: pool.types.map((t) => t.name),
    });
  return b.name;
}

interface ClusterRow {
  distributor: DistributorName;
  atRate?: ClusterSimResult;
  allowable?: AllowableResult;
}

export async function runSimulateCluster(o: SimulateClusterCliOptions): Promise<void> {
  const table = loadTable(o.model);
  const pool = o.pool ? parsePool(readJsonFile(o.pool, 'pool')) : defaultPool();
  const counts = parseConfig(o.config, pool, table);
  const base = baseTypeOf(pool);
  const qosMs = o.qos
    ? parseNumber('--qos', o.qos, { above: 0 })
    : (DEFAULT_QOS_MS as Record<string, number>)[table.model];
  if (qosMs === undefined)
    throw new HetserveError(
      'E_INVALID_OPTION',
      `qos: no default QoS for model ${JSON.stringify(table.model)}; pass --qos <ms>`,
      { field: 'qos', value: undefined },
    );
  const percentile = parseNumber('--percentile', o.percentile, { min: 0 });
  if (!(percentile > 0 && percentile < 100))
    throw new HetserveError('E_INVALID_OPTION', `percentile: must be in (0, 100) (got ${o.percentile})`, {
      field: 'percentile',
      value: o.percentile,
    });
  const sizes: QuerySizeDistribution = o.sizes
    ? sizeDistributionFromHistogram(readJsonFile(o.sizes, 'sizes'), 'sizes')
    : deepRecSysSizes();
  if (sizes.sizes[sizes.sizes.length - 1] > table.maxSize)
    throw new HetserveError(
      'E_INVALID_INPUT',
      `sizes: largest query size ${sizes.sizes[sizes.sizes.length - 1]} exceeds the profile's ${table.maxSize}`,
      {
        field: 'sizes',
        value: sizes.sizes[sizes.sizes.length - 1],
      },
    );
  const names = parseList('distributor', o.distributor).map(parseDistributorName);
  const compat = o.compat === 'prototype' ? 'prototype' : o.compat === 'paper' ? 'paper' : undefined;
  if (!compat)
    throw new HetserveError(
      'E_INVALID_OPTION',
      `compat: must be 'paper' or 'prototype' (got ${JSON.stringify(o.compat)})`,
      { field: 'compat', value: o.compat },
    );
  const gaps: GapMode =
    o.gaps === 'integer-ms'
      ? 'integer-ms'
      : o.gaps === 'exponential'
        ? 'exponential'
        : (() => {
            throw new HetserveError(
              'E_INVALID_OPTION',
              `gaps: must be 'exponential' or 'integer-ms' (got ${JSON.stringify(o.gaps)})`,
              { field: 'gaps', value: o.gaps },
            );
          })();
  const threshold = o.threshold ? parseNumber('--threshold', o.threshold, { min: 0 }) : undefined;
  const penaltyPercentile =
    o.penaltyPercentile !== undefined
      ? parseNumber('--penalty-percentile', o.penaltyPercentile, { min: 0 })
      : undefined;
  const queries = parseNumber('--queries', o.queries, { integer: true, min: 1 });
  const seeds = parseNumberList('--seeds', o.seeds, { integer: true, min: 0 });
  const steps = parseNumber('--steps', o.steps, { integer: true, min: 1 });
  const rate = o.rate ? parseNumber('--rate', o.rate, { above: 0 }) : undefined;
  if (!o.findMaxRate && rate === undefined)
    throw new HetserveError('E_INVALID_OPTION', 'rate: pass --rate <queries/s> or --find-max-rate', {
      field: 'rate',
      value: undefined,
    });
  const typeOrder = pool.types.map((t) => t.name);
  const instances = expandCounts(counts, typeOrder);
  const cost = pool.types.reduce((s, t) => s + t.priceUsdPerHour * (counts[t.name] ?? 0), 0);
  const common = { table, instances, qosMs, percentile, sizes, queries, gaps };

  // A search runs `steps` probes per seed, more only when its range must grow (the bar's total follows).
  const perDist = (rate !== undefined ? 1 : 0) + (o.findMaxRate ? seeds.length * steps : 0);
  const progress = await progressBar(perDist * names.length, 'simulate', o.quiet || o.json);
  const rows: ClusterRow[] = [];
  try {
    for (const name of names) {
      const createDistributor = distributorFactory(
        {
          name,
          baseType: base,
          compat,
          ...(threshold !== undefined ? { threshold } : {}),
          ...(penaltyPercentile !== undefined ? { penaltyPercentile } : {}),
        },
        table,
      );
      const row: ClusterRow = { distributor: name };
      if (rate !== undefined) {
        row.atRate = simulateCluster({ ...common, createDistributor, rateQps: rate, seed: seeds[0] });
        progress.tick(1, name);
      }
      if (o.findMaxRate)
        row.allowable = findAllowableThroughput({
          ...common,
          createDistributor,
          seeds,
          steps,
          onStep: () => progress.tick(1, name),
        });
      rows.push(row);
    }
  } finally {
    progress.stop();
  }
  const meta = {
    kind: 'cluster-simulation',
    model: table.model,
    config: counts,
    costUsdPerHour: cost,
    qosMs,
    percentile,
    gaps,
    queries,
    seeds,
    sizes: o.sizes ?? 'deeprecsys',
    ...(penaltyPercentile !== undefined ? { penaltyPercentile } : {}),
  };
  const results = rows.map((r) => ({
    distributor: r.distributor,
    ...(r.atRate
      ? {
          rateQps: r.atRate.offeredQps,
          qosMetRatio: r.atRate.qosMetRatio,
          meetsQos: r.atRate.meetsQos,
          throughputQps: r.atRate.throughputQps,
          latencyMs: r.atRate.latencyMs,
          servedByType: r.atRate.servedByType,
          ...(r.atRate.stoppedEarly ? { stoppedEarly: r.atRate.stoppedEarly } : {}),
        }
      : {}),
    ...(r.allowable ? { allowableQps: r.allowable.allowableQps, allowable: r.allowable } : {}),
  }));
  if (o.report) await writeClusterReport(o.report, meta, results);
  if (o.json) {
    printJson({ ...meta, results });
    return;
  }
  process.stdout.write(
    `model ${table.model}, config ${Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([t, n]) => `${n}×${t}`)
      .join(
        ' + ',
      )} ($${cost.toFixed(3)}/h), QoS p${percentile} ≤ ${qosMs} ms, ${gaps} gaps, ${queries} queries\n\n`,
  );
  const head = ['distributor'];
  if (rate !== undefined) head.push('rate q/s', 'QoS met %', 'meets', 'throughput q/s', 'p99 ms');
  if (o.findMaxRate) head.push('allowable q/s', 'seed min', 'seed max');
  process.stdout.write(
    textTable(
      head,
      rows.map((r) => [
        r.distributor,
        ...(r.atRate
          ? [
              r.atRate.offeredQps,
              100 * r.atRate.qosMetRatio,
              r.atRate.meetsQos ? 'yes' : `no${r.atRate.stoppedEarly ? ` (${r.atRate.stoppedEarly})` : ''}`,
              r.atRate.throughputQps,
              r.atRate.latencyMs.p99,
            ]
          : []),
        ...(r.allowable
          ? [r.allowable.allowableQps, r.allowable.spreadQps[0], r.allowable.spreadQps[1]]
          : []),
      ]),
    ) + '\n',
  );
  if (o.report) process.stdout.write(`\nreport: ${join(o.report, 'report.md')}\n`);
}

async function writeClusterReport(
  dir: string,
  meta: Record<string, unknown> & { model: string },
  results: { distributor: string; allowableQps?: number; qosMetRatio?: number; throughputQps?: number }[],
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const figs: { svg: string; png: string }[] = [];
  if (results.some((r) => r.allowableQps !== undefined))
    figs.push(
      await writeFigure(
        dir,
        'allowable-throughput',
        await barChartSvg({
          title: `${meta.model}: allowable throughput by distributor`,
          yLabel: 'queries/s meeting the QoS',
          bars: results.map((r) => ({
            group: r.distributor,
            series: r.distributor,
            value: r.allowableQps ?? 0,
          })),
        }),
      ),
    );
  const md = [
    `# Cluster simulation: ${meta.model}`,
    '',
    '```json',
    JSON.stringify(meta, null, 2),
    '```',
    '',
    markdownTable(
      ['distributor', 'QoS met (%)', 'throughput (q/s)', 'allowable (q/s)'],
      results.map((r) => [
        r.distributor,
        r.qosMetRatio !== undefined ? 100 * r.qosMetRatio : '–',
        r.throughputQps ?? '–',
        r.allowableQps ?? '–',
      ]),
    ),
    '',
    ...figs.map((f) => `![${f.svg}](${f.svg})`),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'report.md'), md);
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ ...meta, results }, null, 1));
}
