/**
 * `hetserve serve` as a process: YAML config, SIGTERM drains (every accepted request answered,
 * exit 0); bad config -> coded error and exit 2; `hetserve load` reports per-app percentiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inferBody, post } from '../helpers/serve.ts';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const YAML = `
listen: { host: 127.0.0.1, port: 0 }
models:
  - name: echo
    profile: VGG19
    inputs: [{ name: x, datatype: FP32, shape: [4] }]
applications:
  - { name: a0, slo: 2, rps: 5 }
  - { name: a1, slo: 3, rps: 15 }
serving:
  mode: serverless
  backend: { type: replay, latency: 800 }
replan: { intervalS: 0 }
logLevel: warn
`;

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-serve-'));
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

test('SIGTERM: stop accepting, answer every accepted request, exit 0', { timeout: 300_000 }, async () => {
  const child = spawn(process.execPath, [...CLI, 'serve', '--config', tmpFile('gw.yaml', YAML)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /gateway on (http:\/\/localhost:\d+)/.exec(err);
      if (m) resolve(m[1].replace('localhost', '127.0.0.1'));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let answered = 0;
  const inflight = Array.from({ length: 6 }, (_, i) =>
    post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], i % 2 ? 'a1' : 'a0')).finally(
      () => answered++,
    ),
  );
  // SIGTERM only once the gateway accepted all six (held or already answered): a request not yet
  // accepted may rightly be refused. The bound only keeps a broken gateway from hanging the test.
  let accepted = 0;
  for (const t0 = performance.now(); accepted < 6 && performance.now() - t0 < 30_000;) {
    const live = (await (await fetch(`${url}/api/live`)).json()) as { models: { queued: number }[] };
    accepted = live.models[0].queued + answered;
    if (accepted < 6) await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(accepted, 6, 'all six requests accepted before SIGTERM');
  child.kill('SIGTERM');
  const rs = await Promise.all(inflight);
  rs.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.equal(r.json.outputs[0].data[0], i);
  });
  assert.equal(await exited, 0);
});

test('a bad config file: coded error naming the field, exit 2, no stack', () => {
  const f = tmpFile('bad.yaml', YAML.replace('slo: 2', 'slo: -0.5'));
  const r = spawnSync(process.execPath, [...CLI, 'serve', '--config', f], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /error \[E_CONFIG_INVALID\]: .*applications\.0\.slo/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const y = tmpFile('broken.yaml', 'models: [');
  const r2 = spawnSync(process.execPath, [...CLI, 'serve', '--config', y], { encoding: 'utf8' });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /E_FILE_PARSE/);
});

test(
  'hetserve load: JSON report against a running gateway; bad --app spec is exit 2',
  { timeout: 300_000 },
  async () => {
    const { startGateway } = await import('../helpers/serve.ts');
    const { gw, url } = await startGateway();
    try {
      const child = spawn(
        process.execPath,
        [
          ...CLI,
          'load',
          '--url',
          url,
          '--model',
          'echo',
          '--app',
          'a0:0.5:30',
          '--app',
          'a3:1:30',
          '--duration',
          '1',
          '--json',
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      assert.equal(code, 0);
      const report = JSON.parse(out) as {
        apps: { app: string; sent: number; ok: number; sloAttainment: number | null }[];
      };
      assert.deepEqual(
        report.apps.map((a) => a.app),
        ['a0', 'a3'],
      );
      for (const a of report.apps) {
        assert.ok(a.sent > 5);
        assert.equal(a.ok, a.sent);
      }
      // name:slo:rps, as in `plan`: both SLOs were read as SLOs.
      for (const a of report.apps) assert.equal(typeof a.sloAttainment, 'number');
    } finally {
      await gw.close();
    }
    const bad = spawnSync(process.execPath, [...CLI, 'load', '--app', 'a0'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /E_INVALID_OPTION.*--app/);
    // The old name:rps order gets one line naming the new form.
    const old = spawnSync(process.execPath, [...CLI, 'load', '--app', 'a0:30'], { encoding: 'utf8' });
    assert.equal(old.status, 2);
    assert.match(old.stderr, /expected name:slo:rps, as in `hetserve plan`.*no longer accepted/);
  },
);
