/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are checked by assertions */
/**
 * Reliability of the gateway: faulty backends (errors, hangs), bounded queues, graceful drain,
 * bad input, admin authentication, plan swaps under load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HetserveError } from '../../src/model/errors.ts';
import { ReplayBackend } from '../../src/serve/backends/replay.ts';
import type { Backend, BackendContext } from '../../src/serve/backends/types.ts';
import type { BackendConfig } from '../../src/model/serve-config.ts';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import {
  APPS,
  baseConfig,
  handPlan,
  inferBody,
  post,
  startGateway,
  tracked,
  waitFor,
} from '../helpers/serve.ts';

const FAST_APPS = APPS.map((a) => ({ ...a, slo: a.slo / 5 }));
const TWO_GROUPS = () =>
  handPlan([
    { apps: ['a0', 'a1'], batchSize: 2, timeout: 0.005, vcpu: 1 },
    { apps: ['a2', 'a3'], batchSize: 2, timeout: 0.005, vcpu: 2 },
  ]);

function failing(ctx: BackendContext): Backend {
  return {
    kind: 'failing',
    id: ctx.id,
    start: async () => ({
      name: ctx.model.name,
      platform: 'test',
      inputs: ctx.model.inputs!,
      outputs: ctx.model.inputs!,
    }),
    infer: async () => {
      throw new HetserveError('E_BACKEND_FAILED', 'boom');
    },
    close: async () => undefined,
  };
}

function hanging(ctx: BackendContext): Backend {
  return {
    kind: 'hanging',
    id: ctx.id,
    start: async () => ({
      name: ctx.model.name,
      platform: 'test',
      inputs: ctx.model.inputs!,
      outputs: ctx.model.inputs!,
    }),
    infer: (b) =>
      new Promise((_r, reject) =>
        b.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      ),
    close: async () => undefined,
  };
}

const replay = (cfg: BackendConfig, ctx: BackendContext) =>
  new ReplayBackend(cfg as Extract<BackendConfig, { type: 'replay' }>, ctx);

/**
 * A gateway whose replay backends hold every batch until `open()`: in-flight state the test
 * controls. SLOs of 10-20 s keep the hard deadlines (2 x SLO) out of reach however slow the machine.
 */
const SLOW_APPS = APPS.map((a) => ({ ...a, slo: a.slo * 20 }));
async function gatedGateway(over: Parameters<typeof baseConfig>[0] = {}) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const started = await startGateway(baseConfig({ applications: SLOW_APPS, ...over }), {
    planFn: () => handPlan([{ apps: APPS.map((a) => a.name), batchSize: 4, timeout: 0.005 }], SLOW_APPS),
    backendFactory: (c, ctx) => {
      const b = replay(c, ctx);
      const infer = b.infer.bind(b);
      b.infer = async (batch) => {
        await gate;
        return infer(batch);
      };
      return b;
    },
  });
  return { ...started, open };
}

test('a failing function: its batches are retried on another backend, every request answered 200', async () => {
  const { gw, url } = await startGateway(baseConfig(), {
    planFn: TWO_GROUPS,
    backendFactory: (cfg, ctx) => (ctx.fn?.vcpu === 1 ? failing(ctx) : replay(cfg, ctx)),
  });
  try {
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], `a${i % 4}`)),
      ),
    );
    rs.forEach((r, i) => {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.outputs[0].data[0], i);
    });
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(
      m,
      /hetserve_batch_failures_total\{model="echo",group="a0,a1",backend="cpu:1vcpu:2GB"\} [1-9]/,
    );
  } finally {
    await gw.close();
  }
});

test('every backend failing: a 502 problem body, nothing left in flight', async () => {
  const { gw, url } = await startGateway(baseConfig(), {
    planFn: TWO_GROUPS,
    backendFactory: (_c, ctx) => failing(ctx),
  });
  try {
    const rs = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        post(`${url}/v2/models/echo/infer`, inferBody(undefined, `a${i % 4}`)),
      ),
    );
    for (const r of rs) {
      assert.equal(r.status, 502);
      assert.equal(r.json.code, 'E_BACKEND_FAILED');
      assert.equal(r.headers.get('content-type'), 'application/problem+json');
    }
    assert.equal(gw.serverless('echo').queued, 0);
  } finally {
    await gw.close();
  }
});

