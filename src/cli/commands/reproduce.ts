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
  oracle?: boolean;
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
      const { progressBar } = await import('../../simulate/cli-common.ts');
      const { reproduceHarmonyBatch, hbSteps } = await import('../../simulate/reproduce-harmonybatch.ts');
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
}
