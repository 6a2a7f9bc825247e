/** Cluster mode: a heterogeneous pool routed by the Kairos distributor. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HetserveError } from '../../src/model/errors.ts';
import { LatencyTable } from '../../src/predict/latency-table.ts';
import { ReplayBackend } from '../../src/serve/backends/replay.ts';
import type { BackendConfig } from '../../src/model/serve-config.ts';
import { baseConfig, inferBody, post, startGateway } from '../helpers/serve.ts';

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

/** Two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical CDFs. */
function ksStatistic(a: readonly number[], b: readonly number[]): number {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

test('replay {kairos}: the drawn latencies follow the rm2 table (two-sample Kolmogorov–Smirnov)', async () => {
  const table = LatencyTable.bundled('rm2');
  const model = { name: 'echo', inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [4] }] };
  for (const type of ['g4dn.xlarge', 't3.xlarge']) {
    const b = new ReplayBackend(
      { type: 'replay', latency: { kairos: { model: 'rm2', type, querySize: 10 } } } as Extract<
        BackendConfig,
        { type: 'replay' }
      >,
      { id: type, model: model as never, baseDir: '.' },
    );
    await b.start();
    const n = 2000;
    const draws = Array.from({ length: n }, () => b.latencyMs(1));
    const ref = Array.from(table.samplesMs(type, 10));
    const d = ksStatistic(draws, ref);
    // Critical value at alpha = 0.001: 1.95 * sqrt((n + m) / (n m)).
    const crit = 1.95 * Math.sqrt((n + ref.length) / (n * ref.length));
    assert.ok(d < crit, `${type}: D = ${d.toFixed(4)} >= ${crit.toFixed(4)}`);
    // The test can tell: the other type's table is far from these draws.
    const other = Array.from(table.samplesMs(type === 't3.xlarge' ? 'g4dn.xlarge' : 't3.xlarge', 10));
    assert.ok(ksStatistic(draws, other) > crit, `${type}: draws also pass against the other type`);
    await b.close();
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
  // A spy on each instance's draws (ms), by instance type.
  const drawn = new Map<string, number[]>();
  const { gw, url } = await startGateway(cfg, {
    backendFactory: (c, ctx) => {
      const b = new ReplayBackend(c as Extract<BackendConfig, { type: 'replay' }>, ctx);
      const draw = b.latencyMs.bind(b);
      const type = ctx.id.endsWith('gpu0') ? 'g4dn.xlarge' : 't3.xlarge';
      b.latencyMs = (size) => {
        const ms = draw(size);
        drawn.set(type, [...(drawn.get(type) ?? []), ms]);
        return ms;
      };
      return b;
    },
  });
  const table = LatencyTable.bundled('rm2');
  try {
    const rs = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], 'a3')),
      ),
    );
    for (const r of rs) assert.equal(r.status, 200);
    const all = [...drawn.values()].flat();
    assert.equal(all.length, 16, 'one draw per request');
    // Every draw is a measured rm2 latency of its instance's type at 10 items...
    for (const [type, xs] of drawn) {
      const known = new Set(table.samplesMs(type, 10));
      for (const x of xs) assert.ok(known.has(x), `${type}: ${x} ms is not an rm2 sample`);
    }
    // ...and a replayed latency is a floor: no answer reports less than the smallest draw.
    const fastest = Math.min(...rs.map((r) => r.json.parameters.backend_ms as number));
    assert.ok(fastest >= Math.min(...all) - 1e-3, `backend ${fastest} ms`);
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

