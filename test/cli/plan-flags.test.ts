import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../../src/cli/main.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { PlanSchema, type Plan } from '../../src/model/plan.ts';
import { bundledProfile } from '../../src/predict/index.ts';
import { plan } from '../../src/plan/serverless/index.ts';
import { runCli } from '../helpers/cli.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = join(root, 'data', 'examples', 'readme-apps.json');
const README_APPS = [
  { name: 'app0', slo: 0.5, rps: 5 },
  { name: 'app1', slo: 0.6, rps: 5 },
  { name: 'app2', slo: 0.8, rps: 5 },
  { name: 'app3', slo: 1.0, rps: 15 },
];

const hetserve = runCli;

/** Run `hetserve plan …` in-process; returns the coded error it throws (none: undefined). */
async function planError(...args: string[]): Promise<HetserveError | undefined> {
  const program = await buildProgram('plan');
  try {
    await program.parseAsync(['node', 'hetserve', 'plan', '--model', 'VGG19', '--apps', readme, ...args]);
  } catch (e) {
    if (e instanceof HetserveError) return e;
    throw e;
  }
  return undefined;
}

const withoutTime = (p: Plan) => ({ ...p, planningMs: 0 });

test('hetserve plan planner flags: passed to the planner, reported, bad values exit 2 naming the flag', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-plan-flags-'));
  const vgg = bundledProfile('VGG19');
  const narrow = join(dir, 'narrow.json');
  writeFileSync(narrow, JSON.stringify({ ...vgg, name: 'narrow', cpu: { ...vgg.cpu, fitRange: [0.5, 1] } }));
  const base = ['plan', '--model', 'VGG19', '--apps', readme];
  // Few spawns (each is a cold start); the remaining bad values are checked in-process below.
  const [optimal, contiguous, mbs, autoAll, badPartitions, warned, warnedJson, inside] = await Promise.all([
    hetserve(...base, '--algorithm', 'optimal', '--json'),
    hetserve(...base, '--algorithm', 'optimal', '--partitions', 'contiguous', '--json'),
    hetserve(
      ...base,
      ...['--algorithm', 'mbs', '--seed', '7', '--mbs-init', '2', '--mbs-iterations', '3'],
      ...['--max-groups', '2', '--json'],
    ),
    hetserve(...base, '--partitions', 'all-partitions', '--time-budget', '600000', '--json'),
    hetserve(...base, '--algorithm', 'optimal', '--partitions', 'every'),
    hetserve(
      'plan',
      '--model',
      narrow,
      '--apps',
      readme,
      '--algorithm',
      'harmony',
      '--no-baseline',
      '--extrapolate',
    ),
    hetserve('plan', '--model', narrow, '--apps', readme, '--algorithm', 'batch', '--json', '--extrapolate'),
    hetserve('plan', '--model', narrow, '--apps', readme, '--algorithm', 'harmony', '--json'),
  ]);

  assert.equal(optimal.code, 0, optimal.stderr);
  assert.equal(contiguous.code, 0, contiguous.stderr);
  assert.equal(PlanSchema.parse(JSON.parse(optimal.stdout)).algorithm, 'optimal');
  assert.equal(PlanSchema.parse(JSON.parse(contiguous.stdout)).algorithm, 'optimal-contiguous');

  // The mbs flags reach the planner: the CLI plan is the library's with the same options.
  assert.equal(mbs.code, 0, mbs.stderr);
  const mbsOptions = { algorithm: 'mbs', seed: 7, initPoints: 2, iterations: 3, maxGroups: 2 };
  assert.deepEqual(
    withoutTime(PlanSchema.parse(JSON.parse(mbs.stdout))),
    withoutTime(PlanSchema.parse(plan(README_APPS, vgg, mbsOptions))),
  );
  // The options chosen make a difference (so the comparison above can fail): against the
  // defaults, and the seed on its own.
  const cliGroups = PlanSchema.parse(JSON.parse(mbs.stdout)).groups;
  assert.notDeepEqual(plan(README_APPS, vgg, { algorithm: 'mbs' }).groups, cliGroups);
  assert.notDeepEqual(plan(README_APPS, vgg, { ...mbsOptions, seed: 8 }).groups, cliGroups);

  // auto: --partitions all-partitions skips the contiguous search, so the exact optimum wins.
  assert.equal(autoAll.code, 0, autoAll.stderr);
  assert.equal(PlanSchema.parse(JSON.parse(autoAll.stdout)).algorithm, 'auto:optimal');

  assert.equal(badPartitions.code, 2, badPartitions.stderr);
  assert.match(badPartitions.stderr, /error \[E_INVALID_OPTION\]: --partitions: .*"every"/);
  assert.doesNotMatch(badPartitions.stderr, /\n\s+at /, 'no stack trace');

  assert.equal(warned.code, 0, warned.stderr);
  assert.match(
    warned.stdout,
    /total cost per request[^\n]*\nwarning: group 0 \(app0\): 1\.55 vCPU is outside/,
  );
  assert.equal(warnedJson.code, 0, warnedJson.stderr);
  const batchPlan = PlanSchema.parse(JSON.parse(warnedJson.stdout));
  assert.deepEqual(
    batchPlan.warnings?.map((w) => [w.code, w.group]),
    batchPlan.groups.map((_, i) => ['W_EXTRAPOLATED', i]),
    'every BATCH group is a CPU function above 1 vCPU here',
  );
  // Without --extrapolate the planner stays inside the measured range: no caveat to report.
  assert.equal(inside.code, 0, inside.stderr);
  const insidePlan = PlanSchema.parse(JSON.parse(inside.stdout));
  assert.equal(insidePlan.warnings, undefined);
  for (const g of insidePlan.groups)
    if (g.function.kind === 'cpu')
      assert.ok(g.function.vcpu >= 0.5 && g.function.vcpu <= 1, `${g.function.vcpu}`);
});

