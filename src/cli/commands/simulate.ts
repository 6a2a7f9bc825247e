/**
 * `hetserve simulate serverless|cluster`: replay a workload in virtual time through the real
 * planners and dispatch policies. Heavy modules load inside the actions.
 */
import type { Command } from 'commander';
import type { SimulateServerlessCliOptions } from './simulate/serverless.ts';
import type { SimulateClusterCliOptions } from './simulate/cluster.ts';

export function register(program: Command): void {
  const sim = program
    .command('simulate')
    .description('Simulate plans and instance mixes on a workload before paying for them');

  sim
    .command('serverless')
    .description(
      'Plan apps with each algorithm, replay the workload through the batch manager, report SLO violations and cost',
    )
    .option(
      '--model <name|profile.json>',
      'bundled model (VGG19, Bert, GPT-2, VideoMAE) or a profile JSON file (this or --profile is required)',
    )
    .option(
      '--profile <file>',
      'a profile JSON file (as written by `hetserve profile`); same as --model <file>',
    )
    .option(
      '--latency <mode>',
      "batch latency: auto (the profile's measured samples where it has them for the function kind and batch size, else the avg/max model), samples (samples or an error), model (always the avg/max model)",
      'auto',
    )
    .option(
      '--apps <file>',
      'apps as JSON [{"name","slo","rps"}] or CSV name,slo,rps; with --trace only names and SLOs are used (required unless --plan)',
    )
    .option(
      '--plan <file>',
      "simulate this plan as written (`hetserve plan --json`, an edited or exported plan) instead of planning: no re-planning, no calibration; its apps, price table and compat mode unless --apps is given; the profile from --model/--profile, else the plan's bundled model",
    )
    .option(
      '--trace <dir|file>',
      'per-minute request counts: a directory with <app>.csv (or one CSV per app in natural order), or one file for every app; re-planned every minute',
    )
    .option(
      '--algorithm <list>',
      "comma-separated planning algorithms (default: the planner's default, 'auto' when available)",
    )
    .option(
      '--prices <name|file>',
      'price table: prototype-cny, paper-usd, alibaba-cu-2024 or a JSON file',
      'prototype-cny',
    )
    .option(
      '--compat <mode>',
      "'paper' or 'prototype' (planner quirks; negative latency draws count as bad requests)",
      'paper',
    )
    .option('--duration <s>', 'simulated seconds without --trace (constant Poisson rates from --apps)', '600')
    .option('--minutes <n>', 'with --trace: minutes replayed (default: to the end of the trace)')
    .option('--from <n>', 'with --trace: first minute replayed', '0')
    .option('--seed <n>', 'seed of arrivals (n) and latency draws (n+1)', '1')
    .option('--cold-start <p:seconds>', 'cold starts: probability per batch and extra seconds (default off)')
    .option(
      '--burst <factor:normalS:burstS>',
      'without --trace: bursty arrivals (two-state MMPP), factor × the rates for bursts of mean burstS seconds between normal periods of mean normalS; planned for the normal rates (default off)',
    )
    .option('--policy <name>', 'batching policy of the batch manager: harmony, fixed-delay, edf', 'harmony')
    .option(
      '--drift <cpu|gpu:factor@minute>',
      "scale that resource's batch latency by factor from that simulated minute on (repeatable), e.g. cpu:1.5@10",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option(
      '--calibrate <on|off>',
      'online latency calibration: refit the profile from measured batch latencies on drift and re-plan at once',
      'on',
    )
    .option(
      '--json',
      'print results as JSON (sloViolationRate overall and per app, costPerRequest measured and predicted, per minute, per drift phase)',
    )
    .option('--report <dir>', 'write report.md, results.json and SVG + PNG figures into <dir>')
    .option('--quiet', 'no progress bar')
    .action(async (opts: SimulateServerlessCliOptions) => {
      const { runSimulateServerless } = await import('./simulate/serverless.ts');
      await runSimulateServerless(opts);
    });

  sim
    .command('cluster')
    .description(
      'Simulate a cluster configuration under query distributors: QoS-met ratio, throughput, allowable throughput',
    )
    .requiredOption(
      '--model <name|profile.json>',
      'bundled Kairos model (rm2, dien, wnd, mtwnd, ncf) or a cluster-profile JSON file',
    )
    .requiredOption(
      '--config <counts>',
      'instance counts in pool order (1,0,13,0) or type=count pairs (g4dn.xlarge=1,r5n.large=13)',
    )
    .option(
      '--qos <ms>',
      "latency target in ms (default: the model's: rm2 350, dien 35, wnd 25, mtwnd 25, ncf 5)",
    )
    .option('--percentile <p>', 'share of queries (%) that must meet the QoS', '99')
    .option('--distributor <list>', 'comma-separated: kairos, fcfs, least-finish, threshold', 'kairos')
    .option('--rate <qps>', 'offered rate, queries/s (one run per distributor)')
    .option(
      '--find-max-rate',
      'search the allowable throughput: bisection on the rate, per seed, median reported',
    )
    .option('--queries <n>', 'queries per run', '20000')
    .option('--seeds <list>', 'seeds (each gets its own bisection)', '1,2,3')
    .option('--steps <n>', 'bisection steps over [0, 1.2 × fluid capacity]', '10')
    .option(
      '--gaps <mode>',
      "'exponential' (Poisson process) or 'integer-ms' (the Kairos prototype's Poisson-integer gaps)",
      'exponential',
    )
    .option(
      '--threshold <size>',
      'size threshold of the threshold distributor (larger queries go to the base type)',
    )
    .option('--pool <file>', 'instance pool JSON (schema: hetserve schema pool); default the Kairos pool')
    .option(
      '--sizes <file>',
      'query-size histogram JSON ({"sizes":[..],"weights":[..]} or {"<size>":weight}); default the DeepRecSys-like mix',
    )
    .option('--compat <mode>', "Kairos distributor: 'paper' or 'prototype'", 'paper')
    .option(
      '--penalty-percentile <p>',
      "Kairos distributor, paper mode: its QoS penalty test uses the p-th percentile of the type's latency samples at the query's size instead of the mean (the cost keeps the mean); default off",
    )
    .option('--json', 'print results as JSON (qosMetRatio, throughputQps, allowableQps with --find-max-rate)')
    .option('--report <dir>', 'write report.md, results.json and SVG + PNG figures into <dir>')
    .option('--quiet', 'no progress bar')
    .action(async (opts: SimulateClusterCliOptions) => {
      const { runSimulateCluster } = await import('./simulate/cluster.ts');
      await runSimulateCluster(opts);
    });
}
