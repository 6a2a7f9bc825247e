import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerlessProfileSchema } from '../../src/model/profile.ts';
import { ClusterProfileSchema } from '../../src/model/cluster.ts';
import { PlanSchema } from '../../src/model/plan.ts';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'hetserve-profile-cli-'));

const hetserve = runCli;

test('synth → profile onnx → plan: files validate, table and plot written, plan accepts the profile', async () => {
  const model = join(dir, 'mlp.onnx');
  const out = join(dir, 'mlp.profile.json');
  const svg = join(dir, 'fit.svg');
  let r = await hetserve('profile', 'synth', 'mlp', '--out', model, '--hidden', '64', '--inputs', '32');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*mlp\.onnx \(mlp/);
  r = await hetserve(
    'profile',
    'onnx',
    model,
    '--vcpu',
    '0.5,0.75,1',
    '--batch',
    '1,2',
    '--runs',
    '5',
    '--percentile',
    '95',
    '--out',
    out,
    '--plot',
    svg,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /MAPE %/);
  assert.match(r.stdout, /wrote .*fit\.svg/);
  const profile = ServerlessProfileSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  assert.equal(profile.name, 'mlp');
  assert.equal(profile.cpu!.avg.length, 2);
  assert.deepEqual(profile.cpu!.fitRange, [0.5, 1]);
  const plot = readFileSync(svg, 'utf8');
  assert.match(plot, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok((plot.match(/<circle/g) ?? []).length >= 12, 'one dot per measured (vCPU, batch, stat)');
  r = await hetserve('plan', '--model', out, '--app', 'a:0.5:20', '--json', '--no-baseline');
  assert.equal(r.code, 0, r.stderr);
  const plan = PlanSchema.parse(JSON.parse(r.stdout));
  assert.equal(plan.model, 'mlp');
  // --as cluster writes the per-size table instead.
  const table = join(dir, 'mlp.cluster.json');
  r = await hetserve(
    'profile',
    'onnx',
    model,
    '--vcpu',
    '1',
    '--batch',
    '1,4',
    '--runs',
    '3',
    '--as',
    'cluster',
    '--out',
    table,
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { kind: string; configurations: number };
  assert.deepEqual([summary.kind, summary.configurations], ['cluster', 2]);
  const cluster = ClusterProfileSchema.parse(JSON.parse(readFileSync(table, 'utf8')));
  assert.deepEqual(Object.keys(cluster.instances), ['local-1vcpu']);
});

// Each case costs a process start; the runners' tests cover the other error paths in-process.
test('bad input: coded errors with exit codes, never a stack trace', async () => {
  const junk = join(dir, 'junk.onnx');
  writeFileSync(junk, 'not a model');
  const fixed = join(dir, 'fixed.onnx');
  const { buildMlp } = await import('../../src/onnx/synthetic-models.ts');
  writeFileSync(fixed, buildMlp({ inputs: 4, hidden: 4, layers: 1, classes: 2, fixedBatch: 8 }).bytes);
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const cases: Array<[string[], number, RegExp]> = [
    [['profile', 'onnx', junk, '--runs', '2'], 2, /E_NOT_ONNX/],
    [['profile', 'onnx', fixed, '--runs', '2'], 2, /E_FIXED_BATCH_DIM.*fixed to 8/],
    [['profile', 'onnx', fixed, '--as', 'tpu'], 2, /E_INVALID_OPTION.*--as/],
    [
      ['profile', 'http', `http://127.0.0.1:${port}/v2/models/m/infer`, '--runs', '1'],
      4,
      /E_ENDPOINT_UNREACHABLE/,
    ],
  ];
  for (const [args, code, pattern] of cases) {
    const r = await hetserve(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
