/**
 * No load can end the gateway's process. Each scenario runs in a child process, so an abort
 * (`terminate called after throwing an instance of 'Napi::Error'`, exit 134, which ending an onnx
 * worker thread under a running batch used to cause) shows as a failed exit, not a dead test runner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function child(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL(`./children/${file}`, import.meta.url))],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 1 << 24 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
          signal: err?.signal ?? null,
          stdout,
          stderr,
        }),
    );
  });
}

test('onnx backend: batches aborted while they run and injected worker crashes never abort the process', async () => {
  const r = await child('onnx-abort-storm.ts', { ITER: '150' });
  assert.doesNotMatch(r.stderr, /terminate called/);
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\n${r.stderr.slice(-2000)}`);
  const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  // Every batch settled once, with a success or a coded backend error.
  assert.equal(c['ok']! + c['timeout']! + c['failed']!, 300, r.stdout);
  assert.equal(c['other'], 0);
  assert.ok(c['timeout']! > 0, 'some aborts landed');
  assert.ok(c['restarts']! >= 2, `crashed workers replaced: ${r.stdout}`);
});

test('gateway: a flood of valid [64, 256] requests on the demo deployment leaves it serving', async () => {
  const r = await child('gateway-flood.ts', { FLOOD: '400', INFLIGHT: '200' });
  assert.doesNotMatch(r.stderr, /terminate called/);
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\n${r.stderr.slice(-2000)}`);
  const { counts, after } = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    counts: Record<string, number>;
    after: number;
  };
  const total = Object.values(counts).reduce((s, n) => s + n, 0);
  assert.equal(total, 400);
  // Overload is refused (429/503) or timed out (504), never an internal or backend failure.
  for (const s of Object.keys(counts))
    assert.ok(['200', '429', '503', '504'].includes(s), JSON.stringify(counts));
  assert.equal(after, 200, JSON.stringify(counts));
});
