/**
 * `hetserve allocate`: the cluster planner (Kairos) from the command line. Heavy modules are
 * imported inside the action so other commands start fast.
 */
import type { Command } from 'commander';
import { HetserveError } from '../../model/errors.ts';
import { parseNumber, printJson, readJsonFile, writeOutput } from '../io.ts';

interface AllocateCliOptions {
  model: string;
  budget?: string;
  qos?: string;
  percentile: string;
  pool?: string;
  types?: string;
  sizes?: string;
  select?: string;
  rank: string;
  compat?: string;
  top: string;
  k: string;
  dominance: string;
  lp: boolean;
  bayesian?: boolean;
  seed: string;
  oracle?: string;
  oracleCandidates: string;
  oracleQueries: string;
  verifyCandidates: string;
  verifyQueries: string;
  verifyWorkers: string;
  verifyTolerance: string;
  json?: boolean;
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new HetserveError(
      'E_INVALID_OPTION',
      `${option}: expected one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`,
      {
        field: option,
        value,
      },
    );
  }
  return value as T;
}

export function register(program: Command): void {
  program
    .command('allocate')
    .description(
      'Pick the heterogeneous instance mix with the highest QoS-meeting throughput within an hourly budget (Kairos)',
    )
    .option(
      '--model <name|file>',
      'bundled model (rm2, dien, wnd, mtwnd, ncf) or a cluster-profile JSON file',
      'rm2',
    )
    .option(
      '--budget <usd>',
      "hourly budget in USD (default: the pool's budget, 2.5 for the bundled pool and --types)",
    )
    .option(
      '--qos <ms>',
      "latency target in ms (default: the bundled model's: rm2 350, dien 35, wnd 25, mtwnd 25, ncf 5)",
    )
    .option('--percentile <p>', 'percentile the QoS applies to, in (0, 100)', '99')
    .option(
      '--pool <file>',
      'instance pool JSON (schema: hetserve schema pool); default: the Kairos evaluation pool',
    )
    .option(
      '--types <list>',
      'comma-separated instance types priced from aws-ec2-prices.csv (instead of --pool)',
    )
    .option(
      '--sizes <file>',
      'query-size histogram JSON {sizes, weights} or {size: weight}; default: DeepRecSys-like mix',
    )
    .option(
      '--select <rule>',
      'verified (default: the simulator measures the top --verify-candidates by upper bound; the best-ranked within --verify-tolerance of the best measurement), top1, or similarity (the paper: L1 medoid of the top K)',
    )
    .option('--verify-candidates <n>', 'configurations the verified rule simulates', '5')
    .option('--verify-queries <n>', 'queries per simulated run of the verified rule (seed 1)', '4000')
    .option(
      '--verify-workers <n|auto>',
      'worker threads of the verified rule: auto = this thread for small candidates or a busy machine, else one per idle core (the pick does not depend on it)',
      'auto',
    )
    .option(
      '--verify-tolerance <f>',
      'the verified rule keeps the best-ranked candidate measured within this fraction of the best',
      '0.05',
    )
    .option('--k <n>', 'how many top configurations the similarity rule compares', '5')
    .option(
      '--rank <key>',
      'ub (Kairos upper bound) or lp (LP estimate; exact top via fluid-bound pruning, at most 400 LPs)',
      'ub',
    )
    .option(
      '--compat <mode>',
      'prototype: stored prototype quantities, reproduces the Kairos allocator exactly',
    )
    .option('--top <n>', 'runner-up configurations to list', '10')
    .option(
      '--dominance <mode>',
      'keep, or prune configurations that could still add an instance of a used type',
      'keep',
    )
    .option('--no-lp', 'skip the LP estimate (faster)')
    .option('--bayesian', 'also run the Ribbon-like Bayesian-optimisation baseline and count its trials')
    .option('--seed <n>', 'seed of the Bayesian-optimisation baseline', '1')
    .option(
      '--oracle <distributor>',
      'also rank the best candidates by simulated allowable QPS with this distributor (e.g. kairos; slow)',
    )
    .option('--oracle-candidates <n>', 'configurations the oracle simulates (best by the ranking key)', '20')
    .option('--oracle-queries <n>', 'queries per simulated run of the oracle', '20000')
    .option('--json', 'print the allocation as JSON (schema: hetserve schema allocation)')
    .action(async (o: AllocateCliOptions) => {
      const { allocateVerified, simulatesToVerify } = await import('../../simulate/allocate-verified.ts');
      const { KAIROS_MODELS, parseClusterProfile } = await import('../../predict/latency-table.ts');
      const { sizeDistributionFromHistogram } = await import('../../workload/query-sizes.ts');
      const bundled = (KAIROS_MODELS as readonly string[]).includes(o.model);
      const looksLikeFile = /[/\\.]/.test(o.model);
      if (!bundled && !looksLikeFile) {
        throw new HetserveError(
          'E_UNKNOWN_MODEL',
          `model: unknown model ${JSON.stringify(o.model)}; bundled: ${KAIROS_MODELS.join(', ')}`,
          {
            field: 'model',
            value: o.model,
            hint: 'or pass a cluster-profile JSON file (hetserve schema cluster-profile)',
          },
        );
      }
      const sizes = o.sizes
        ? sizeDistributionFromHistogram(readJsonFile(o.sizes, '--sizes'), '--sizes')
        : undefined;
      let oracle: import('../../plan/cluster/oracle.ts').ClusterOracle | undefined;
      const oracleCandidates = parseNumber('--oracle-candidates', o.oracleCandidates, {
        integer: true,
        min: 1,
      });
      if (o.oracle !== undefined) {
        // The simulator (src/simulate) implements the oracle; the planner library only knows the interface.
        const { SimulationOracle } = await import('../../simulate/oracle.ts');
        const { parseDistributorName } = await import('../../simulate/distributors.ts');
        const name = parseDistributorName(o.oracle);
        oracle = {
          name: `simulation(${name})`,
          evaluate: async (req, onProgress) => {
            const types = Object.keys(req.configs[0] ?? {});
            const base = req.baseType ?? types[0];
            const sim = new SimulationOracle({
              model: bundled ? o.model : parseClusterProfile(readJsonFile(o.model, '--model'), '--model'),
              distributor: { name, baseType: base },
              sizes: sizes ?? (await import('../../workload/query-sizes.ts')).deepRecSysSizes(),
              typeOrder: types,
              queries: parseNumber('--oracle-queries', o.oracleQueries, { integer: true, min: 100 }),
            });
            return sim.evaluate(req, onProgress);
          },
        };
      }
      const compat = o.compat === undefined ? undefined : oneOf('--compat', o.compat, ['prototype'] as const);
      const select =
        o.select === undefined
          ? undefined
          : oneOf('--select', o.select, ['similarity', 'top1', 'verified'] as const);
      // Without --oracle, the default rule simulates a few candidates briefly: a bar on a terminal.
      const verifies = simulatesToVerify({ select, compat, oracle });
      const candidates = parseNumber('--verify-candidates', o.verifyCandidates, { integer: true, min: 1 });
      const bar = verifies
        ? await (await import('../progress.ts')).progressBar(candidates, 'verifying', o.json, true)
        : undefined;
      let result: Awaited<ReturnType<typeof allocateVerified>>;
      try {
        result = await allocateVerified({
          ...(bundled
            ? { model: o.model }
            : { profile: parseClusterProfile(readJsonFile(o.model, '--model'), '--model') }),
          budgetUsdPerHour:
            o.budget === undefined ? undefined : parseNumber('--budget', o.budget, { above: 0 }),
          qosMs: o.qos === undefined ? undefined : parseNumber('--qos', o.qos, { above: 0 }),
          percentile: parseNumber('--percentile', o.percentile),
          pool: o.pool ? (readJsonFile(o.pool, '--pool') as never) : undefined,
          types: o.types
            ?.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          sizes: o.sizes
            ? sizeDistributionFromHistogram(readJsonFile(o.sizes, '--sizes'), '--sizes')
            : undefined,
          select,
          verify: {
            candidates,
            queries: parseNumber('--verify-queries', o.verifyQueries, { integer: true, min: 100 }),
            workers:
              o.verifyWorkers === 'auto'
                ? 'auto'
                : parseNumber('--verify-workers', o.verifyWorkers, { integer: true, min: 0 }),
          },
          verifyTolerance: parseNumber('--verify-tolerance', o.verifyTolerance, { min: 0 }),
          similarityK: parseNumber('--k', o.k, { integer: true, min: 1 }),
          rank: oneOf('--rank', o.rank, ['ub', 'lp'] as const),
          compat,
          top: parseNumber('--top', o.top, { integer: true, min: 1 }),
          dominance: oneOf('--dominance', o.dominance, ['keep', 'prune'] as const),
          lp: o.lp,
          bayesian: o.bayesian ? { seed: parseNumber('--seed', o.seed, { integer: true }) } : undefined,
          oracle,
          oracleCandidates,
          ...(oracle
            ? {
                onOracleProgress: (done: number, total: number) =>
                  process.stderr.write(`\roracle: ${done}/${total} configurations simulated`),
              }
            : bar
              ? { onOracleProgress: (done: number, total: number) => bar.update(done, total) }
              : {}),
        });
      } finally {
        bar?.stop();
      }
      if (oracle) process.stderr.write('\n');
      if (o.json) {
        printJson(result);
        return;
      }
      const { formatAllocation } = await import('../../plan/cluster/format.ts');
      writeOutput(formatAllocation(result));
    });
}
