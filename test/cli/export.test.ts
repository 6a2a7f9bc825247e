/** `hetserve export` end to end: files written, coded errors and exit codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FIXTURE_DIR } from '../helpers/export.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'export', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('writes the files, lists units and warnings, exit 0', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-export-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = cli([
    FIXTURE_DIR + 'plan-mixed.json',
    '--target',
    'fc',
    '--out',
    dir,
    '--json',
    '--region',
    'cn-shanghai',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(readdirSync(dir).sort(), ['routes.json', 's.yaml']);
  assert.deepEqual(
    out.units.map((u: { ref: string }) => u.ref),
    ['group-0', 'group-1'],
  );
  const project = parse(readFileSync(join(dir, 's.yaml'), 'utf8'));
  assert.equal(project.resources.g1.props.region, 'cn-shanghai');
  assert.equal(project.resources.g1.props.gpuConfig.gpuMemorySize, 2048);
});

test('bad input: coded errors, exit 2, no stack trace', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-export-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ kind: 'serverless-plan', model: 'VGG19', groups: 'none' }));
  const r = cli([bad, '--target', 'knative', '--out', dir]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error \[E_PLAN_INVALID\]: plan\.\w+/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);

  const target = cli([FIXTURE_DIR + 'alloc.json', '--target', 'nomad', '--out', dir]);
  assert.equal(target.code, 2);
  assert.match(target.stderr, /E_UNKNOWN_TARGET.*"nomad"/);

  const apply = cli([FIXTURE_DIR + 'plan-cpu.json', '--target', 'lambda', '--out', dir, '--apply']);
  assert.equal(apply.code, 2);
  assert.match(apply.stderr, /E_APPLY_UNAVAILABLE.*not a Kubernetes target/);
  assert.match(apply.stderr, /hint: .*knative/);
  assert.deepEqual(readdirSync(dir), ['bad.json'], '--apply on a non-Kubernetes target writes nothing');
});

test('--strict turns an unsupported group into exit 3', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-export-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = cli([FIXTURE_DIR + 'plan-mixed.json', '--target', 'lambda', '--out', dir, '--strict']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /E_TARGET_UNSUPPORTED.*group-1/);
  assert.deepEqual(readdirSync(dir), []);
});
