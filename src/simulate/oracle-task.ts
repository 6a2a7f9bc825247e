/** The oracle's unit of work, shared by the worker threads and the in-thread fallback. */
import { LatencyTable } from '../predict/latency-table.ts';
import { expandCounts, findAllowableThroughput, type DistributorFactory } from './cluster.ts';
import { distributorFactory } from './distributors.ts';
import type { OracleTask, OracleWorkerInit } from './oracle.ts';
import type { OracleResult } from '../plan/cluster/oracle.ts';

export interface OracleContext {
  init: OracleWorkerInit;
  table: LatencyTable;
  factory: DistributorFactory;
}

export function prepare(init: OracleWorkerInit): OracleContext {
  const table =
    typeof init.model === 'string' ? LatencyTable.bundled(init.model) : LatencyTable.fromProfile(init.model);
  return { init, table, factory: distributorFactory(init.distributor, table) };
}

export function evaluateTask(ctx: OracleContext, t: OracleTask): OracleResult {
  const instances = expandCounts(t.counts, ctx.init.typeOrder);
  if (instances.length === 0) return { allowableQps: 0, spreadQps: [0, 0] };
  const r = findAllowableThroughput({
    table: ctx.table,
    instances,
    createDistributor: ctx.factory,
    qosMs: t.qosMs,
    percentile: t.percentile,
    sizes: ctx.init.sizes,
    queries: ctx.init.queries,
    seeds: ctx.init.seeds,
    steps: ctx.init.steps,
    gaps: ctx.init.gaps,
  });
  return { allowableQps: r.allowableQps, spreadQps: r.spreadQps };
}