test("a hanging backend: 504 at each request's hard deadline (2 x SLO), not before, nothing left hanging", async () => {
  // Virtual time: the deadlines are checked as logic, whatever the machine's load.
  const timers = new VirtualTimeSource(100);
  const { gw, url } = await startGateway(baseConfig({ applications: FAST_APPS }), {
    planFn: () => handPlan([{ apps: APPS.map((a) => a.name), batchSize: 2, timeout: 0.005 }], FAST_APPS),
    backendFactory: (_c, ctx) => hanging(ctx),
    timers,
  });
  try {
    const t0 = timers.now();
    const reqs = Array.from({ length: 8 }, (_, i) =>
      tracked(post(`${url}/v2/models/echo/infer`, inferBody(undefined, `a${i % 4}`))),
    );
    const svc = gw.serverless('echo');
    await waitFor(() => svc.queued === 8, 'all 8 requests accepted');
    // a0's hard deadline is 2 x 0.1 s; just before it nobody is answered.
    timers.advanceTo(t0 + 0.199);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(svc.queued, 8);
    assert.ok(reqs.every((r) => !r.settled()));
    // At a0's deadline only a0's two requests are answered; the others wait for theirs.
    timers.advanceTo(t0 + 0.2);
    await Promise.all([reqs[0].promise, reqs[4].promise]);
    assert.equal(svc.queued, 6);
    timers.advanceTo(t0 + 2 * FAST_APPS[3].slo);
    const rs = await Promise.all(reqs.map((r) => r.promise));
    for (const r of rs) {
      assert.equal(r.status, 504);
      assert.equal(r.json.code, 'E_BACKEND_TIMEOUT');
    }
    assert.deepEqual(
      rs.slice(0, 4).map((r) => r.json.value),
      FAST_APPS.map((a) => +(2 * a.slo).toFixed(3)),
    );
    assert.equal(svc.queued, 0);
    // the gateway keeps serving
    assert.equal((await fetch(`${url}/v2/health/live`)).status, 200);
  } finally {
    await gw.close();
  }
});

test('bounded queue: beyond limits.maxQueue a 429 with Retry-After, the rest served', async () => {
  const { gw, url, open } = await gatedGateway({ limits: { maxQueue: 8, retryAfterS: 2 } });
  const svc = gw.serverless('echo');
  try {
    const first = Array.from({ length: 8 }, (_, i) =>
      post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], `a${i % 4}`)),
    );
    await waitFor(() => svc.queued === 8, 'the queue full');
    const limited = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        post(`${url}/v2/models/echo/infer`, inferBody(undefined, `a${i % 4}`)),
      ),
    );
    for (const r of limited) {
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '2');
      assert.equal(r.json.code, 'E_QUEUE_FULL');
      assert.equal(r.json.field, 'limits.maxQueue');
    }
    open();
    (await Promise.all(first)).forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.json.outputs[0].data[0], i);
    });
    // room again once the queue drained
    assert.equal((await post(`${url}/v2/models/echo/infer`, inferBody(undefined, 'a0'))).status, 200);
  } finally {
    open();
    await gw.close();
  }
});

test('graceful drain: every accepted request answered, new ones refused', async () => {
  // The backend answers only once the test opens the gate, so all 12 requests are provably
  // accepted and in flight when the drain starts, however slow the machine.
  const { gw, url, open } = await gatedGateway();
  const svc = gw.serverless('echo');
  const pending = Array.from({ length: 12 }, (_, i) =>
    post(`${url}/v2/models/echo/infer`, inferBody([i, 1, 2, 3], `a${i % 4}`)),
  );
  try {
    await waitFor(() => svc.queued === 12, 'all 12 requests accepted');
    const drained = gw.drain();
    const refused = await post(`${url}/v2/models/echo/infer`, inferBody([99, 1, 2, 3], 'a0')).then(
      (r) => r.status,
      () => 'connection refused',
    );
    assert.notEqual(refused, 200, 'a request after the drain began is not served');
    open();
    const rs = await Promise.all(pending);
    assert.equal(await drained, true);
    rs.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.json.outputs[0].data[0], i);
    });
    await assert.rejects(fetch(`${url}/v2/health/live`));
  } finally {
    open();
    await gw.close();
  }
});

