/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are checked by assertions */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APPS, baseConfig, handPlan, inferBody, post, startGateway } from '../helpers/serve.ts';

test('OIP health, metadata and infer round trip (replay backend echoes the input)', async () => {
  const { gw, url } = await startGateway();
  try {
    assert.equal((await fetch(`${url}/v2/health/live`)).status, 200);
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
    const meta = await (await fetch(`${url}/v2/models/echo`)).json();
    assert.deepEqual(meta.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
    const xs = [0.5, -1, 2.25, 3];
    const r = await post(`${url}/v2/models/echo/infer`, inferBody(xs, 'a1', { id: 'q1' }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.model_name, 'echo');
    assert.equal(r.json.id, 'q1');
    assert.deepEqual(r.json.outputs, [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: xs }]);
    // the header names the app too
    const h = await post(`${url}/v2/models/echo/infer`, inferBody([1, 1, 1, 1]), { 'x-hetserve-app': 'a3' });
    assert.equal(h.status, 200);
    assert.equal(h.json.parameters.app, 'a3');
  } finally {
    await gw.close();
  }
});

test('concurrent requests are batched and each gets its own answer', async () => {
  const { gw, url } = await startGateway();
  try {
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        post(`${url}/v2/models/echo/infer`, inferBody([i, i + 1, i + 2, i + 3], `a${i % 4}`)),
      ),
    );
    rs.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.outputs[0].data, [i, i + 1, i + 2, i + 3]);
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const m = /hetserve_batch_size_sum\{[^}]*\} (\d+)/.exec(metrics);
    const c = /hetserve_batch_size_count\{[^}]*\} (\d+)/.exec(metrics);
    assert.ok(m && c, 'batch size histogram present');
    assert.equal(Number(m![1]), 40);
    assert.ok(Number(c![1]) < 40, `requests were batched (${c![1]} batches for 40 requests)`);
    assert.match(metrics, /hetserve_requests_total\{model="echo",app="a0",code="200"\} 10/);
  } finally {
    await gw.close();
  }
});

test('config errors name the field', async () => {
  const { parseServeConfig } = await import('../../src/model/serve-config.ts');
  assert.throws(
    () => parseServeConfig({ ...baseConfig(), applications: [{ name: 'x', slo: -1, rps: 1 }] }),
    (e: any) => e.code === 'E_CONFIG_INVALID' && e.details.field === 'config.applications.0.slo',
  );
  assert.throws(
    () => parseServeConfig({ ...baseConfig(), applications: [{ name: 'x', slo: 1, rps: 1, model: 'nope' }] }),
    (e: any) => e.code === 'E_CONFIG_INVALID' && e.details.field === 'config.applications.0.model',
  );
});

test('a request with a batch dimension n: n samples batched individually, answer stacked [n, ...]', async () => {
  const { gw, url } = await startGateway(baseConfig({ limits: { maxSamplesPerRequest: 8 } }));
  try {
    const data = [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11, 12],
    ];
    const body = (rows: number[][]) =>
      JSON.stringify({
        parameters: { app: 'a2' },
        inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 4], data: rows }],
      });
    const r = await post(`${url}/v2/models/echo/infer`, body(data));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.outputs[0].shape, [3, 4]);
    assert.deepEqual(r.json.outputs[0].data, data.flat());
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /hetserve_requests_total\{model="echo",app="a2",code="200"\} 3/);
    const big = await post(
      `${url}/v2/models/echo/infer`,
      body(Array.from({ length: 9 }, () => [0, 0, 0, 0])),
    );
    assert.equal(big.status, 400);
    assert.equal(big.json.field, 'inputs[0].shape');
  } finally {
    await gw.close();
  }
});

test('http backend: batches forwarded to another OIP server (here a second hetserve)', async () => {
  const upstream = await startGateway();
  const { gw, url } = await startGateway(
    baseConfig({
      serving: {
        mode: 'serverless',
        backend: {
          type: 'http',
          url: upstream.url,
          timeoutMs: 2000,
          retries: 1,
          headers: { 'x-hetserve-app': 'a3' },
        },
      },
    }),
  );
  try {
    const rs = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        post(`${url}/v2/models/echo/infer`, inferBody([i, i, 0, 1], `a${i % 4}`)),
      ),
    );
    rs.forEach((r, i) => {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.outputs[0].data, [i, i, 0, 1]);
    });
    const m = await (await fetch(`${upstream.url}/metrics`)).text();
    assert.match(m, /hetserve_requests_total\{model="echo",app="a3",code="200"\} 12/);
  } finally {
    await gw.close();
    await upstream.gw.close();
  }
});

