import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AllocationSchema } from '../../src/model/cluster.ts';
import { runCli, type CliRun } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'hetserve-allocate-'));
const file = (name: string, body: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};

const run = (args: string[]): Promise<CliRun> => runCli('allocate', ...args);

test('hetserve allocate: results and bad input (exit 2 bad input, 3 nothing feasible, no stack traces)', async () => {
  const negPool = file('neg.json', { types: [{ name: 'g4dn.xlarge', priceUsdPerHour: -0.5, base: true }] });
  const sizes = file('small.json', { '10': 5, '50': 3, '100': 2 });
  // A user profile (mean latencies only) and pool: gpu serves everything, cpu only sizes ≤ 20 within 10 ms.
  const profile = file('profile.json', {
    model: 'toy',
    unit: 'ms',
    batchSizes: [10, 20, 30],
    instances: { gpu: { meanMs: [4, 5, 6] }, cpu: { meanMs: [5, 9, 14] } },
  });
  const pool = file('pool.json', {
    types: [
      { name: 'gpu', priceUsdPerHour: 1, base: true, maxCount: 3 },
      { name: 'cpu', priceUsdPerHour: 0.25 },
    ],
  });
  const toySizes = file('toy-sizes.json', { sizes: [10, 20, 30], weights: [1, 1, 1] });
  const cases: { args: string[]; code: number; expect: RegExp }[] = [
    { args: ['--budget', '0.3'], code: 3, expect: /E_BUDGET_TOO_LOW[\s\S]*0\.526/ },
    { args: ['--model', 'bert'], code: 2, expect: /E_UNKNOWN_MODEL.*"bert"/ },
    { args: ['--pool', negPool], code: 2, expect: /E_POOL_INVALID.*priceUsdPerHour/ },
    { args: ['--qos', '200'], code: 3, expect: /E_QOS_UNREACHABLE[\s\S]*--qos 262/ },
    { args: ['--rank', 'best'], code: 2, expect: /E_INVALID_OPTION.*--rank/ },
    { args: ['--verify-workers', 'many'], code: 2, expect: /E_INVALID_OPTION.*--verify-workers.*"many"/ },
  ];
  // Each case is a process (≈ 1 s of CPU for tsx): keep the list short; the library tests
  // (plan-cluster-*.test.ts) cover the other bad inputs.
  const [ok, text, small, toy, dflt, paper, ...bad] = await Promise.all([
    run([
      '--model',
      'rm2',
      '--budget',
      '2.5',
      '--qos',
      '350',
      '--compat',
      'prototype',
      '--json',
      '--top',
      '3',
      '--no-lp',
    ]),
    run(['--model', 'dien', '--top', '3', '--types', 'g4dn.xlarge,r5n.large']),
    run(['--sizes', sizes, '--json', '--no-lp', '--select', 'top1']),
    run([
      '--model',
      profile,
      '--pool',
      pool,
      '--sizes',
      toySizes,
      '--budget',
      '2',
      '--qos',
      '10',
      '--json',
      '--select',
      'top1',
    ]),
    run(['--model', 'ncf', '--json', '--no-lp', '--top', '3']),
    run(['--model', 'ncf', '--json', '--no-lp', '--top', '3', '--select', 'similarity']),
    ...cases.map((c) => run(c.args)),
  ]);
  // The default rule: the simulator verifies the top 5 by upper bound (tolerance 5 %).
  assert.equal(dflt.code, 0, dflt.stderr);
  const d = JSON.parse(dflt.stdout);
  assert.equal(d.select, 'verified');
  assert.equal(d.verifyTolerance, 0.05);
  assert.equal(d.oracle.ranked.length, 5);
  assert.equal(dflt.stderr, '', 'no progress line without --oracle');
  assert.equal(paper.code, 0, paper.stderr);
  const p = JSON.parse(paper.stdout);
  assert.equal(p.select, 'similarity');
  assert.equal(p.chosen.rank, p.similarity.chosenRank);
  assert.equal(p.oracle, undefined);
  assert.equal(ok.code, 0, ok.stderr);
  const a = AllocationSchema.parse(JSON.parse(ok.stdout));
  assert.deepEqual(a.chosen.counts, { 'g4dn.xlarge': 1, 'c5n.2xlarge': 0, 'r5n.large': 12, 't3.xlarge': 1 });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /chosen .*g4dn\.xlarge/);
  assert.match(text.stdout, /homogeneous: 4 × g4dn\.xlarge/);
  assert.doesNotMatch(text.stdout, /t3\.xlarge/, '--types restricts the pool');
  assert.equal(small.code, 0, small.stderr);
  // With only small queries the auxiliaries can take everything: more CPU than a GPU-heavy mix.
  const s = JSON.parse(small.stdout);
  assert.ok(
    s.chosen.counts['r5n.large'] + s.chosen.counts['c5n.2xlarge'] + s.chosen.counts['t3.xlarge'] >= 10,
  );
  assert.equal(toy.code, 0, toy.stderr);
  const t = JSON.parse(toy.stdout);
  // By hand: only the gpu serves size 30 (6 ms, a third of the queries), so one gpu caps the rate at
  // 3 × 1000 / 6 = 500 QPS; 3 cpus already carry sizes 10 and 20 at that rate (500/3 × 14 ms = 2.33 s/s),
  // so (1 gpu, 3 cpu) is the first configuration reaching 500 (a 4th cpu adds nothing); 2 gpus: 400.
  assert.deepEqual(t.chosen.counts, { gpu: 1, cpu: 3 });
  assert.ok(Math.abs(t.chosen.upperBoundQps - 500) < 1e-9);
  assert.ok(Math.abs(t.chosen.lpBoundQps - 500) < 1e-6);
  assert.deepEqual(t.homogeneous.counts, { gpu: 2, cpu: 0 });
  assert.ok(Math.abs(t.homogeneous.upperBoundQps - 400) < 1e-9);
  cases.forEach((c, i) => {
    const r = bad[i];
    assert.equal(r.code, c.code, `${c.args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, c.expect, c.args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