test('live query sizes: query_size and the batch dimension route large queries to the GPU type', async () => {
  const kairos = (type: string) => ({ type: 'replay' as const, latency: { kairos: { model: 'rm2', type } } });
  const cfg = baseConfig({
    serving: {
      mode: 'cluster',
      qosMs: 350,
      baseType: 'g4dn.xlarge',
      kairos: { model: 'rm2' },
      instances: [
        { name: 'gpu0', type: 'g4dn.xlarge', backend: kairos('g4dn.xlarge') },
        { name: 'cpu0', type: 'r5n.large', backend: kairos('r5n.large') },
        { name: 'cpu1', type: 'r5n.large', backend: kairos('r5n.large') },
      ],
    },
  });
  const { gw, url } = await startGateway(cfg);
  try {
    for (let r = 0; r < 3; r++) {
      const rs = await Promise.all([
        // 900 items: r5n.large needs 363 ms on average, over the 350 ms QoS: only the GPU type meets it
        post(
          `${url}/v2/models/echo/infer`,
          JSON.stringify({
            parameters: { app: 'a3', query_size: 900 },
            inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [r, 0, 0, 0] }],
          }),
        ),
        // a request of 2 rows is one query of size 2
        post(
          `${url}/v2/models/echo/infer`,
          JSON.stringify({
            parameters: { app: 'a3' },
            inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }],
          }),
        ),
      ]);
      for (const x of rs) assert.equal(x.status, 200);
      assert.equal(rs[0].json.outputs[0].data[0], r);
      assert.deepEqual(rs[1].json.outputs[0].shape, [2, 4]);
      assert.ok(
        rs[0].json.parameters.backend_ms >= 200,
        `900 items took ${rs[0].json.parameters.backend_ms} ms`,
      );
    }
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(
      m,
      /hetserve_cluster_queries_total\{model="echo",type="g4dn.xlarge",size_bucket="501-1000",qos="\w+"\} 3/,
    );
    assert.doesNotMatch(
      m,
      /hetserve_cluster_queries_total\{model="echo",type="r5n.large",size_bucket="501-1000"/,
    );
    const live = (await (await fetch(`${url}/api/live`)).json()) as {
      models: { cluster: { pool: unknown } }[];
    };
    assert.deepEqual(live.models[0].cluster.pool, { 'g4dn.xlarge': 1, 'r5n.large': 2 });
    const bad = await post(
      `${url}/v2/models/echo/infer`,
      JSON.stringify({
        parameters: { app: 'a3', query_size: 0 },
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] }],
      }),
    );
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.json), /query_size/);
  } finally {
    await gw.close();
  }
});

test('realloc config: needs the Kairos table and a price for every pool type', async () => {
  const serving = {
    mode: 'cluster' as const,
    qosMs: 350,
    baseType: 'g4dn.xlarge',
    instances: [{ name: 'gpu0', type: 'g4dn.xlarge', backend: { type: 'replay' as const, latency: 1 } }],
    realloc: {
      budgetUsdPerHour: 2,
      pool: [{ type: 'g4dn.xlarge', backend: { type: 'replay' as const, latency: 1 } }],
    },
  };
  await assert.rejects(
    startGateway(baseConfig({ serving })),
    (e: Error & { details?: { field?: string } }) => e.details?.field === 'serving.realloc',
  );
  await assert.rejects(
    startGateway(
      baseConfig({
        serving: {
          ...serving,
          kairos: { model: 'rm2' },
          realloc: {
            budgetUsdPerHour: 2,
            pool: [{ type: 'r5n.large', backend: { type: 'replay', latency: 1 } }],
          },
        },
      }),
    ),
    (e: Error & { details?: { field?: string } }) => e.details?.field === 'serving.realloc.pool',
  );
});

test('hetserve load --query-sizes: a bad mix is a coded error naming the option', async () => {
  const { runCli } = await import('../helpers/cli.ts');
  const r = await runCli(
    'load',
    '--app',
    'a:1:1',
    '--query-sizes',
    '/nonexistent/mix.json',
    '--duration',
    '1',
  );
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--query-sizes/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
});

test('a flood in cluster mode is shed at once with 429 and Retry-After; the rest is answered', async () => {
  const { gw, url } = await startGateway(
    baseConfig({
      serving: {
        mode: 'cluster',
        qosMs: 1000,
        baseType: 'slow',
        latencyMs: { slow: 50 },
        instances: [{ name: 's0', type: 'slow', backend: { type: 'replay', latency: 50 } }],
      },
    }),
  );
  try {
    // One instance at 50 ms per query reaches 10 queries within a0's 0.5 s SLO, fewer with the
    // other apps' shares kept: 40 at once cannot all make it.
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], 'a0')),
      ),
    );
    const shed = rs.filter((r) => r.status === 429);
    assert.ok(shed.length >= 20, `only ${shed.length} of 40 shed`);
    for (const r of shed) {
      assert.equal(r.json.code, 'E_OVERLOADED');
      assert.ok(Number(r.headers.get('retry-after')) >= 1, String(r.headers.get('retry-after')));
    }
    assert.ok(rs.some((r) => r.status === 200));
    // A 504 is an admitted query late on a loaded machine: the timing claims are the
    // virtual-time conformance suite's (test/serve/model-service.case.ts).
    for (const r of rs)
      assert.ok([200, 429, 504].includes(r.status), `${r.status} ${JSON.stringify(r.json)}`);
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(m, /hetserve_rejected_total\{model="echo",reason="overload-(?:deadline|share)"\} [1-9]/);
    assert.equal(gw.models.get('echo')!.service.queued, 0);
  } finally {
    await gw.close();
  }
});