test('several models: each with its own apps, plan and metrics', async () => {
  const cfg = baseConfig({
    models: [
      { name: 'echo', profile: 'VGG19', inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }] },
      { name: 'ints', profile: 'Bert', inputs: [{ name: 'ids', datatype: 'INT64', shape: [3] }] },
    ],
    applications: [
      { name: 'a0', model: 'echo', slo: 0.5, rps: 5 },
      { name: 'b0', model: 'ints', slo: 1, rps: 5 },
    ],
  });
  const { gw, url } = await startGateway(cfg, {
    planFn: (_m, apps) => handPlan([{ apps: apps.map((a) => a.name), batchSize: 2, timeout: 0.005 }], apps),
  });
  try {
    const a = await post(`${url}/v2/models/echo/infer`, inferBody([1, 2, 3, 4], 'a0'));
    assert.equal(a.status, 200);
    const b = await post(
      `${url}/v2/models/ints/infer`,
      JSON.stringify({
        parameters: { app: 'b0' },
        inputs: [{ name: 'ids', datatype: 'INT64', shape: [1, 3], data: [7, 8, 9] }],
      }),
    );
    assert.equal(b.status, 200, JSON.stringify(b.json));
    assert.deepEqual(b.json.outputs[0], { name: 'ids', datatype: 'INT64', shape: [1, 3], data: [7, 8, 9] });
    // an app of the other model is unknown here
    const cross = await post(`${url}/v2/models/ints/infer`, inferBody([1, 2, 3, 4], 'a0'));
    assert.equal(cross.status, 400);
    const wrongApp = await post(
      `${url}/v2/models/ints/infer`,
      JSON.stringify({
        parameters: { app: 'a0' },
        inputs: [{ name: 'ids', datatype: 'INT64', shape: [1, 3], data: [1, 2, 3] }],
      }),
    );
    assert.equal(wrongApp.status, 404);
    assert.equal(wrongApp.json.field, 'app');
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(m, /hetserve_plan_info\{model="echo",group="0",apps="a0"/);
    assert.match(m, /hetserve_plan_info\{model="ints",group="0",apps="b0"/);
  } finally {
    await gw.close();
  }
});

test('serving.sloMarginMs: the gateway plans every app to its SLO less the margin; a margin that eats an SLO is E_CONFIG_INVALID', async () => {
  const { Predictor, bundledProfile } = await import('../../src/predict/index.ts');
  const predictor = new Predictor(bundledProfile('VGG19'));
  // The gateway's own planner (no planFn given), as `hetserve serve` runs it.
  const planOf = async (sloMarginMs?: number) => {
    const serving = {
      mode: 'serverless' as const,
      backend: { type: 'replay' as const, latency: 0 },
      ...(sloMarginMs === undefined ? {} : { sloMarginMs }),
    };
    const { gw } = await startGateway(baseConfig({ serving }), { planFn: undefined });
    try {
      return gw.serverless('echo').plan;
    } finally {
      await gw.close();
    }
  };
  for (const [margin, marginMs] of [
    [undefined, 10],
    [100, 100],
  ] as const) {
    const plan = await planOf(margin);
    for (const g of plan.groups) {
      const worst = predictor.latency(g.function, g.batchSize).max;
      for (const a of g.apps) {
        const slo = APPS.find((x) => x.name === a)!.slo;
        // Released by its timeout at the latest, then the batch's predicted max latency.
        assert.ok(
          g.timeouts[a]! + worst <= slo - marginMs / 1000 + 1e-9,
          `${a}: timeout ${g.timeouts[a]} + ${worst} s within ${slo} s − ${marginMs} ms`,
        );
      }
    }
  }
  await assert.rejects(
    planOf(500),
    (e: any) => e.code === 'E_CONFIG_INVALID' && e.details.field === 'serving.sloMarginMs',
  );
});
