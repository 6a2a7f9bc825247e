/**
 * `hetserve simulate serverless`: plan the apps with each requested algorithm, then replay the
 * workload (per-minute traces re-planned every minute, or constant Poisson rates) through the batch
 * manager in virtual time, and compare SLO violations and measured vs predicted cost.
 */
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { App } from '../../../model/app.ts';
import type { BatchPolicy } from '../../../dispatch/types.ts';
import { edfPolicy, fixedDelayPolicy, harmonyBatchPolicy } from '../../../dispatch/policies.ts';
import { createPredictor, resolveProfile } from '../../../predict/index.ts';
import { defaultAlgorithm, getPlanner, plan as planApps } from '../../../plan/serverless/index.ts';
import { HetserveError } from '../../../model/errors.ts';
import { parseNumber, printJson, readJsonFile } from '../../io.ts';
import { parsePlan, type Plan } from '../../../model/plan.ts';
import { progressBar } from '../../progress.ts';
import { parseBurst, parseColdStart, parseList, readAppsFile } from './common.ts';
import {
  barChartSvg,
  lineChartSvg,
  markdownTable,
  textTable,
  writeFigure,
} from '../../../experiments/report.ts';
import { runConstantScenario, runTraceScenario, type ScenarioResult } from '../../../simulate/scenarios.ts';
import { readTraces } from '../../../workload/arrivals.ts';
import { driftOptions, driftReport, driftTables, type DriftRunReport } from './drift.ts';

export interface SimulateServerlessCliOptions {
  /** Bundled model name or profile file; `profile` is the same for a file (give one of them). */
  model?: string;
  profile?: string;
  /** 'auto' (default), 'samples' or 'model': see src/profile/samples.ts#LatencyMode. */
  latency?: string;
  apps?: string;
  /** A plan file simulated as written (no re-planning, no calibration). */
  plan?: string;
  trace?: string;
  algorithm?: string;
  prices: string;
  compat: string;
  duration?: string;
  minutes?: string;
  from?: string;
  seed: string;
  coldStart?: string;
  burst?: string;
  policy: string;
  json?: boolean;
  report?: string;
  quiet?: boolean;
  /** `<cpu|gpu>:<factor>@<minute>`, repeatable (src/simulate/drift.ts). */
  drift?: string[];
  /** 'on' (default) or 'off': online latency calibration with re-planning. */
  calibrate?: string;
}

export interface ServerlessRun {
  algorithm: string;
  result: ScenarioResult;
  /** Drift/calibration figures (src/simulate/drift-cli.ts), when drifts are given or calibration is on. */
  drift?: DriftRunReport['drift'];
}

function policyByName(name: string): BatchPolicy {
  switch (name) {
    case 'harmony':
      return harmonyBatchPolicy;
    case 'fixed-delay':
      return fixedDelayPolicy();
    case 'edf':
      return edfPolicy();
    default:
      throw new HetserveError(
        'E_INVALID_OPTION',
        `policy: unknown batching policy ${JSON.stringify(name)}; known: harmony, fixed-delay, edf`,
        {
          field: 'policy',
          value: name,
        },
      );
  }
}

