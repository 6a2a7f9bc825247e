/**
 * The distributors' names and their parsing, apart from src/simulate/distributors.ts: the default
 * allocation rule checks its distributor's name up front but loads the dispatch core (and its
 * assignment solvers) only when it simulates.
 */
import { HetserveError } from '../model/errors.ts';

export const DISTRIBUTOR_NAMES = ['kairos', 'fcfs', 'least-finish', 'threshold'] as const;
export type DistributorName = (typeof DISTRIBUTOR_NAMES)[number];

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
