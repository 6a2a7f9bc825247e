/** Config reload through the admin endpoint: live changes applied, restart-only changes refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { parseServeConfigText } from '../../src/model/serve-config.ts';
import { Gateway } from '../../src/serve/gateway.ts';
import { baseConfig, post } from '../helpers/serve.ts';

test('POST /admin/reload re-reads the config file: new SLOs re-plan; listen changes need a restart', async () => {
  const token = 'reload-token-0123456789';
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-reload-'));
  const file = join(dir, 'gw.yaml');
  const cfg = baseConfig({ admin: { token } });
  writeFileSync(file, stringify(cfg));
  const gw = new Gateway({
    config: parseServeConfigText(stringify(cfg), file),
    configPath: file,
    logger: pino({ level: 'silent' }),
  });
  const { url } = await gw.start();
  const auth = { authorization: `Bearer ${token}` };
  try {
    const svc = gw.serverless('echo');
    const before = JSON.stringify(svc.plan.groups.map((g) => [g.apps, g.batchSize, g.timeouts]));
    // Tighter SLOs: the plan must change (smaller timeouts at least).
    writeFileSync(
      file,
      stringify({ ...cfg, applications: cfg.applications.map((a) => ({ ...a, slo: a.slo * 0.6 })) }),
    );
    const r = await post(`${url}/admin/reload`, '{}', auth);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.reloaded, true);
    assert.notEqual(JSON.stringify(svc.plan.groups.map((g) => [g.apps, g.batchSize, g.timeouts])), before);
    assert.ok(svc.plan.apps.every((a) => a.slo < 0.61));
    // A new listen port cannot be applied live.
    writeFileSync(file, stringify({ ...cfg, listen: { host: '127.0.0.1', port: 9 } }));
    const bad = await post(`${url}/admin/reload`, '{}', auth);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, 'listen');
    // An invalid file is refused with the field named; the running config stays.
    writeFileSync(file, stringify({ ...cfg, applications: [{ name: 'a0', slo: -1, rps: 1 }] }));
    const invalid = await post(`${url}/admin/reload`, '{}', auth);
    assert.equal(invalid.status, 400);
    assert.match(invalid.json.field, /applications\.0\.slo$/);
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
  } finally {
    await gw.close();
  }
});