test('bad input: 4xx problem bodies naming the field', async () => {
  const { gw, url } = await startGateway(baseConfig({ limits: { maxBodyBytes: 2000 } }));
  const infer = `${url}/v2/models/echo/infer`;
  const t = (over: Record<string, unknown>) =>
    JSON.stringify({
      parameters: { app: 'a0' },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4], ...over }],
    });
  const cases: [string, string, number, string, string | RegExp][] = [
    [
      'body too large',
      JSON.stringify({ inputs: [], pad: 'x'.repeat(5000) }),
      413,
      'E_BODY_TOO_LARGE',
      'body',
    ],
    ['malformed JSON', '{"inputs": [', 400, 'E_MALFORMED_JSON', 'body'],
    ['wrong shape', t({ shape: [1, 5] }), 400, 'E_TENSOR_INVALID', 'inputs[0].shape'],
    ['wrong dtype', t({ datatype: 'INT32' }), 400, 'E_TENSOR_INVALID', 'inputs[0].datatype'],
    ['wrong name', t({ name: 'y' }), 400, 'E_TENSOR_INVALID', 'inputs[0].name'],
    ['too few values', t({ data: [1, 2, 3] }), 400, 'E_TENSOR_INVALID', 'inputs[0].data'],
    ['non-number value', t({ data: [1, 2, 'x', 4] }), 400, 'E_TENSOR_INVALID', 'inputs[0].data[2]'],
    ['unknown app', inferBody(undefined, 'nope'), 404, 'E_UNKNOWN_APP', 'app'],
    ['no app', inferBody(), 400, 'E_APP_REQUIRED', 'app'],
    ['not an object', '[1,2]', 400, 'E_INVALID_INPUT', 'body'],
  ];
  try {
    for (const [what, body, status, code, field] of cases) {
      const r = await post(infer, body);
      assert.equal(r.status, status, what);
      assert.equal(r.json.code, code, what);
      assert.equal(r.json.field, field, what);
      assert.equal(typeof r.json.detail, 'string');
    }
    const malformed = await post(`${url}/v2/models/%E0%A4%A/infer`, inferBody(undefined, 'a0'));
    assert.equal(malformed.status, 404);
    assert.equal(malformed.json.field, 'path');
    const unknownModel = await post(`${url}/v2/models/nope/infer`, inferBody(undefined, 'a0'));
    assert.equal(unknownModel.status, 404);
    assert.equal(unknownModel.json.field, 'model');
    // the connection and the gateway survive all of it
    assert.equal((await post(infer, inferBody(undefined, 'a0'))).status, 200);
  } finally {
    await gw.close();
  }
});

test('admin endpoints: off without a token, 401 without the right bearer, plan swap with it', async () => {
  const off = await startGateway();
  try {
    const r = await post(`${off.url}/admin/plan`, '{}', { authorization: 'Bearer whatever-whatever-123' });
    assert.equal(r.status, 404);
    assert.equal(r.json.field, 'admin.token');
  } finally {
    await off.gw.close();
  }
  const token = 'test-token-0123456789';
  const { gw, url } = await startGateway(baseConfig({ admin: { token } }));
  try {
    assert.equal((await post(`${url}/admin/plan`, '{}')).status, 401);
    assert.equal(
      (await post(`${url}/admin/plan`, '{}', { authorization: 'Bearer wrong-token-0123456789' })).status,
      401,
    );
    const auth = { authorization: `Bearer ${token}` };
    const bad = await post(`${url}/admin/plan`, JSON.stringify({ plan: { kind: 'nope' } }), auth);
    assert.equal(bad.status, 400);
    assert.match(bad.json.field, /^plan/);
    const slow = handPlan([{ apps: APPS.map((a) => a.name), batchSize: 4, timeout: 0.55 }]);
    const late = await post(`${url}/admin/plan`, JSON.stringify({ plan: slow }), auth);
    assert.equal(late.status, 400);
    assert.equal(late.json.field, 'plan.groups.0.timeouts.a0');
    const ok = await post(`${url}/admin/plan`, JSON.stringify({ plan: TWO_GROUPS() }), auth);
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.planVersion, 1);
    assert.equal(gw.serverless('echo').plan.groups.length, 2);
    // a path is just data: there is no endpoint that reads files or code named by a request
    const path = await post(`${url}/admin/reload`, JSON.stringify({ path: '/etc/passwd' }), auth);
    assert.equal(path.status, 400);
    assert.equal(path.json.field, 'configPath');
  } finally {
    await gw.close();
  }
});

