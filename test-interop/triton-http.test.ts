/**
 * Interoperability: Triton's own Python HTTP client (tritonclient.http, unchanged, from
 * TRITONCLIENT_PATH, default ../shared/vendor/tritonclient) against a gateway started here on a
 * free port. The checks are in triton_client_check.py; this driver starts the gateway, runs the
 * client with Debian's python3 and checks the gateway's side of the story.
 * Run: `npm run test:interop` (needs python3-numpy, -gevent, -geventhttpclient, -rapidjson).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON, runPython, startInteropGateway } from './gateway.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT = resolve(ROOT, process.env['TRITONCLIENT_PATH'] ?? '../shared/vendor/tritonclient');
const SCRIPT = join(ROOT, 'test-interop', 'triton_client_check.py');

function requirements(): void {
  if (!existsSync(join(CLIENT, 'tritonclient', 'http', '__init__.py')))
    assert.fail(
      `Triton's Python client is not at ${CLIENT} (no tritonclient/http/__init__.py there). ` +
        'Set TRITONCLIENT_PATH to the folder that holds tritonclient/ (see ../shared/vendor/README.md).',
    );
  if (!existsSync(PYTHON)) assert.fail(`${PYTHON} is missing: apt-get install -y python3`);
  const probe = spawnSync(PYTHON, ['-c', 'import tritonclient.http'], {
    env: { ...process.env, PYTHONPATH: CLIENT },
    encoding: 'utf8',
  });
  if (probe.status !== 0)
    assert.fail(
      `tritonclient.http does not import with ${PYTHON} (${probe.stderr.trim().split('\n').pop()}); ` +
        'apt-get install -y python3-numpy python3-gevent python3-geventhttpclient python3-rapidjson',
    );
}

test('Triton’s Python HTTP client works unchanged against the gateway', { timeout: 180_000 }, async () => {
  requirements();
  const { gw, url } = await startInteropGateway();
  try {
    const r = await runPython(SCRIPT, [url.replace(/^http:\/\//, '')], CLIENT);
    assert.equal(r.code, 0, `the client's checks failed:\n${r.stderr}\n${r.stdout}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { passed: string[]; async: number };
    assert.equal(report.async, 200);
    for (const name of [
      'binary infer x',
      'json infer',
      'subset',
      'batch 8',
      'async 200 in flight',
      'unknown model message',
    ])
      assert.ok(report.passed.includes(name), `check ${name} ran`);
    // The gateway's own account: every async request answered 200 under the default app, and the
    // errors the client decoded were counted by status.
    const m = await (await fetch(`${url}/metrics`)).text();
    const ok = /hetserve_requests_total\{model="echo",app="a3",code="200"\} (\d+)/.exec(m);
    assert.ok(ok && Number(ok[1]) >= 200 + 8, `200s under the default app: ${ok?.[1]}`);
    assert.match(m, /hetserve_requests_total\{model="_unknown",app="_unknown",code="404"\} 1/);
    assert.match(m, /hetserve_requests_total\{model="echo",app="_unknown",code="400"\} [1-9]/);
  } finally {
    await gw.close();
  }
});
