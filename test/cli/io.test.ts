/**
 * src/cli/io.ts: a command's result written to stdout with synchronous writes of fd 1
 * (`writeOutput`, which `printJson` uses) arrives whole and in order, also when it is larger than
 * a pipe holds and the reader is slow, and stays ahead of what the command writes after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

/** Run `code` (ES module source importing src/cli/io.ts) with its stdout on a pipe read late. */
function runPiped(code: string, readAfterMs: number): Promise<{ out: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), readAfterMs);
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ out: Buffer.concat(chunks).toString('utf8'), status }));
  });
}

test('writeOutput: 1 MB through a pipe read late arrives whole, then later process.stdout text', async () => {
  const line = (i: number) => `${String(i).padStart(7, '0')} ${'é€'.repeat(20)}\n`;
  const n = 20_000; // ≈ 1 MB of UTF-8, far more than a pipe buffers
  const code = `
    import { writeOutput } from './src/cli/io.ts';
    const line = ${line.toString()};
    writeOutput(Array.from({ length: ${n} }, (_, i) => line(i)).join(''));
    process.stdout.write('after\\n');
  `;
  const r = await runPiped(code, 300);
  assert.equal(r.status, 0);
  const expected = Array.from({ length: n }, (_, i) => line(i)).join('') + 'after\n';
  assert.equal(r.out.length, expected.length);
  assert.ok(r.out === expected, 'same text, same order');
});

test('printJson writes the value as indented JSON and a newline', async () => {
  const value = { kind: 'x', list: [1, 2.5, 'ü'], nested: { a: null } };
  const code = `
    import { printJson } from './src/cli/io.ts';
    printJson(${JSON.stringify(value)});
  `;
  const r = await runPiped(code, 0);
  assert.equal(r.status, 0);
  assert.equal(r.out, `${JSON.stringify(value, null, 2)}\n`);
});

test('parseNumber: `above` is an exclusive bound and says so; errors quote the option and the value', async () => {
  const { parseNumber } = await import('../../src/cli/io.ts');
  assert.equal(parseNumber('--rate', '0.5', { above: 0 }), 0.5);
  const refused = (raw: string, opts: Parameters<typeof parseNumber>[2]): string => {
    try {
      parseNumber('--rate', raw, opts);
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'E_INVALID_OPTION');
      return (e as Error).message;
    }
    throw new Error(`${raw} was accepted`);
  };
  assert.equal(refused('0', { above: 0 }), '--rate: expected a number > 0 (got "0")');
  assert.equal(refused('-1', { min: 0 }), '--rate: expected a number >= 0 (got "-1")');
  assert.equal(refused('1.5', { min: 0, integer: true }), '--rate: expected an integer >= 0 (got "1.5")');
  assert.equal(refused('abc', {}), '--rate: expected a number (got "abc")');
});
