/** Every example gateway config in examples/ validates, boots (port 0) and answers an inference. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { parseServeConfigText } from '../../src/model/serve-config.ts';
import { Gateway } from '../../src/serve/gateway.ts';

const DIR = fileURLToPath(new URL('../../examples/', import.meta.url));
const files = readdirSync(DIR).filter((f) => /\.ya?ml$|\.json$/.test(f));

test('examples/: the three starting points exist', () => {
  for (const f of ['serverless-onnx.yaml', 'serverless-replay.yaml', 'cluster-replay.yaml'])
    assert.ok(files.includes(f), f);
});

for (const f of files)
  test(`examples/${f}: boots and answers`, { timeout: 120_000 }, async () => {
    const path = join(DIR, f);
    const config = parseServeConfigText(readFileSync(path, 'utf8'), f);
    config.listen = { host: '127.0.0.1', port: 0 };
    config.replan.intervalS = 0;
    const gw = new Gateway({ config, configPath: path, logger: pino({ level: 'silent' }) });
    const { url } = await gw.start();
    try {
      const model = config.models[0].name;
      const meta = (await (await fetch(`${url}/v2/models/${model}`)).json()) as {
        inputs: { name: string; datatype: string; shape: number[] }[];
      };
      const inputs = meta.inputs.map((t) => {
        const shape = t.shape.map((d) => (d < 0 ? 1 : d));
        return {
          name: t.name,
          datatype: t.datatype,
          shape,
          data: Array(shape.reduce((a, b) => a * b, 1)).fill(0.25),
        };
      });
      const app = config.applications[0];
      const r = await fetch(`${url}/v2/models/${model}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hetserve-app': app.name },
        body: JSON.stringify({ inputs }),
      });
      const body = (await r.json()) as { outputs?: unknown[] };
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.ok(Array.isArray(body.outputs) && body.outputs.length > 0);
    } finally {
      await gw.close();
    }
  });
