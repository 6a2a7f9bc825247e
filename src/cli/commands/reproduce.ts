/**
 * `hetserve reproduce harmonybatch|kairos`: regenerate the reproduction reports (Markdown + SVG/PNG
 * figures + results.json) from the real planners and dispatch code in virtual time.
 */
import type { Command } from 'commander';

interface ReproduceCliOptions {
  out?: string;
  quick?: boolean;
  seed: string;
  prices?: string;
  quiet?: boolean;
  oracleTop?: string;
  models?: string;
}

export function register(program: Command): void {
  const rep = program
    .command('reproduce')
    .description("Reproduce the HarmonyBatch and Kairos papers' experiments as reports with figures");

  rep
    .command('harmonybatch')
    .description(
      '120-minute four-app trace experiment, four models × algorithms, merging effect, algorithm time, paper vs ours',
    )
    .option('--out <dir>', 'output directory', 'reports/harmonybatch')
    .option('--quick', '10 minutes instead of 120 and one timing repetition (a smoke run)')
    .option('--seed <n>', 'seed of arrivals (n) and latency draws (n+1)', '1')
    .option('--prices <name|file>', 'price table (paper-usd gives USD totals like the paper)', 'paper-usd')
    .option('--quiet', 'no progress bar')
    .action(async (opts: ReproduceCliOptions) => {
      const { parseNumber } = await import('../io.ts');
      const { progressBar } = await import('../progress.ts');
      const { reproduceHarmonyBatch, hbSteps } = await import('../../experiments/reproduce-harmonybatch.ts');
      const seed = parseNumber('--seed', opts.seed, { integer: true, min: 0 });
      const o = {
        out: opts.out ?? 'reports/harmonybatch',
        quick: !!opts.quick,
        seed,
        prices: opts.prices ?? 'paper-usd',
      };
      const bar = await progressBar(hbSteps(o), 'reproduce', opts.quiet);
      try {
        const { reportPath } = await reproduceHarmonyBatch({ ...o, onProgress: (step) => bar.tick(1, step) });
        bar.stop();
        process.stdout.write(`report: ${reportPath}\n`);
      } finally {
        bar.stop();
      }
    });

  rep
    .command('kairos')
    .description(
      'five models: homogeneous, Kairos choice + distributor, FCFS, tuned threshold, Ribbon-like, oracle; paper vs ours',
    )
    .option('--out <dir>', 'output directory', 'reports/kairos')
    .option('--quick', 'one seed, oracle over the top 5, shorter searches (a smoke run)')
    .option(
      '--oracle-top <n>',
      "configurations (best by upper bound) the oracle simulates; 'all' for every feasible one (default all, quick 5)",
    )
    .option('--models <list>', 'comma-separated subset of rm2, dien, wnd, mtwnd, ncf')
    .option('--quiet', 'no progress bar')
    .action(async (opts: ReproduceCliOptions) => {
      const { parseNumber } = await import('../io.ts');
      const { progressBar } = await import('../progress.ts');
      const { parseList } = await import('./simulate/common.ts');
      const { reproduceKairos } = await import('../../experiments/reproduce-kairos.ts');
      const { KAIROS_MODELS } = await import('../../predict/latency-table.ts');
      const { HetserveError } = await import('../../model/errors.ts');
      const models = opts.models ? parseList('models', opts.models) : [...KAIROS_MODELS];
      for (const m of models)
        if (!(KAIROS_MODELS as readonly string[]).includes(m))
          throw new HetserveError(
            'E_UNKNOWN_MODEL',
            `models: unknown Kairos model ${JSON.stringify(m)}; bundled: ${KAIROS_MODELS.join(', ')}`,
            {
              field: 'models',
              value: m,
            },
          );
      const oracleTop =
        opts.oracleTop === undefined
          ? undefined
          : opts.oracleTop === 'all'
            ? Infinity
            : parseNumber('--oracle-top', opts.oracleTop, { integer: true, min: 1 });
      const bar = await progressBar(
        models.length * 6 - (models.includes('rm2') ? 0 : 1) + 1,
        'reproduce',
        opts.quiet,
      );
      try {
        const { reportPath } = await reproduceKairos({
          out: opts.out ?? 'reports/kairos',
          quick: !!opts.quick,
          models,
          ...(oracleTop !== undefined ? { oracleTop } : {}),
          onProgress: (step) => bar.tick(1, step),
        });
        bar.stop();
        process.stdout.write(`report: ${reportPath}\n`);
      } finally {
        bar.stop();
      }
    });
}
