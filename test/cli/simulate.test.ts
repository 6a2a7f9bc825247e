import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliSync } from '../helpers/cli.ts';

const cli = (...args: string[]) => {
  const r = runCliSync(...args);
  return { code: r.code, out: r.stdout, err: r.stderr };
};
const dir = mkdtempSync(join(tmpdir(), 'hetserve-sim-cli-'));
const apps = join(dir, 'apps.json');
writeFileSync(
  apps,
  JSON.stringify([
    { name: 'a', slo: 0.5, rps: 5 },
    { name: 'b', slo: 1.0, rps: 15 },
  ]),
);

test('simulate serverless --json reports violation rates overall and per app, cost measured and predicted', () => {
  const r = cli(
    'simulate',
    'serverless',
    '--model',
    'VGG19',
    '--apps',
    apps,
    '--algorithm',
    'harmony,batch',
    '--duration',
    '60',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.kind, 'serverless-simulation');
  assert.deepEqual(
    j.results.map((x: { algorithm: string }) => x.algorithm),
    ['harmony', 'batch'],
  );
  for (const x of j.results) {
    assert.ok(x.requests > 900 && x.requests < 1500, `requests ${x.requests}`);
    assert.ok(x.sloViolationRate >= 0 && x.sloViolationRate <= 1);
    assert.deepEqual(
      x.perApp.map((p: { app: string }) => p.app),
      ['a', 'b'],
    );
    assert.ok(x.costPerRequest.measured > 0 && x.costPerRequest.predicted > 0);
  }
});

test('simulate serverless: bad traces name the file, line and value (exit 2)', () => {
  const tdir = join(dir, 'traces');
  mkdirSync(tdir);
  writeFileSync(join(tdir, 'a.csv'), '10,20\n');
  writeFileSync(join(tdir, 'b.csv'), '10\n-3\n');
  const r = cli('simulate', 'serverless', '--model', 'VGG19', '--apps', apps, '--trace', tdir, '--quiet');
  assert.equal(r.code, 2);
  assert.match(r.err, /E_TRACE_INVALID/);
  assert.match(r.err, /b\.csv" line 2/);
  assert.match(r.err, /-3/);
  const missing = cli(
    'simulate',
    'serverless',
    '--model',
    'VGG19',
    '--apps',
    apps,
    '--trace',
    join(dir, 'nope'),
  );
  assert.equal(missing.code, 2);
  assert.match(missing.err, /E_TRACE_INVALID.*nope/);
  assert.doesNotMatch(missing.err, /at .*\.ts:\d+/); // no stack trace
});

test('simulate serverless: unknown algorithm and all-zero rates are exit 2 with a coded error', () => {
  const r = cli('simulate', 'serverless', '--model', 'VGG19', '--apps', apps, '--algorithm', 'harmony,nope');
  assert.equal(r.code, 2);
  assert.match(r.err, /E_UNKNOWN_ALGORITHM/);
  const zero = join(dir, 'zero.json');
  writeFileSync(zero, JSON.stringify([{ name: 'a', slo: 0.5, rps: 0 }]));
  const z = cli('simulate', 'serverless', '--model', 'VGG19', '--apps', zero);
  assert.equal(z.code, 2);
  assert.match(z.err, /E_APP_INVALID.*rate/);
});

test('simulate cluster --json: QoS-met ratio and throughput at a rate; allowable with --find-max-rate; report files', () => {
  const rep = join(dir, 'rep');
  const r = cli(
    'simulate',
    'cluster',
    '--model',
    'wnd',
    '--config',
    '1,0,2,0',
    '--distributor',
    'kairos,fcfs',
    '--rate',
    '100',
    '--find-max-rate',
    '--queries',
    '1500',
    '--seeds',
    '1',
    '--steps',
    '4',
    '--json',
    '--report',
    rep,
  );
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.qosMs, 25);
  for (const x of j.results) {
    assert.ok(x.qosMetRatio >= 0 && x.qosMetRatio <= 1);
    assert.ok(x.throughputQps > 0);
    assert.ok(x.allowableQps >= 0);
  }
  assert.ok(existsSync(join(rep, 'report.md')) && existsSync(join(rep, 'allowable-throughput.png')));
  assert.match(readFileSync(join(rep, 'allowable-throughput.svg'), 'utf8'), /^<svg/);
});

test('simulate cluster: bad configuration and options are exit 2 naming the value', () => {
  const a = cli('simulate', 'cluster', '--model', 'rm2', '--config', '1,0,13', '--rate', '10');
  assert.equal(a.code, 2);
  assert.match(a.err, /E_INVALID_OPTION.*config.*4 counts/);
  const b = cli('simulate', 'cluster', '--model', 'rm2', '--config', '0,0,0,0', '--rate', '10');
  assert.equal(b.code, 2);
  const c = cli('simulate', 'cluster', '--model', 'rm2', '--config', '1,0,13,0', '--rate', '-4');
  assert.equal(c.code, 2);
  assert.match(c.err, /--rate/);
  const d = cli('simulate', 'cluster', '--model', 'rm2', '--config', 'x9.large=2', '--rate', '10');
  assert.equal(d.code, 2);
  assert.match(d.err, /E_UNKNOWN_INSTANCE_TYPE.*x9\.large/);
});

test('simulate serverless --plan: the plan `hetserve plan` wrote is simulated as written, never re-planned; bad combinations are coded errors', () => {
  const planFile = join(dir, 'plan-harmony.json');
  const p = cli('plan', '--model', 'VGG19', '--apps', apps, '--algorithm', 'harmony', '--json');
  assert.equal(p.code, 0, p.err);
  writeFileSync(planFile, p.out);
  const plan = JSON.parse(p.out);
  // Three minutes whose rates differ tenfold: a re-planning run changes its plan on the way.
  const trace = join(dir, 'trace-3min.csv');
  writeFileSync(trace, 'minute,count\n0,1200\n1,120\n2,1200\n');
  const sim = (...extra: string[]) => {
    const r = cli('simulate', 'serverless', '--trace', trace, '--json', '--quiet', ...extra);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out).results[0];
  };
  const fixed = sim('--plan', planFile);
  assert.equal(fixed.algorithm, plan.algorithm);
  assert.deepEqual(fixed.initialPlan.groups, plan.groups);
  assert.ok(fixed.requests > 1000, `${fixed.requests} requests`);
  const predicted = (r: { perMinute: { predictedCostPerRequest: number }[] }) =>
    new Set(r.perMinute.map((m) => m.predictedCostPerRequest));
  assert.deepEqual([...predicted(fixed)], [plan.totalCostPerRequest], 'the same plan in force every minute');
  const replanned = sim('--model', 'VGG19', '--apps', apps, '--algorithm', 'harmony', '--calibrate', 'off');
  assert.ok(predicted(replanned).size > 1, 'the planner itself changes the plan over this trace');

  const refused = (code: string, ...args: string[]) => {
    const r = cli('simulate', 'serverless', '--plan', planFile, '--duration', '60', '--quiet', ...args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, new RegExp(code));
  };
  refused('E_INVALID_OPTION', '--algorithm', 'harmony');
  refused('E_INVALID_OPTION', '--prices', 'paper-usd');
  const other = join(dir, 'other-apps.json');
  writeFileSync(other, JSON.stringify([{ name: 'zz', slo: 0.5, rps: 5 }]));
  refused('E_PLAN_APPS_MISMATCH', '--apps', other);
});