export async function runSimulateServerless(o: SimulateServerlessCliOptions): Promise<void> {
  if (o.model !== undefined && o.profile !== undefined && o.model !== o.profile)
    throw new HetserveError('E_INVALID_OPTION', '--profile: give --model or --profile, not both', {
      field: 'profile',
      value: o.profile,
    });
  const fixed = o.plan === undefined ? undefined : readPlanToSimulate(o);
  if (o.apps === undefined && !fixed)
    throw new HetserveError('E_INVALID_OPTION', 'apps: required, give --apps <file> (or --plan <file>)', {
      field: 'apps',
      value: null,
    });
  const modelArg = o.profile ?? o.model ?? fixed?.model;
  if (modelArg === undefined)
    throw new HetserveError(
      'E_INVALID_OPTION',
      'model: required, give --model <name|profile.json> or --profile <file>',
      {
        field: 'model',
        value: null,
      },
    );
  const profile = profileFor(modelArg, (o.profile ?? o.model) ? undefined : o.plan);
  const { parseLatencyMode, sampleLookup } = await import('../../../profile/samples.ts');
  const latencyMode = parseLatencyMode(o.latency ?? 'auto');
  const apps = o.apps !== undefined ? readAppsFile(o.apps) : fixed!.apps.map((a) => ({ ...a }));
  const compatArg = fixed ? fixed.compat : o.compat;
  const compat: 'paper' | 'prototype' | undefined =
    compatArg === 'prototype' ? 'prototype' : compatArg === 'paper' ? 'paper' : undefined;
  if (!compat)
    throw new HetserveError(
      'E_INVALID_OPTION',
      `compat: must be 'paper' or 'prototype' (got ${JSON.stringify(o.compat)})`,
      { field: 'compat', value: o.compat },
    );
  const algorithms = fixed ? [fixed.algorithm] : parseList('algorithm', o.algorithm ?? defaultAlgorithm());
  if (!fixed) algorithms.forEach((a) => getPlanner(a)); // unknown names fail before any work
  const seed = parseNumber('--seed', o.seed, { integer: true, min: 0 });
  const coldStart = o.coldStart ? parseColdStart(o.coldStart) : undefined;
  const burst = o.burst ? parseBurst(o.burst) : undefined;
  if (burst && o.trace)
    throw new HetserveError(
      'E_INVALID_OPTION',
      '--burst: applies to constant rates, not to --trace replays',
      { field: 'burst', value: o.burst },
    );
  const policy = policyByName(o.policy);
  // A fixed plan is never re-planned, so there is nothing for the calibration to act on.
  const drift = driftOptions(o.drift, fixed ? 'off' : o.calibrate);
  const prices = fixed ? fixed.priceTable : o.prices;
  const predictor = createPredictor(profile, { prices, compat });
  const samples = sampleLookup(profile, (fn, b) => predictor.latency(fn, b).avg, latencyMode);
  const planOptions = { prices, compat, seed };
  const counts = o.trace
    ? readTraces(
        o.trace,
        apps.map((a) => a.name),
      )
    : undefined;
  const from = o.from ? parseNumber('--from', o.from, { integer: true, min: 0 }) : 0;
  const traceLen = counts ? Math.max(...counts.map((c) => c.length)) : 0;
  const minutes = counts
    ? o.minutes
      ? parseNumber('--minutes', o.minutes, { integer: true, min: 1 })
      : traceLen - from
    : 0;
  const durationS = counts
    ? minutes * 60
    : o.duration
      ? parseNumber('--duration', o.duration, { min: 1 })
      : 600;
  if (!counts && apps.every((a) => a.rps === 0))
    throw new HetserveError(
      'E_APP_INVALID',
      'apps: every rate is 0 and no --trace was given; nothing to simulate',
      { field: 'apps.rps', value: 0 },
    );
  const perRun = Math.ceil(durationS / 60);
  const progress = await progressBar(perRun * algorithms.length, 'simulate', o.quiet || o.json);
  const runs: ServerlessRun[] = [];
  try {
    for (const algorithm of algorithms) {
      const loop = await drift.loop(profile);
      const planFor = fixed
        ? () => fixed
        : (xs: App[]) => planApps(xs, loop.calibrator?.profile ?? profile, { ...planOptions, algorithm });
      const common = {
        apps,
        planFor,
        predictor,
        seed,
        policy,
        compat,
        ...(coldStart ? { coldStart } : {}),
        ...(samples ? { samples } : {}),
        onMinute: () => progress.tick(1, algorithm),
        ...loop.scenario,
      };
      const result = counts
        ? runTraceScenario({ ...common, counts, from, minutes })
        : runConstantScenario({
            ...common,
            rates: apps.map((a) => a.rps),
            durationS,
            ...(burst ? { burst } : {}),
          });
      runs.push({ algorithm, result, ...driftReport(drift, loop, result) });
    }
  } finally {
    progress.stop();
  }
  const meta = {
    ...(o.plan !== undefined ? { plan: o.plan } : {}),
    model: profile.name,
    priceTable: predictor.prices.name,
    currency: predictor.prices.currency,
    compat,
    seed,
    policy: policy.name,
    latency: latencyMode,
    latencySampleSets: profile.samples?.length ?? 0,
    workload: counts
      ? { trace: o.trace, from, minutes }
      : { poisson: apps.map((a) => ({ app: a.name, rps: a.rps })), durationS },
    coldStart: coldStart ?? null,
    burst: burst ?? null,
    ...drift.meta,
  };
  if (o.report) await writeServerlessReport(o.report, meta, apps, runs);
  if (o.json) {
    printJson({ kind: 'serverless-simulation', ...meta, apps, results: runs.map(summariseRun) });
    return;
  }
  printServerlessTables(meta, runs);
  if (o.report) process.stdout.write(`\nreport: ${join(o.report, 'report.md')}\n`);
}

