import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AllocationSchema } from '../src/model/cluster.ts';

const BIN = fileURLToPath(new URL('../bin/hetserve.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hetserve-allocate-'));
const file = (name: string, body: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'allocate', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('hetserve allocate: results and bad input (exit 2 bad input, 3 nothing feasible, no stack traces)', async () => {
  const negPool = file('neg.json', { types: [{ name: 'g4dn.xlarge', priceUsdPerHour: -0.5, base: true }] });
  const badSizes = file('sizes.json', { sizes: [10, 20], weights: [1, 'x'] });
  const sizes = file('small.json', { '10': 5, '50': 3, '100': 2 });
  const cases: { args: string[]; code: number; expect: RegExp }[] = [
    { args: ['--budget', '0.3'], code: 3, expect: /E_BUDGET_TOO_LOW[\s\S]*0\.526/ },
    { args: ['--model', 'bert'], code: 2, expect: /E_UNKNOWN_MODEL.*"bert"/ },
    {
      args: ['--types', 'g4dn.xlarge,nope.large'],
      code: 2,
      expect: /E_UNKNOWN_INSTANCE_TYPE.*"nope\.large"/,
    },
    { args: ['--types', 'r5n.large,t3.xlarge'], code: 2, expect: /E_NO_BASE_TYPE/ },
    { args: ['--pool', negPool], code: 2, expect: /E_POOL_INVALID.*priceUsdPerHour/ },
    { args: ['--qos', '0.01'], code: 3, expect: /E_QOS_UNREACHABLE/ },
    { args: ['--qos', '200'], code: 3, expect: /E_QOS_UNREACHABLE[\s\S]*--qos 262/ },
    { args: ['--sizes', badSizes], code: 2, expect: /E_INVALID_INPUT.*"x"/ },
    { args: ['--rank', 'best'], code: 2, expect: /E_INVALID_OPTION.*--rank/ },
    { args: ['--percentile', '100'], code: 2, expect: /E_INVALID_OPTION.*percentile/ },
  ];
  const [ok, text, small, ...bad] = await Promise.all([
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
    run(['--model', 'dien', '--top', '3']),
    run(['--sizes', sizes, '--json', '--no-lp', '--select', 'top1']),
    ...cases.map((c) => run(c.args)),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const a = AllocationSchema.parse(JSON.parse(ok.stdout));
  assert.deepEqual(a.chosen.counts, { 'g4dn.xlarge': 1, 'c5n.2xlarge': 0, 'r5n.large': 12, 't3.xlarge': 1 });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /chosen .*g4dn\.xlarge/);
  assert.match(text.stdout, /homogeneous: 4 × g4dn\.xlarge/);
  assert.equal(small.code, 0, small.stderr);
  // With only small queries the auxiliaries can take everything: more CPU than a GPU-heavy mix.
  const s = JSON.parse(small.stdout);
  assert.ok(
    s.chosen.counts['r5n.large'] + s.chosen.counts['c5n.2xlarge'] + s.chosen.counts['t3.xlarge'] >= 10,
  );
  cases.forEach((c, i) => {
    const r = bad[i];
    assert.equal(r.code, c.code, `${c.args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, c.expect, c.args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
