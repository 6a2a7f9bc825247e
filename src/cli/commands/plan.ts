/**
 * `hetserve plan`: serverless planning of several apps sharing one model (HarmonyBatch).
 * Heavy modules are imported inside the action so `hetserve --help` and other commands stay fast.
 */
import type { Command } from 'commander';
import { HetserveError } from '../../model/errors.ts';
import { parseNumber } from '../io.ts';

interface PlanCliOptions {
  model: string;
  apps?: string;
  app?: string[];
  algorithm?: string;
  prices?: string;
  compat: string;
  costModel: string;
  gpuOverhead?: string;
  baseline: boolean;
  json?: boolean;
  partitions?: string;
  exactMaxApps?: string;
  mbsInit?: string;
  mbsIterations?: string;
  maxGroups?: string;
  timeBudget?: string;
  seed?: string;
  extrapolate?: boolean;
}

/**
 * Planner-specific flags: the library option each sets and the algorithms that read it. A flag
 * given with any other algorithm is an error rather than silently ignored.
 */
const ALGORITHM_FLAGS = {
  partitions: { flag: '--partitions', option: 'partitions', algorithms: ['optimal', 'auto'] },
  exactMaxApps: { flag: '--exact-max-apps', option: 'exactMaxApps', algorithms: ['optimal', 'auto'] },
  mbsInit: { flag: '--mbs-init', option: 'initPoints', algorithms: ['mbs'] },
  mbsIterations: { flag: '--mbs-iterations', option: 'iterations', algorithms: ['mbs'] },
  maxGroups: { flag: '--max-groups', option: 'maxGroups', algorithms: ['mbs'] },
  timeBudget: { flag: '--time-budget', option: 'timeBudgetMs', algorithms: ['auto', 'mbs'] },
  seed: { flag: '--seed', option: 'seed', algorithms: ['mbs'] },
} as const;
type AlgorithmFlag = keyof typeof ALGORITHM_FLAGS;

const collect = (v: string, acc: string[] = []) => [...acc, v];

export function register(program: Command): void {
  program
    .command('plan')
    .description(
      'Plan serverless functions, batch sizes and timeouts for apps sharing one model (cheapest plan meeting every SLO)',
    )
    .requiredOption(
      '--model <name|profile.json>',
      'bundled model (VGG19, Bert, GPT-2, VideoMAE) or a profile JSON file',
    )
    .option(
      '--apps <file>',
      'apps as JSON [{"name","slo","rps"}] or CSV with header name,slo,rps (SLO in s, rate in req/s)',
    )
    .option('--app <name:slo:rps>', 'one app (repeatable); combined with --apps', collect)
    .option('--algorithm <name>', "planning algorithm (default: 'auto' when available, else 'harmony')")
    .option(
      '--prices <name|file>',
      'price table: prototype-cny, paper-usd, alibaba-cu-2024 or a JSON file',
      'prototype-cny',
    )
    .option(
      '--compat <mode>',
      "'paper' (paper-correct) or 'prototype' (reproduce the prototype's numbers)",
      'paper',
    )
    .option(
      '--cost-model <model>',
      "paper mode: 'full-batch' (Eq. 6 at b) or 'expected' (batch-size distribution)",
      'full-batch',
    )
    .option('--gpu-overhead <factor>', 'GPU max-latency overhead factor when m < 24 GB', '1.2')
    .option(
      '--partitions <mode>',
      "optimal/auto search space: 'all-partitions' (every set partition, ≤ --exact-max-apps apps), 'contiguous' (SLO-consecutive groups) or 'auto' (optimal: all-partitions up to --exact-max-apps apps, else contiguous; auto: contiguous, then all-partitions up to --exact-max-apps apps) (default: auto)",
    )
    .option(
      '--exact-max-apps <n>',
      'optimal/auto: largest app count searched over all set partitions, integer 1..16 (default: 12)',
    )
    .option('--mbs-init <n>', 'mbs: random points per Bayesian optimisation, integer >= 1 (default: 5)')
    .option(
      '--mbs-iterations <n>',
      'mbs: surrogate-guided points per Bayesian optimisation, integer >= 0 (default: 10)',
    )
    .option('--max-groups <n>', 'mbs: largest group count k tried, integer >= 1 (default: the app count)')
    .option(
      '--time-budget <ms>',
      'auto: wall-clock budget of the whole call (default: 2000); mbs: stop trying larger k after this many ms (default: none); number >= 1',
    )
    .option('--seed <n>', 'mbs: seed of the Bayesian optimiser, integer (default: 1)')
    .option(
      '--extrapolate',
      'let CPU groups leave the vCPU range a measured profile was fitted on (cpu.fitRange); the plan then carries W_EXTRAPOLATED (default: stay inside)',
    )
    .option('--no-baseline', 'do not show the BATCH baseline beside the plan')
    .option('--json', 'print the plan as JSON (schema: `hetserve schema plan`)')
    .action(async (opts: PlanCliOptions) => {
      // The predictor's own modules, not its index: that one also loads the cluster latency tables.
      const [{ readAppsInput }, { formatPlanReport }, { resolveProfile }, { Predictor }, serverless, io] =
        await Promise.all([
          import('../../plan/serverless/apps-input.ts'),
          import('../../plan/serverless/report.ts'),
          import('../../predict/profiles.ts'),
          import('../../predict/predictor.ts'),
          import('../../plan/serverless/index.ts'),
          import('../io.ts'),
        ]);
      const compat = opts.compat;
      if (compat !== 'paper' && compat !== 'prototype') {
        throw new HetserveError(
          'E_INVALID_OPTION',
          `--compat: expected 'paper' or 'prototype' (got ${JSON.stringify(compat)})`,
          {
            field: '--compat',
            value: compat,
          },
        );
      }
      const costModel = opts.costModel;
      if (costModel !== 'full-batch' && costModel !== 'expected') {
        throw new HetserveError(
          'E_INVALID_OPTION',
          `--cost-model: expected 'full-batch' or 'expected' (got ${JSON.stringify(costModel)})`,
          { field: '--cost-model', value: costModel },
        );
      }
      const gpuMaxOverhead = io.parseNumber('--gpu-overhead', opts.gpuOverhead ?? '1.2', { min: 1 });
      const apps = readAppsInput({ file: opts.apps, inline: opts.app ?? [] });
      const profile = resolveProfile(opts.model);
      const options = {
        compat,
        costModel,
        gpuMaxOverhead,
        prices: opts.prices,
        extrapolate: opts.extrapolate ?? false,
      } as const;
      const algorithm = opts.algorithm ?? serverless.defaultAlgorithm();
      serverless.getPlanner(algorithm); // unknown algorithm: report it before its flags
      const tuning = algorithmOptions(opts, algorithm, serverless.MAX_SET_PARTITION_ITEMS);
      let result;
      try {
        result = serverless.plan(apps, profile, { ...options, algorithm, ...tuning });
      } catch (e) {
        throw namedAfterFlag(e);
      }
      if (opts.json) {
        io.printJson(result);
        return;
      }
      const baseline =
        opts.baseline && algorithm !== 'batch' && profile.cpu
          ? serverless.plan(apps, profile, { ...options, algorithm: 'batch' })
          : undefined;
      const predictor = new Predictor(profile, options);
      io.writeOutput(formatPlanReport(result, apps, predictor, baseline));
    });
}

