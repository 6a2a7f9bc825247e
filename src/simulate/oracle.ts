/**
 * The exhaustive-search oracle of the cluster planner (kairos design §6.6), implementing the
 * cluster planner's `ClusterOracle`: every configuration's allowable throughput is measured by simulation
 * (`findAllowableThroughput`: bisection on the offered rate, early stops counted as failures),
 * spread over worker threads (default: one per core).
 *
 * Cost control, without changing what is measured: each bisection starts from [0, 1.2 × the
 * configuration's fluid capacity] (an upper bound on any throughput), and a run stops as soon as its
 * failure is certain (more misses than the percentile allows), so failing probes are cheap.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { ClusterProfile } from '../model/cluster.ts';
import type { ClusterOracle, OracleRequest, OracleResult } from '../plan/cluster/oracle.ts';
import type { QuerySizeDistribution } from '../workload/query-sizes.ts';
import type { DistributorChoice } from './distributors.ts';
import type { GapMode } from '../workload/arrivals.ts';

export interface SimulationOracleOptions {
  /** Bundled Kairos model name, or a validated cluster profile (sent to the workers). */
  model: string | ClusterProfile;
  distributor: DistributorChoice;
  sizes: QuerySizeDistribution;
  /** Instance types in the order configurations expand (base type first). */
  typeOrder: readonly string[];
  /** Queries per run. Default 20,000 (design §9). */
  queries?: number;
  /** Seeds; the median of the per-seed results is reported, with their spread. Default [1]. */
  seeds?: readonly number[];
  /** Bisection steps per seed. Default 7 (resolution 1.2 × capacity / 128). */
  steps?: number;
  gaps?: GapMode;
  /** Worker threads. Default: available parallelism (both cores on the reference machine). 0 = run in this thread. */
  workers?: number;
}

/** One task for a worker: expand `counts`, search its allowable throughput. */
export interface OracleTask {
  index: number;
  counts: Record<string, number>;
  qosMs: number;
  percentile: number;
}

export interface OracleWorkerInit {
  model: string | ClusterProfile;
  distributor: DistributorChoice;
  sizes: QuerySizeDistribution;
  typeOrder: readonly string[];
  queries: number;
  seeds: readonly number[];
  steps: number;
  gaps: GapMode;
}

export class SimulationOracle implements ClusterOracle {
  readonly name: string;
  private readonly init: OracleWorkerInit;
  private readonly workers: number;

  constructor(o: SimulationOracleOptions) {
    this.name = `simulation(${o.distributor.name})`;
    this.init = {
      model: o.model,
      distributor: o.distributor,
      sizes: { sizes: [...o.sizes.sizes], probabilities: [...o.sizes.probabilities] },
      typeOrder: [...o.typeOrder],
      queries: o.queries ?? 20_000,
      seeds: o.seeds ?? [1],
      steps: o.steps ?? 7,
      gaps: o.gaps ?? 'exponential',
    };
    this.workers = o.workers ?? availableParallelism();
  }

  async evaluate(
    request: OracleRequest,
    onProgress?: (done: number, total: number) => void,
  ): Promise<readonly OracleResult[]> {
    const tasks: OracleTask[] = request.configs.map((c, index) => ({
      index,
      counts: { ...c },
      qosMs: request.qosMs,
      percentile: request.percentile,
    }));
    const results = new Array<OracleResult>(tasks.length);
    let done = 0;
    const record = (i: number, r: OracleResult): void => {
      results[i] = r;
      onProgress?.(++done, tasks.length);
    };
    if (this.workers <= 0 || tasks.length <= 1) {
      const { evaluateTask, prepare } = await import('./oracle-task.ts');
      const ctx = prepare(this.init);
      for (const t of tasks) record(t.index, evaluateTask(ctx, t));
      return results;
    }
    // Loaded here: a run in this thread (the default allocation rule's) never needs it. A require,
    // as the command bundles run without a dynamic-import hook (scripts/bundle-commands.mjs).
    const { Worker } = createRequire(import.meta.url)(
      'node:worker_threads',
    ) as typeof import('node:worker_threads');
    // Largest configurations first: the slowest tasks start early, so the pool ends together.
    const queue = [...tasks].sort((a, b) => total(b.counts) - total(a.counts));
    const n = Math.min(this.workers, queue.length);
    // Compiled (dist/*.js): start the compiled worker; from the sources, register tsx in the worker first.
    const compiled = import.meta.url.endsWith('.js');
    const entry = new URL(compiled ? './oracle-worker.js' : './oracle-worker.ts', import.meta.url).href;
    const boot = compiled
      ? `import(${JSON.stringify(entry)});`
      : `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(boot, { eval: true, workerData: this.init });
            const next = (): void => {
              const t = queue.shift();
              if (t === undefined) {
                void w.terminate().then(() => resolve());
                return;
              }
              w.postMessage(t);
            };
            w.on(
              'message',
              (m: {
                ready?: true;
                index?: number;
                result?: OracleResult;
                error?: { message: string; code?: string; details?: Record<string, unknown> };
              }) => {
                if (m.error) {
                  void w.terminate();
                  reject(Object.assign(new Error(m.error.message), m.error));
                  return;
                }
                if (m.index !== undefined && m.result) record(m.index, m.result);
                next();
              },
            );
            w.on('error', reject);
          }),
      ),
    );
    return results;
  }
}

function total(c: Record<string, number>): number {
  return Object.values(c).reduce((a, b) => a + b, 0);
}

export function createSimulationOracle(o: SimulationOracleOptions): SimulationOracle {
  return new SimulationOracle(o);
}
