/**
 * The dispatch core's query distributors by name, as the cluster simulator builds them for a pool.
 * The policies themselves live in src/dispatch; this only maps CLI names and options onto them.
 */
import {
  createFcfsDistributor,
  createKairosDistributor,
  createLeastFinishDistributor,
  createSizeThresholdDistributor,
} from '../dispatch/distributor.ts';
import { HetserveError } from '../model/errors.ts';
import type { LatencyTable } from '../predict/latency-table.ts';
import type { DistributorFactory } from './cluster.ts';
import type { DistributorName } from './distributor-names.ts';

export { DISTRIBUTOR_NAMES, parseDistributorName, type DistributorName } from './distributor-names.ts';

export interface DistributorChoice {
  name: DistributorName;
  /** Base (accelerated) type: Kairos' skew reference and the threshold policy's "large" class. */
  baseType: string;
  /** Kairos: 'paper' (default) or 'prototype' (integer-ms estimates, absolute penalties). */
  compat?: 'paper' | 'prototype';
  /** Threshold policy: queries larger than this go to the base type (required for 'threshold'). */
  threshold?: number;
  /**
   * Kairos, paper mode only: percentile p in (0, 100] of the type's latency samples at the query's
   * size (the latency table's `quantileMs`, retained samples) that the QoS penalty test uses instead
   * of the mean (`tailEstimateMs`); the cost keeps the mean. Default: off (the mean, as the paper).
   * Needs the latency table (`distributorFactory`'s second argument). Other distributors ignore it.
   */
  penaltyPercentile?: number;
}

/** The tail estimator of `penaltyPercentile` (undefined when off), checked once per factory. */
function kairosTail(c: DistributorChoice, table: LatencyTable | undefined) {
  const p = c.penaltyPercentile;
  if (p === undefined) return undefined;
  const bad = (message: string, value: unknown = p) =>
    new HetserveError('E_INVALID_OPTION', `penalty-percentile: ${message}`, {
      field: 'penalty-percentile',
      value,
    });
  if (!(Number.isFinite(p) && p > 0 && p <= 100)) throw bad(`must be in (0, 100] (got ${p})`);
  if (c.compat === 'prototype') throw bad('is a paper-mode option (not with --compat prototype)');
  if (!table) throw bad('needs the latency table whose samples it reads');
  const q = p / 100;
  return (type: string, size: number): number => table.quantileMs(type, size, q);
}

/**
 * A factory building the named distributor for any pool. `table` is the latency table the pool is
 * simulated with; only `penaltyPercentile` needs it.
 */
export function distributorFactory(c: DistributorChoice, table?: LatencyTable): DistributorFactory {
  switch (c.name) {
    case 'kairos': {
      const tail = kairosTail(c, table);
      return (instances, estimateMs) =>
        createKairosDistributor({
          instances,
          estimateMs,
          baseType: c.baseType,
          ...(c.compat ? { compat: c.compat } : {}),
          ...(tail ? { tailEstimateMs: tail } : {}),
        });
    }
    case 'fcfs':
      return (instances, estimateMs) => createFcfsDistributor({ instances, estimateMs });
    case 'least-finish':
      return (instances, estimateMs) => createLeastFinishDistributor({ instances, estimateMs });
    case 'threshold': {
      const threshold = c.threshold;
      if (threshold === undefined)
        throw new HetserveError(
          'E_INVALID_OPTION',
          'threshold: the threshold distributor needs a size threshold',
          { field: 'threshold', value: threshold },
        );
      return (instances, estimateMs) =>
        createSizeThresholdDistributor({ instances, estimateMs, threshold, largeTypes: [c.baseType] });
    }
  }
}
