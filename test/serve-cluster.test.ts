/** Cluster mode: a heterogeneous pool routed by the Kairos distributor. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HetserveError } from '../src/model/errors.ts';
import { ReplayBackend } from '../src/serve/backends/replay.ts';
import type { BackendConfig } from '../src/model/serve-config.ts';
import { baseConfig, inferBody, post, startGateway } from './serve-helpers.ts';

const POOL = baseConfig({
  serving: {
    mode: 'cluster',
    qosMs: 200,
    baseType: 'fast',
    latencyMs: { fast: 2, slow: 20 },
    instances: [
      { name: 'f0', type: 'fast', backend: { type: 'replay', latency: 2 } },
      { name: 's0', type: 'slow', backend: { type: 'replay', latency: 20 } },
      { name: 's1', type: 'slow', backend: { type: 'replay', latency: 20 } },
    ],
  },
});

function served(metrics: string, inst: string): number {
  const m = new RegExp(
    `hetserve_batch_exec_seconds_count\\{model="echo",group="\\w+",backend="${inst}"\\} (\\d+)`,
  ).exec(metrics);
  return m ? Number(m[1]) : 0;
}

test('every query answered once, by some instance; the fast type serves the most', async () => {
  const { gw, url } = await startGateway(POOL);
  try {
    const rs = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        post(`${url}/v2/models/echo/infer`, inferBody([i, 1, 2, 3], `a${i % 4}`)),
      ),
    );
    rs.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.json.outputs[0].data[0], i);
    });
    const m = await (await fetch(`${url}/metrics`)).text();
    const counts = ['f0', 's0', 's1'].map((x) => served(m, x));
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      60,
    );
    assert.ok(counts[0] > counts[1] && counts[0] > counts[2], `served ${counts}`);
    const live = (await (await fetch(`${url}/api/live`)).json()) as {
      models: { mode: string; instances: unknown[] }[];
    };
    assert.equal(live.models[0].mode, 'cluster');
    assert.equal(live.models[0].instances.length, 3);
  } finally {
    await gw.close();
  }
});

test('a failing instance: its queries are retried on another instance', async () => {
  const { gw, url } = await startGateway(POOL, {
    backendFactory: (cfg, ctx) =>
      ctx.id.endsWith('/f0')
        ? {
            kind: 'failing',
            id: ctx.id,
            start: async () => ({
              name: 'echo',
              platform: 't',
              inputs: ctx.model.inputs!,
              outputs: ctx.model.inputs!,
            }),
            infer: async () => {
              throw new HetserveError('E_BACKEND_FAILED', 'boom');
            },
            close: async () => undefined,
          }
        : new ReplayBackend(cfg as Extract<BackendConfig, { type: 'replay' }>, ctx),
  });
  try {
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], 'a1')),
      ),
    );
    for (const r of rs) assert.equal(r.status, 200);
    assert.equal(gw.models.get('echo')!.service.queued, 0);
  } finally {
    await gw.close();
  }
});

test('Kairos data: replay instances draw measured rm2 latencies; the estimator uses the rm2 table', async () => {
  const cfg = baseConfig({
    serving: {
      mode: 'cluster',
      qosMs: 200,
      baseType: 'g4dn.xlarge',
      kairos: { model: 'rm2', querySize: 10 },
      instances: [
        {
          name: 'gpu0',
          type: 'g4dn.xlarge',
          backend: { type: 'replay', latency: { kairos: { model: 'rm2', type: 'g4dn.xlarge' } } },
        },
        {
          name: 'cpu0',
          type: 't3.xlarge',
          backend: { type: 'replay', latency: { kairos: { model: 'rm2', type: 't3.xlarge' } } },
        },
      ],
    },
  });
  const { gw, url } = await startGateway(cfg);
  try {
    const rs = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], 'a3')),
      ),
    );
    for (const r of rs) {
      assert.equal(r.status, 200);
      // rm2 at 10 items: g4dn 5.257-5.592 ms, t3 10.82-27.27 ms; a replayed latency is a floor
      assert.ok(r.json.parameters.backend_ms >= 5.257, `backend ${r.json.parameters.backend_ms} ms`);
    }
  } finally {
    await gw.close();
  }
  // an instance type the table does not know is a config error naming it
  const bad = baseConfig({
    serving: {
      mode: 'cluster',
      qosMs: 200,
      baseType: 'g4dn.xlarge',
      kairos: { model: 'rm2', querySize: 10 },
      instances: [{ name: 'x', type: 'p5.48xlarge', backend: { type: 'replay', latency: 1 } }],
    },
  });
  await assert.rejects(
    startGateway(bad),
    (e: Error & { code?: string; details?: { value?: unknown } }) =>
      e.code === 'E_CONFIG_INVALID' && e.details?.value === 'p5.48xlarge',
  );
});
