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
import type { DistributorFactory } from './cluster.ts';

export const DISTRIBUTOR_NAMES = ['kairos', 'fcfs', 'least-finish', 'threshold'] as const;
export type DistributorName = (typeof DISTRIBUTOR_NAMES)[number];

export interface DistributorChoice {
  name: DistributorName;
  /** Base (accelerated) type: Kairos' skew reference and the threshold policy's "large" class. */
  baseType: string;
  /** Kairos: 'paper' (default) or 'prototype' (integer-ms estimates, absolute penalties). */
  compat?: 'paper' | 'prototype';
  /** Threshold policy: queries larger than this go to the base type (required for 'threshold'). */
  threshold?: number;
}

export function parseDistributorName(raw: string): DistributorName {
  if ((DISTRIBUTOR_NAMES as readonly string[]).includes(raw)) return raw as DistributorName;
  throw new HetserveError(
    'E_INVALID_OPTION',
    `distributor: unknown distributor ${JSON.stringify(raw)}; known: ${DISTRIBUTOR_NAMES.join(', ')}`,
    {
      field: 'distributor',
      value: raw,
    },
  );
}

/** A factory building the named distributor for any pool. */
export function distributorFactory(c: DistributorChoice): DistributorFactory {
  switch (c.name) {
    case 'kairos':
      return (instances, estimateMs) =>
        createKairosDistributor({
          instances,
          estimateMs,
          baseType: c.baseType,
          ...(c.compat ? { compat: c.compat } : {}),
        });
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
