import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlanSchema } from '../../src/model/plan.ts';
import { parseAppsCsv, readAppsInput } from '../../src/plan/serverless/apps-input.ts';
import { runCli, type CliRun as Run } from '../helpers/cli.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hetserve-plan-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const hetserve = runCli;

const readme = join(root, 'data', 'examples', 'readme-apps.json');

test('hetserve plan: JSON plans, human table with the BATCH baseline, and bad input exit codes', async () => {
  const csvBad = file('bad.csv', 'name,slo,rps\na,0.5,5\nb,abc,5\n');
  const csvOk = file('ok.csv', 'name,slo,rps\na,0.5,5\nidle,0.8,0\nb,1.0,15\n');
  // Few spawns (each is a cold start); the remaining bad inputs are checked in-process below.
  const [json, proto, csv, unknownModel, badCsv, unreachable, unknownAlg] = await Promise.all([
    hetserve('plan', '--model', 'VGG19', '--apps', readme, '--algorithm', 'harmony', '--json'),
    hetserve(
      'plan',
      '--model',
      'vgg19',
      '--apps',
      readme,
      '--algorithm',
      'harmony',
      '--compat',
      'prototype',
      '--json',
    ),
    hetserve('plan', '--model', 'VGG19', '--apps', csvOk, '--algorithm', 'harmony'),
    hetserve('plan', '--model', 'ResNet50', '--apps', readme),
    hetserve('plan', '--model', 'VGG19', '--apps', csvBad),
    hetserve('plan', '--model', 'GPT-2', '--app', 'chat:0.05:3'),
    hetserve('plan', '--model', 'VGG19', '--app', 'a:0.5:5', '--algorithm', 'magic'),
  ]);

  assert.equal(json.code, 0, json.stderr);
  const plan = PlanSchema.parse(JSON.parse(json.stdout));
  assert.equal(plan.algorithm, 'harmony');
  assert.deepEqual(plan.groups.flatMap((g) => g.apps).sort(), ['app0', 'app1', 'app2', 'app3']);

  assert.equal(proto.code, 0, proto.stderr);
  const p2 = PlanSchema.parse(JSON.parse(proto.stdout));
  assert.ok(Math.abs(p2.totalCostPerRequest - 3.352592841531281e-5) < 1e-9 * 3.35e-5);

  assert.equal(csv.code, 0, csv.stderr);
  assert.match(csv.stdout, /total cost per request/);
  assert.match(csv.stdout, /BATCH baseline/);
  assert.match(csv.stdout, /real model/);
  assert.match(csv.stdout, /warning: app idle left out/);

  const expectError = (r: Run, code: number, errCode: string, ...patterns: RegExp[]) => {
    assert.equal(r.code, code, `${errCode}: exit ${r.code}, stderr ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`error \\[${errCode}\\]`));
    for (const p of patterns) assert.match(r.stderr, p);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  };
  expectError(unknownModel, 2, 'E_UNKNOWN_MODEL', /ResNet50/);
  expectError(badCsv, 2, 'E_APP_INVALID', /apps\[1\]\.slo/, /abc/);
  expectError(unreachable, 3, 'E_SLO_UNREACHABLE', /chat/, /0\.05/, /0\.2\d*/);
  expectError(unknownAlg, 2, 'E_UNKNOWN_ALGORITHM', /magic/);
});

test('apps input: files, CSV and name:slo:rps specs give coded errors naming field and value', () => {
  const codeOf = (f: () => unknown): [string, string] => {
    try {
      f();
    } catch (e) {
      return [(e as { code: string }).code, (e as Error).message];
    }
    return ['none', ''];
  };
  assert.deepEqual(readAppsInput({ inline: ['a:b:0.5:5'] }), [{ name: 'a:b', slo: 0.5, rps: 5 }]);
  assert.equal(codeOf(() => readAppsInput({ file: file('empty.json', '[]') }))[0], 'E_APPS_EMPTY');
  assert.equal(codeOf(() => readAppsInput({}))[0], 'E_APPS_EMPTY');
  assert.equal(codeOf(() => readAppsInput({ file: join(dir, 'nope.json') }))[0], 'E_FILE_NOT_FOUND');
  assert.equal(codeOf(() => readAppsInput({ file: file('broken.json', '[{') }))[0], 'E_FILE_PARSE');
  assert.equal(codeOf(() => readAppsInput({ file: file('obj.json', '{"name":"a"}') }))[0], 'E_APP_INVALID');
  const [c1, m1] = codeOf(() => readAppsInput({ inline: ['a:0.5'] }));
  assert.equal(c1, 'E_APP_INVALID');
  assert.match(m1, /a:0\.5/);
  const [c2, m2] = codeOf(() => readAppsInput({ inline: ['a:0.5:fast'] }));
  assert.equal(c2, 'E_APP_INVALID');
  assert.match(m2, /rps.*fast/);
  const [c3, m3] = codeOf(() => parseAppsCsv('name,slo\na,1\n'));
  assert.equal(c3, 'E_APP_INVALID');
  assert.match(m3, /name,slo,rps/);
});
