/**
 * The cluster planner with its default rule: `allocate()` (src/plan/cluster) ranks every
 * configuration by the Kairos upper bound, then the simulator measures the top few and the
 * best-ranked one within the tolerance of the best measurement is chosen (`select: 'verified'`).
 * This rule measured best of similarity, top-1 and LP rank (reports/kairos/selection-rules.md).
 *
 * The planner library sits below the simulator (layers), so it cannot default to simulating;
 * this module supplies the simulator as its oracle. The check is kept short so a cold
 * `hetserve allocate` stays around a second: a few candidates, a short deterministic run (fixed
 * seed), in this thread unless the candidates are large enough for worker threads to pay for their
 * start-up (`autoVerificationWorkers`). The results do not depend on where the runs ran.
 * The simulator is imported when the oracle first runs: the other rules never load it.
 */
import { availableParallelism, loadavg } from 'node:os';
import { allocate, type AllocateOptions, type AllocationResult } from '../plan/cluster/allocate.ts';
import type { ClusterOracle, InstanceCounts } from '../plan/cluster/oracle.ts';
import { deepRecSysSizes } from '../workload/query-sizes.ts';
import { parseDistributorName, type DistributorName } from './distributor-names.ts';
import { badField } from '../model/errors.ts';

export interface VerificationOptions {
  /** Configurations simulated (best by the ranking key). Default 5. */
  candidates?: number;
  /** Queries per simulated run. Default 4,000. */
  queries?: number;
  /** Bisection steps of the allowable-throughput search. Default 7 (1 % of the capacity). */
  steps?: number;
  /** Seed of the simulated arrivals and latency draws. Default 1 (results are deterministic). */
  seed?: number;
  /** Distributor simulated. Default `'kairos'` (the one the gateway runs). */
  distributor?: DistributorName;
  /**
   * Worker threads, or `'auto'` (the default): this thread while the candidates are small or the
   * machine is busy, else one worker per idle core up to one per candidate (`autoVerificationWorkers`).
   */
  workers?: number | 'auto';
}

/** The defaults of the verification, also reported by `hetserve allocate`. */
export const DEFAULT_VERIFICATION = {
  candidates: 5,
  queries: 4000,
  steps: 7,
  seed: 1,
  distributor: 'kairos',
  workers: 'auto',
} as const satisfies Required<VerificationOptions>;

/**
 * Simulated work, in instance-runs of 4,000 queries, from which worker threads pay for their
 * start-up: each worker starts Node, loads the simulator (≈ 140 ms) and warms its JIT from cold.
 * Measured cold with `hetserve allocate` on a 2-core machine at load ≈ 2, this thread against 2
 * workers (Σ instances of the 5 candidates): rm2 at 2.5 USD/h (65) 20 % faster in this thread;
 * rm2 at 4 (97) 6 % faster with workers, dien at 6 (119) 25 % faster, for 45 % more CPU (3 runs
 * each). More idle cores lower the break-even.
 */
export const WORKER_MIN_WORK = 90;

/**
 * Worker threads for a verification of `configs` with `queries` queries per run: 0 (this thread)
 * below WORKER_MIN_WORK instance-runs, else one per idle core (cores − the 1-minute load average,
 * rounded) up to one per candidate, and 0 when fewer than 2 cores are idle: on a 2-core machine with
 * one other busy process, 2 workers were 9 % slower than this thread (dien at 6 USD/h).
 */
export function autoVerificationWorkers(
  configs: readonly InstanceCounts[],
  queries: number,
  cores: number = availableParallelism(),
  load: number = loadavg()[0] ?? 0,
): number {
  let instances = 0;
  for (const c of configs) for (const n of Object.values(c)) instances += n;
  const work = (instances * queries) / 4000;
  const idle = Math.floor(cores - load + 0.5);
  return work < WORKER_MIN_WORK || idle < 2 ? 0 : Math.min(idle, configs.length);
}

/** The simulator as the planner's oracle for one allocation (types come with each request). */
export function verificationOracle(
  opts: Pick<AllocateOptions, 'model' | 'profile' | 'sizes'>,
  v: VerificationOptions = {},
): ClusterOracle {
  const o = { ...DEFAULT_VERIFICATION, ...v };
  const name = parseDistributorName(o.distributor);
  for (const [field, x, min] of [
    ['verify.queries', o.queries, 100],
    ['verify.steps', o.steps, 1],
    ['verify.candidates', o.candidates, 1],
    ...(o.workers === 'auto' ? [] : ([['verify.workers', o.workers, 0]] as const)),
  ] as const)
    if (!Number.isInteger(x) || x < min)
      throw badField('E_INVALID_OPTION', field, x, `must be an integer ≥ ${min}`);
  return {
    name: `simulation(${name})`,
    evaluate: async (req, onProgress) => {
      const types = Object.keys(req.configs[0] ?? {});
      const { SimulationOracle } = await import('./oracle.ts');
      return new SimulationOracle({
        model: opts.profile ?? opts.model ?? 'rm2',
        distributor: { name, baseType: req.baseType ?? types[0] },
        sizes: opts.sizes ?? deepRecSysSizes(),
        typeOrder: types,
        queries: o.queries,
        steps: o.steps,
        seeds: [o.seed],
        workers: o.workers === 'auto' ? autoVerificationWorkers(req.configs, o.queries) : o.workers,
      }).evaluate(req, onProgress);
    },
  };
}

/** The selection rule `allocateVerified` applies: `select`, else similarity with compat, else verified. */
export function selectionRule(
  o: Pick<AllocateOptions, 'select' | 'compat'>,
): NonNullable<AllocateOptions['select']> {
  return o.select ?? (o.compat ? 'similarity' : 'verified');
}

/** Whether `allocateVerified` runs the simulator as its oracle (the verified rule, no oracle given). */
export function simulatesToVerify(o: Pick<AllocateOptions, 'select' | 'compat' | 'oracle'>): boolean {
  return selectionRule(o) === 'verified' && !o.oracle;
}

/**
 * `allocate()` with the default rule: `select` defaults to `'verified'` with the simulator as the
 * oracle (`verify` sets its size). `select: 'similarity'` (the paper's) or `'top1'` run no
 * simulation; an explicit `oracle` is used as given.
 */
export async function allocateVerified(
  opts: AllocateOptions & { verify?: VerificationOptions } = {},
): Promise<AllocationResult> {
  const { verify, ...rest } = opts;
  const select = selectionRule(rest);
  if (!simulatesToVerify(rest)) return allocate({ ...rest, select });
  return allocate({
    ...rest,
    select,
    oracle: verificationOracle(rest, verify),
    oracleCandidates: verify?.candidates ?? DEFAULT_VERIFICATION.candidates,
  });
}