/** The profile to simulate with; `planFile` when the name is the plan's own model (no --model given). */
function profileFor(model: string, planFile: string | undefined): ReturnType<typeof resolveProfile> {
  try {
    return resolveProfile(model);
  } catch (e) {
    if (planFile === undefined || !(e instanceof HetserveError) || e.code !== 'E_UNKNOWN_MODEL') throw e;
    throw new HetserveError(
      'E_UNKNOWN_MODEL',
      `model: the plan's model ${JSON.stringify(model)} (${planFile}) is not a bundled profile; give its profile with --model <profile.json>`,
      { field: 'model', value: model },
    );
  }
}

/**
 * The plan of `--plan`, read and checked: a serverless plan (E_PLAN_INVALID otherwise); its price
 * table and compat mode are the ones simulated, so a different --prices/--compat is refused.
 */
function readPlanToSimulate(o: SimulateServerlessCliOptions): Plan {
  const plan = parsePlan(readJsonFile(o.plan!, '--plan'), '--plan');
  if (o.algorithm !== undefined)
    throw new HetserveError(
      'E_INVALID_OPTION',
      '--algorithm: not with --plan (the plan is simulated as written)',
      {
        field: 'algorithm',
        value: o.algorithm,
      },
    );
  for (const [field, given, own, dflt] of [
    ['prices', o.prices, plan.priceTable, 'prototype-cny'],
    ['compat', o.compat, plan.compat, 'paper'],
  ] as const)
    if (given !== undefined && given !== dflt && given !== own)
      throw new HetserveError(
        'E_INVALID_OPTION',
        `--${field}: the plan is simulated with its own ${field === 'prices' ? 'price table' : 'compat mode'} ${JSON.stringify(own)} (got ${JSON.stringify(given)})`,
        { field, value: given },
      );
  return plan;
}

/** The JSON shape of one algorithm's run (the fields the issue names plus per-minute series). */
export function summariseRun(r: ServerlessRun) {
  const x = r.result;
  return {
    algorithm: r.algorithm,
    requests: x.requests,
    sloViolationRate: x.sloViolationRate,
    costPerRequest: x.costPerRequest,
    cost: x.cost,
    badRequests: x.badRequests,
    batches: x.batches,
    perApp: x.perApp,
    groups: x.groups,
    planningMs: { initial: x.initialPlanningMs, ...x.planningMs },
    initialPlan: x.initialPlan,
    perMinute: x.perSegment,
    ...(r.drift ?? {}),
    simulatedS: x.simulatedS,
    wallMs: x.wallMs,
  };
}

function printServerlessTables(
  meta: { model: string; currency: string; priceTable: string; latency: string; latencySampleSets: number },
  runs: ServerlessRun[],
): void {
  const out: string[] = [];
  out.push(`model ${meta.model}, prices ${meta.priceTable} (${meta.currency})`);
  if (meta.latencySampleSets > 0 || meta.latency !== 'auto') {
    const by = (r: ServerlessRun, s: 'samples' | 'scaled-samples' | 'model'): number =>
      r.result.groups.reduce((a, g) => a + g.batchesBySource[s], 0);
    out.push(
      `latency --latency ${meta.latency} (${meta.latencySampleSets} sample sets in the profile); batches by source: ` +
        runs
          .map(
            (r) =>
              `${r.algorithm}: samples ${by(r, 'samples')}, scaled ${by(r, 'scaled-samples')}, model ${by(r, 'model')}`,
          )
          .join('; '),
    );
  }
  out.push('');
  out.push(
    textTable(
      [
        'algorithm',
        'requests',
        'SLO viol. %',
        'cost/req measured',
        'cost/req predicted',
        'meas./pred.',
        'total cost',
        'plan ms (mean)',
      ],
      runs.map(({ algorithm, result: r }) => [
        algorithm,
        r.requests,
        100 * r.sloViolationRate,
        r.costPerRequest.measured,
        r.costPerRequest.predicted,
        r.costPerRequest.measured / r.costPerRequest.predicted,
        r.cost,
        r.planningMs.mean || r.initialPlanningMs,
      ]),
    ),
  );
  out.push('');
  const appNames = runs[0]?.result.perApp.map((a) => a.app) ?? [];
  out.push('SLO violation rate (%) and p99 latency (s) per application');
  out.push(
    textTable(
      ['app', 'SLO s', ...runs.flatMap((r) => [`${r.algorithm} viol%`, `${r.algorithm} p99`])],
      appNames.map((name, i) => [
        name,
        runs[0].result.perApp[i].slo,
        ...runs.flatMap((r) => [100 * r.result.perApp[i].sloViolationRate, r.result.perApp[i].latencyP99]),
      ]),
    ),
  );
  out.push(...driftTables(runs));
  process.stdout.write(out.join('\n') + '\n');
}