test('hetserve plan planner flags: each bad value or misplaced flag is E_INVALID_OPTION naming the flag', async () => {
  const cases: Array<[string[], string, RegExp]> = [
    [['--partitions', 'every'], '--partitions', /"every"/],
    [['--algorithm', 'optimal', '--exact-max-apps', '17'], '--exact-max-apps', /1\.\.16.*"17"/],
    [['--algorithm', 'optimal', '--exact-max-apps', '2.5'], '--exact-max-apps', /integer.*"2\.5"/],
    [['--algorithm', 'optimal', '--exact-max-apps', '0'], '--exact-max-apps', /"0"/],
    [['--algorithm', 'mbs', '--mbs-init', '0'], '--mbs-init', /"0"/],
    [['--algorithm', 'mbs', '--mbs-iterations', '-1'], '--mbs-iterations', /"-1"/],
    [['--algorithm', 'mbs', '--max-groups', 'two'], '--max-groups', /"two"/],
    [['--algorithm', 'mbs', '--seed', '1.5'], '--seed', /"1\.5"/],
    [['--time-budget', '0'], '--time-budget', /"0"/],
    [['--algorithm', 'mbs', '--time-budget', 'soon'], '--time-budget', /"soon"/],
    // Flags the chosen algorithm does not read.
    [['--algorithm', 'harmony', '--seed', '3'], '--seed', /only to --algorithm mbs.*harmony/],
    [['--algorithm', 'mbs', '--partitions', 'contiguous'], '--partitions', /optimal or auto.*mbs/],
    [['--mbs-iterations', '3'], '--mbs-iterations', /--algorithm auto/],
    [['--algorithm', 'optimal', '--time-budget', '100'], '--time-budget', /auto or mbs/],
    // Raised by the planner, renamed after the flag.
    [
      ['--algorithm', 'optimal', '--partitions', 'all-partitions', '--exact-max-apps', '2'],
      '--partitions',
      /--partitions: searches at most --exact-max-apps = 2 apps \(have 4\)/,
    ],
  ];
  for (const [args, flag, pattern] of cases) {
    const e = await planError(...args);
    assert.ok(e, `${args.join(' ')}: expected an error`);
    assert.equal(e.code, 'E_INVALID_OPTION', `${args.join(' ')}: ${e.message}`);
    assert.equal(e.exitCode, 2);
    assert.equal(e.details['field'], flag, e.message);
    assert.ok(e.message.startsWith(`${flag}:`), e.message);
    assert.match(e.message, pattern);
  }
  // An unknown algorithm is reported before its flags are checked.
  assert.equal((await planError('--algorithm', 'magic', '--seed', '3'))?.code, 'E_UNKNOWN_ALGORITHM');
});