test('plan swaps under load: nothing dropped, nothing answered twice or crossed', async () => {
  const plans = [TWO_GROUPS(), handPlan([{ apps: APPS.map((a) => a.name), batchSize: 8, timeout: 0.02 }])];
  const cfg = baseConfig({
    serving: { mode: 'serverless', backend: { type: 'replay', latency: { samplesMs: [0, 2, 5] } } },
  });
  const { gw, url } = await startGateway(cfg);
  const svc = gw.serverless('echo');
  try {
    const reqs: Promise<{ status: number; json: any }>[] = [];
    for (let i = 0; i < 300; i++) {
      reqs.push(
        post(`${url}/v2/models/echo/infer`, inferBody([i, 100 - i, i * 2, 7], `a${i % 4}`, { id: `r${i}` })),
      );
      if (i % 25 === 0) await svc.swap(plans[(i / 25) % 2]);
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    const rs = await Promise.all(reqs);
    rs.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.json.id, `r${i}`);
      assert.deepEqual(r.json.outputs[0].data, [i, 100 - i, i * 2, 7]);
    });
    assert.ok(svc.planVersion >= 10);
    const m = await (await fetch(`${url}/metrics`)).text();
    const total = [
      ...m.matchAll(/hetserve_requests_total\{model="echo",app="a\d",code="200"\} (\d+)/g),
    ].reduce((s, x) => s + Number(x[1]), 0);
    assert.equal(total, 300);
    assert.equal(svc.queued, 0);
  } finally {
    await gw.close();
  }
});

test('a killed onnx worker: its batch is retried on the other function, answers are correct', async () => {
  const { OnnxBackend } = await import('../../src/serve/backends/onnx.ts');
  const { buildMlp } = await import('../../src/onnx/synthetic-models.ts');
  const cfg = baseConfig({
    models: [
      {
        name: 'echo',
        profile: 'VGG19',
        source: { synthetic: 'mlp', seed: 1, options: { inputs: 4, hidden: 8 } },
      },
    ],
    serving: { mode: 'serverless', backend: { type: 'onnx', workers: 1, threadsPerWorker: 1 } },
    // The test is about the retry's answers, not its speed: a replacement worker loading its
    // session on a loaded machine took over a0's 1 s hard deadline (SLO 0.5 s × 2) in a stress run.
    limits: { hardDeadlineFactor: 20 },
  });
  let killed = 0;
  const { gw, url } = await startGateway(cfg, {
    planFn: TWO_GROUPS,
    backendFactory: (c, ctx) => {
      const b = new OnnxBackend(c as Extract<BackendConfig, { type: 'onnx' }>, ctx);
      if (ctx.fn?.vcpu === 1 && !ctx.id.endsWith('probe')) {
        const infer = b.infer.bind(b);
        // The first batch on this function: its worker dies while the batch is on it.
        b.infer = (batch) => {
          const p = infer(batch);
          if (killed++ === 0) void b.killWorker(0);
          return p;
        };
      }
      return b;
    },
  });
  try {
    const m = buildMlp({ seed: 1, inputs: 4, hidden: 8 });
    const x = [0.5, -1, 2, 0.25];
    const rs = await Promise.all(
      [0, 1].map(() =>
        post(
          `${url}/v2/models/echo/infer`,
          JSON.stringify({
            parameters: { app: 'a0' },
            inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: x }],
          }),
        ),
      ),
    );
    // JS forward pass of the same weights.
    let h = x;
    for (let l = 0; l < m.weights.length; l += 2) {
      const [W, B] = [m.weights[l], m.weights[l + 1]];
      const [nin, nout] = W.dims;
      h = Array.from({ length: nout }, (_, o) => {
        let s = B.data[o];
        for (let i = 0; i < nin; i++) s += h[i] * W.data[i * nout + o];
        return l + 2 < m.weights.length ? Math.max(0, s) : s;
      });
    }
    for (const r of rs) {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      (r.json.outputs[0].data as number[]).forEach((v, j) =>
        assert.ok(Math.abs(v - h[j]) < 1e-4 * (1 + Math.abs(h[j]))),
      );
    }
    assert.ok(killed >= 1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(
      metrics,
      /hetserve_batch_failures_total\{model="echo",group="a0,a1",backend="cpu:1vcpu:2GB"\} 1/,
    );
  } finally {
    await gw.close();
  }
});