/** The planner options set by the planner-specific flags, checked against the algorithm. */
function algorithmOptions(
  opts: PlanCliOptions,
  algorithm: string,
  maxExactApps: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(ALGORITHM_FLAGS) as AlgorithmFlag[]) {
    const raw = opts[key];
    if (raw === undefined) continue;
    const spec = ALGORITHM_FLAGS[key];
    if (!(spec.algorithms as readonly string[]).includes(algorithm)) {
      throw new HetserveError(
        'E_INVALID_OPTION',
        `${spec.flag}: applies only to --algorithm ${spec.algorithms.join(' or ')} (got --algorithm ${algorithm})`,
        { field: spec.flag, value: raw, algorithm },
      );
    }
    out[spec.option] = parseFlag(key, raw, maxExactApps);
  }
  return out;
}

function parseFlag(key: AlgorithmFlag, raw: string, maxExactApps: number): unknown {
  const flag = ALGORITHM_FLAGS[key].flag;
  switch (key) {
    case 'partitions':
      if (raw !== 'auto' && raw !== 'all-partitions' && raw !== 'contiguous') {
        throw new HetserveError(
          'E_INVALID_OPTION',
          `${flag}: expected 'auto', 'all-partitions' or 'contiguous' (got ${JSON.stringify(raw)})`,
          { field: flag, value: raw },
        );
      }
      return raw;
    case 'exactMaxApps': {
      const v = parseNumber(flag, raw, { integer: true, min: 1 });
      if (v > maxExactApps) {
        throw new HetserveError(
          'E_INVALID_OPTION',
          `${flag}: expected an integer in 1..${maxExactApps} (got ${JSON.stringify(raw)})`,
          { field: flag, value: raw },
        );
      }
      return v;
    }
    case 'mbsInit':
    case 'maxGroups':
      return parseNumber(flag, raw, { integer: true, min: 1 });
    case 'mbsIterations':
      return parseNumber(flag, raw, { integer: true, min: 0 });
    case 'timeBudget':
      return parseNumber(flag, raw, { min: 1 });
    case 'seed':
      return parseNumber(flag, raw, { integer: true });
  }
}

/**
 * Planner errors name library options ('partitions'); on the command line they name the flag
 * ('--partitions') so the user sees what to change.
 */
function namedAfterFlag(e: unknown): unknown {
  if (!(e instanceof HetserveError) || e.code !== 'E_INVALID_OPTION') return e;
  const spec = Object.values(ALGORITHM_FLAGS).find((f) => f.option === e.details['field']);
  if (!spec) return e;
  let message = e.message.startsWith(`${spec.option}:`)
    ? `${spec.flag}:${e.message.slice(spec.option.length + 1)}`
    : e.message;
  if (spec.option === 'partitions') message = message.replace('exactMaxApps', '--exact-max-apps');
  const hint =
    spec.option === 'partitions'
      ? 'use --partitions contiguous or raise --exact-max-apps (≤ 16)'
      : e.details['hint'];
  return new HetserveError(e.code, message, { ...e.details, field: spec.flag, ...(hint ? { hint } : {}) });
}
