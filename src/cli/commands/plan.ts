/**
 * `hetserve plan`: serverless planning of several apps sharing one model (HarmonyBatch).
 * Heavy modules are imported inside the action so `hetserve --help` and other commands stay fast.
 */
import type { Command } from 'commander';

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
}

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
    .option('--no-baseline', 'do not show the BATCH baseline beside the plan')
    .option('--json', 'print the plan as JSON (schema: `hetserve schema plan`)')
    .action(async (opts: PlanCliOptions) => {
      const [{ readAppsInput }, { formatPlanReport }, predict, serverless, io] = await Promise.all([
        import('../../plan/serverless/apps-input.ts'),
        import('../../plan/serverless/report.ts'),
        import('../../predict/index.ts'),
        import('../../plan/serverless/index.ts'),
        import('../io.ts'),
      ]);
      const { HetserveError } = await import('../../model/errors.ts');
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
      const profile = predict.resolveProfile(opts.model);
      const options = { compat, costModel, gpuMaxOverhead, prices: opts.prices } as const;
      const algorithm = opts.algorithm ?? serverless.defaultAlgorithm();
      const result = serverless.plan(apps, profile, { ...options, algorithm });
      if (opts.json) {
        io.printJson(result);
        return;
      }
      const baseline =
        opts.baseline && algorithm !== 'batch' && profile.cpu
          ? serverless.plan(apps, profile, { ...options, algorithm: 'batch' })
          : undefined;
      const predictor = new predict.Predictor(profile, options);
      process.stdout.write(formatPlanReport(result, apps, predictor, baseline));
    });
}