export async function writeServerlessReport(
  dir: string,
  meta: Record<string, unknown> & { model: string; currency: string },
  apps: readonly App[],
  runs: ServerlessRun[],
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const perMinuteCost = await lineChartSvg({
    title: `${meta.model}: measured cost per request, per minute`,
    xLabel: 'minute',
    yLabel: `cost per request (${meta.currency})`,
    series: runs.map((r) => ({
      name: r.algorithm,
      points: r.result.perSegment
        .map((s) => ({ x: s.segment, y: s.requests ? s.cost / s.requests : NaN }))
        .filter((p) => Number.isFinite(p.y)),
    })),
  });
  const perMinuteViol = await lineChartSvg({
    title: `${meta.model}: SLO violations per minute`,
    xLabel: 'minute',
    yLabel: 'violation rate (%)',
    series: runs.map((r) => ({
      name: r.algorithm,
      points: r.result.perSegment
        .filter((s) => s.requests > 0)
        .map((s) => ({ x: s.segment, y: (100 * s.violations) / s.requests })),
    })),
  });
  const costBars = await barChartSvg({
    title: `${meta.model}: cost per request, simulated vs predicted`,
    yLabel: `cost per request (${meta.currency})`,
    bars: runs.flatMap((r) => [
      { group: r.algorithm, series: 'simulated', value: r.result.costPerRequest.measured },
      { group: r.algorithm, series: 'predicted', value: r.result.costPerRequest.predicted },
    ]),
  });
  const figs = [
    await writeFigure(dir, 'cost-per-minute', perMinuteCost),
    await writeFigure(dir, 'violations-per-minute', perMinuteViol),
    await writeFigure(dir, 'cost-simulated-vs-predicted', costBars),
  ];
  const md = [
    `# Serverless simulation: ${meta.model}`,
    '',
    '```json',
    JSON.stringify(meta, null, 2),
    '```',
    '',
    markdownTable(
      [
        'algorithm',
        'requests',
        'SLO violations (%)',
        `cost/request simulated (${meta.currency})`,
        'predicted',
        'simulated / predicted',
        'mean planning (ms)',
      ],
      runs.map(({ algorithm, result: r }) => [
        algorithm,
        r.requests,
        100 * r.sloViolationRate,
        r.costPerRequest.measured,
        r.costPerRequest.predicted,
        r.costPerRequest.measured / r.costPerRequest.predicted,
        r.planningMs.mean || r.initialPlanningMs,
      ]),
    ),
    '',
    '## Per application',
    '',
    markdownTable(
      ['app', 'SLO (s)', ...runs.flatMap((r) => [`${r.algorithm} viol. %`, `${r.algorithm} p99 (s)`])],
      apps.map((a, i) => [
        a.name,
        a.slo,
        ...runs.flatMap((r) => [100 * r.result.perApp[i].sloViolationRate, r.result.perApp[i].latencyP99]),
      ]),
    ),
    '',
    '## Batch latency source',
    '',
    `\`--latency ${String(meta['latency'] ?? 'auto')}\`, ${Number(meta['latencySampleSets'] ?? 0)} measured sample sets in the profile; batches per source (samples as measured, samples rescaled to the planned configuration, the avg/max model):`,
    '',
    markdownTable(
      ['algorithm', 'group', 'samples', 'scaled samples', 'model'],
      runs.flatMap((r) =>
        r.result.groups.map((g) => [
          r.algorithm,
          g.group,
          g.batchesBySource.samples,
          g.batchesBySource['scaled-samples'],
          g.batchesBySource.model,
        ]),
      ),
    ),
    '',
    ...figs.map((f) => `![${f.svg}](${f.svg})`),
    '',
    `PNG versions: ${figs.map((f) => `[${f.png}](${f.png})`).join(', ')}.`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'report.md'), md);
  writeFileSync(
    join(dir, 'results.json'),
    JSON.stringify({ ...meta, results: runs.map(summariseRun) }, null, 1),
  );
}
