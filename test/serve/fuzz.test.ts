/**
 * Fuzz the infer endpoint with 10,000+ random and mutated requests (seeded fast-check samples):
 * no crash, no 5xx, every refusal a problem body; valid requests still answered. Then hostile
 * traffic: deep nesting, out-of-range numbers, wrong methods, slow and truncated bodies, floods.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pool } from 'undici';
import { connect } from 'node:net';
import { z } from 'zod';
import { badField, formatValue, type HetserveError } from '../../src/model/errors.ts';
import { parseWith } from '../../src/model/validate.ts';
import { parseServeConfig } from '../../src/model/serve-config.ts';
import { baseConfig, inferBody, post, startGateway } from '../helpers/serve.ts';

const VALID = () => ({
  id: 'q',
  parameters: { app: 'a0' },
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});

const PATHS = [
  ['id'],
  ['parameters'],
  ['parameters', 'app'],
  ['parameters', 'priority'],
  ['inputs'],
  ['inputs', 0],
  ['inputs', 0, 'name'],
  ['inputs', 0, 'datatype'],
  ['inputs', 0, 'shape'],
  ['inputs', 0, 'shape', 1],
  ['inputs', 0, 'data'],
  ['inputs', 0, 'data', 2],
  ['inputs', 1],
  ['outputs'],
];

function setAt(
  obj: Record<string, unknown>,
  path: (string | number)[],
  value: unknown,
  del: boolean,
): unknown {
  let cur: Record<string | number, unknown> = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]];
    if (next === null || typeof next !== 'object') return obj;
    cur = next as Record<string | number, unknown>;
  }
  if (del) delete cur[path[path.length - 1]];
  else cur[path[path.length - 1]] = value;
  return obj;
}

interface Case {
  model: string;
  /** Send `model` unencoded in the path (malformed %-escapes included). */
  raw?: boolean;
  app?: string;
  body: string;
}

const mutated: fc.Arbitrary<Case> = fc
  .tuple(
    fc.array(
      fc.tuple(
        fc.constantFrom(...PATHS),
        fc.anything({ maxDepth: 3, withNullPrototype: false }),
        fc.boolean(),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([muts]) => {
    const b = VALID() as unknown as Record<string, unknown>;
    for (const [p, v, del] of muts) setAt(b, p, v, del);
    let body: string;
    try {
      body = JSON.stringify(b) ?? 'null';
    } catch {
      body = '{}';
    }
    return { model: 'echo', body };
  });

const numbers: fc.Arbitrary<Case> = fc
  .tuple(
    fc.array(
      fc.oneof(fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 3 })),
      { maxLength: 8 },
    ),
    fc.array(fc.integer({ min: -2, max: 6 }), { maxLength: 4 }),
  )
  .map(([data, shape]) => ({
    model: 'echo',
    app: 'a1',
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape, data }] }),
  }));

// A valid deadline_ms that expires is a legitimate 504 (the client's own deadline), so only invalid
// ones are fuzzed here: each must be refused with 400.
const badDeadline: fc.Arbitrary<Case> = fc
  .oneof(
    fc.integer({ max: 0 }),
    fc.double({ max: 0 }),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.nat()),
  )
  .map((d) => {
    const b = VALID();
    return { model: 'echo', body: JSON.stringify({ ...b, parameters: { ...b.parameters, deadline_ms: d } }) };
  });

const rawJson: fc.Arbitrary<Case> = fc
  .json({ maxDepth: 4 })
  .map((body) => ({ model: 'echo', app: 'a2', body }));
const rawText: fc.Arbitrary<Case> = fc
  .string({ maxLength: 200 })
  .map((body) => ({ model: 'echo', app: 'a3', body }));
const truncated: fc.Arbitrary<Case> = fc
  .nat({ max: 120 })
  .map((n) => ({ model: 'echo', app: 'a0', body: JSON.stringify(VALID()).slice(0, n) }));
const names: fc.Arbitrary<Case> = fc
  .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))
  .map(([model, app]) => ({
    model: model === '' ? 'echo' : model,
    app: app.replace(/[^\x21-\x7e]/g, '') || undefined,
    body: JSON.stringify(VALID()),
  }));
const rawPaths: fc.Arbitrary<Case> = fc.stringMatching(/^[%A-Fa-f0-9._~-]{1,12}$/).map((model) => ({
  model,
  raw: true,
  app: 'a0',
  body: JSON.stringify(VALID()),
}));

const valid: fc.Arbitrary<Case> = fc
  .array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 4, maxLength: 4 })
  .map((data) => ({
    model: 'echo',
    app: 'a0',
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data }] }),
  }));

test('fuzz: 10,000+ random/mutated infer requests -> zero 5xx, zero crashes', async () => {
  const { gw, url } = await startGateway(baseConfig({ limits: { maxBodyBytes: 4096 } }));
  const pool = new Pool(url, { connections: 16 });
  const cases = fc.sample(
    fc.oneof(mutated, mutated, numbers, badDeadline, rawJson, rawText, truncated, names, rawPaths, valid),
    {
      numRuns: 10_500,
      seed: 20261123,
    },
  );
  const statuses = new Map<number, number>();
  const bad: string[] = [];
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const c = cases[next++];
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (c.app) headers['x-hetserve-app'] = c.app;
        const r = await pool.request({
          path: `/v2/models/${c.raw ? c.model : encodeURIComponent(c.model)}/infer`,
          method: 'POST',
          headers,
          body: c.body,
        });
        const text = await r.body.text();
        statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
        if (r.statusCode >= 500) bad.push(`${r.statusCode} ${c.body.slice(0, 120)} -> ${text.slice(0, 200)}`);
        else if (r.statusCode !== 200) {
          const p = JSON.parse(text) as { code?: string; field?: string };
          if (typeof p.code !== 'string' || typeof p.field !== 'string')
            bad.push(`no problem body: ${text.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    assert.deepEqual(bad.slice(0, 5), []);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.ok(total >= 10_000);
    assert.ok((statuses.get(200) ?? 0) > 500, `valid requests answered: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(400) ?? 0) > 3000, `invalid requests refused: ${JSON.stringify([...statuses])}`);
    const live = await fetch(`${url}/v2/health/live`);
    assert.equal(live.status, 200);
  } finally {
    await pool.close();
    await gw.close();
  }
});

// ── hostile traffic (src/serve/hostile.ts) ─────────────────────────────────────────────────────

/** `[[[...0...]]]` (or `{"a":{"a":...}}`) nested `depth` levels, as text (never built as a value). */
function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? '['.repeat(depth) + '0' + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);
}

const DEEP_FIELDS: [string, (v: string) => string][] = [
  ['inputs', (v) => `{"parameters":{"app":"a0"},"inputs":${v}}`],
  ['shape', (v) => `{"inputs":[{"name":"x","datatype":"FP32","shape":${v},"data":[1,2,3,4]}]}`],
  ['data', (v) => `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":${v}}]}`],
  ['name', (v) => `{"inputs":[{"name":${v},"datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}`],
  ['datatype', (v) => `{"inputs":[{"name":"x","datatype":${v},"shape":[1,4],"data":[1,2,3,4]}]}`],
  ['id', (v) => `{"id":${v},"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}`],
  ['app', (v) => `{"parameters":{"app":${v}},"inputs":[]}`],
  ['deadline_ms', (v) => `{"parameters":{"deadline_ms":${v}},"inputs":[]}`],
  ['priority', (v) => `{"parameters":{"priority":${v}},"inputs":[]}`],
];

test('deep JSON: 100,000 levels in any field -> 400 E_JSON_TOO_DEEP naming the limit; 20 levels are judged as usual', async () => {
  const { gw, url } = await startGateway(baseConfig({ limits: { maxJsonDepth: 24 } }));
  try {
    for (const [field, wrap] of DEEP_FIELDS)
      for (const kind of ['array', 'object'] as const) {
        const r = await post(`${url}/v2/models/echo/infer`, wrap(nested(100_000, kind)), {
          'x-hetserve-app': 'a0',
        });
        assert.equal(r.status, 400, `${field}/${kind}: ${JSON.stringify(r.json).slice(0, 200)}`);
        assert.equal(r.json.code, 'E_JSON_TOO_DEEP');
        assert.match(r.json.detail, /more than 24 levels \(limits\.maxJsonDepth\)/);
        // Shallow enough to parse: refused by the validator (a 400 of another code), never a 500.
        const s = await post(`${url}/v2/models/echo/infer`, wrap(nested(15, kind)), {
          'x-hetserve-app': 'a0',
        });
        assert.equal(s.status, 400, `${field}/${kind} shallow: ${JSON.stringify(s.json).slice(0, 200)}`);
        assert.notEqual(s.json.code, 'E_JSON_TOO_DEEP');
        assert.equal(typeof s.json.field, 'string');
      }
    // Brackets inside strings do not count.
    const ok = await post(
      `${url}/v2/models/echo/infer`,
      inferBody([1, 2, 3, 4], 'a0', { id: '['.repeat(500) }),
    );
    assert.equal(ok.status, 200);
  } finally {
    await gw.close();
  }
});

test('error formatting never throws: deep, cyclic, huge and odd values', () => {
  let deep: unknown = 0;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  const huge = 'x'.repeat(5_000_000);
  for (const v of [deep, cyclic, huge, 10n, Infinity, -Infinity, NaN, Symbol('s'), () => 1, undefined]) {
    const s = formatValue(v);
    assert.equal(typeof s, 'string');
    assert.ok(s.length <= 120, s.slice(0, 50));
    const e = badField('E_TENSOR_INVALID', 'f', v, 'bad');
    assert.match(e.message, /^f: bad \(got .+\)$/s);
    // A coded error naming the field, whatever the value.
    assert.throws(
      () => parseWith(z.object({ n: z.boolean() }), { n: v }, 'E_INVALID_INPUT', 'cfg'),
      (x: HetserveError) => x.code === 'E_INVALID_INPUT' && x.details['field'] === 'cfg.n',
    );
  }
  assert.equal(formatValue(Infinity), 'Infinity');
});

test('numbers outside the datatype range: 400 naming the field and the value', async () => {
  const { gw, url } = await startGateway();
  try {
    const send = (data: string, datatype = 'FP32') =>
      post(
        `${url}/v2/models/echo/infer`,
        `{"parameters":{"app":"a0"},"inputs":[{"name":"x","datatype":"${datatype}","shape":[1,4],"data":${data}}]}`,
      );
    const cases: [string, string, RegExp][] = [
      ['[1e39,0,0,0]', 'inputs[0].data[0]', /outside the range of FP32.*got 1e\+39/],
      ['[0,-3.5e38,0,0]', 'inputs[0].data[1]', /outside the range of FP32.*got -3\.5e\+38/],
      ['[0,0,1e999,0]', 'inputs[0].data[2]', /overflows to Infinity.*got Infinity/],
      ['[0,0,0,-1e999]', 'inputs[0].data[3]', /overflows to -Infinity.*got -Infinity/],
    ];
    for (const [data, field, detail] of cases) {
      const r = await send(data);
      assert.equal(r.status, 400, data);
      assert.equal(r.json.field, field);
      assert.match(r.json.detail, detail);
      assert.doesNotMatch(r.json.detail, /got null/);
    }
    // The largest float32 itself is in range and comes back unchanged.
    const max = await send('[3.4028234663852886e38,0,0,0]');
    assert.equal(max.status, 200, JSON.stringify(max.json));
    assert.equal(max.json.outputs[0].data[0], 3.4028234663852886e38);
  } finally {
    await gw.close();
  }
});

test('wrong methods: 405 with Allow on every route; unknown paths stay 404', async () => {
  const { gw, url } = await startGateway();
  try {
    const routes: [string, string[], string][] = [
      ['/v2/models/echo/infer', ['PUT', 'DELETE', 'PATCH', 'GET', 'OPTIONS'], 'POST'],
      ['/v2/models/echo/versions/1/infer', ['PUT', 'GET'], 'POST'],
      ['/admin/plan', ['GET', 'DELETE'], 'POST'],
      ['/metrics', ['POST', 'PUT'], 'GET, HEAD'],
      ['/v2/health/ready', ['POST', 'DELETE'], 'GET, HEAD'],
      ['/v2/models/echo', ['POST', 'PATCH'], 'GET, HEAD'],
    ];
    for (const [path, methods, allow] of routes)
      for (const method of methods) {
        const r = await fetch(url + path, { method, ...(method === 'GET' ? {} : { body: '{}' }) });
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
        const p = (await r.json()) as { code: string; field: string; value: string };
        assert.deepEqual([p.code, p.field, p.value], ['E_METHOD_NOT_ALLOWED', 'method', method]);
      }
    const none = await fetch(`${url}/nowhere`, { method: 'PUT', body: '{}' });
    assert.equal(none.status, 404);
  } finally {
    await gw.close();
  }
});

/**
 * A raw client: writes `parts` with `gapMs` between them, returns what the server sent and whether
 * the server closed the connection (rather than this client's own 20 s safety net).
 */
function rawClient(
  url: string,
  parts: string[],
  gapMs: number,
  opts: { halfClose?: boolean } = {},
): Promise<{ text: string; closedByServer: boolean }> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    let guardFired = false;
    const s = connect(Number(port), '127.0.0.1');
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearInterval(timer);
      resolve({ text, closedByServer: !guardFired });
    });
    let i = 0;
    const timer = setInterval(() => {
      if (s.destroyed) return;
      if (i < parts.length) s.write(parts[i++]);
      else if (opts.halfClose) s.end();
    }, gapMs);
    // Safety net for the test itself: a server that never closes fails the assertions below.
    setTimeout(() => {
      guardFired = true;
      s.destroy();
    }, 20_000).unref();
  });
}

test('slow and truncated requests: closed by the header, body-idle and request timeouts, never a 5xx', async () => {
  const limits = { headersTimeoutMs: 400, requestTimeoutMs: 1500, bodyIdleTimeoutMs: 300 };
  const { gw, url } = await startGateway(baseConfig({ limits }));
  const body = inferBody([1, 2, 3, 4], 'a0');
  const head = (len: number) =>
    `POST /v2/models/echo/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${len}\r\n`;
  try {
    // Slowloris: headers never finish (one header line every 100 ms).
    const slowHeaders = await rawClient(
      url,
      Array.from({ length: 100 }, (_, i) => `x-h${i}: 1\r\n`),
      100,
    );
    assert.ok(slowHeaders.closedByServer, 'headers: the server closed the connection');
    assert.doesNotMatch(slowHeaders.text, /HTTP\/1\.1 5\d\d/);
    // A body that stops arriving: 408 naming the limit, then the connection closes.
    const stalled = await rawClient(url, [head(body.length) + '\r\n' + body.slice(0, 10)], 10);
    assert.match(stalled.text, /^HTTP\/1\.1 408/, JSON.stringify(stalled));
    assert.match(stalled.text, /E_REQUEST_TIMEOUT/);
    assert.match(stalled.text, /limits\.bodyIdleTimeoutMs/);
    assert.ok(stalled.closedByServer, 'stalled: the server closed the connection');
    // A body that trickles (one byte per 150 ms, under the idle limit) is cut by the request timeout.
    const trickle = await rawClient(url, [head(body.length) + '\r\n', ...body.split('')], 150);
    assert.ok(trickle.closedByServer, 'trickle: the server closed the connection');
    assert.doesNotMatch(trickle.text, /HTTP\/1\.1 (200|5\d\d)/);
    // Truncated: the client sends half of the declared body and closes its side.
    const truncated = await rawClient(url, [head(body.length) + '\r\n' + body.slice(0, 20)], 10, {
      halfClose: true,
    });
    assert.doesNotMatch(truncated.text, /HTTP\/1\.1 5\d\d/);
    assert.ok(truncated.closedByServer, 'truncated: the server closed the connection');
    // The gateway still serves.
    const ok = await post(`${url}/v2/models/echo/infer`, body);
    assert.equal(ok.status, 200);
  } finally {
    await gw.close();
  }
});

test('timeouts are configurable and checked: headersTimeoutMs above requestTimeoutMs is refused', () => {
  assert.throws(
    () => parseServeConfig(baseConfig({ limits: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } })),
    (e: HetserveError) =>
      e.code === 'E_CONFIG_INVALID' && e.details['field'] === 'config.limits.headersTimeoutMs',
  );
  const c = parseServeConfig(baseConfig());
  assert.deepEqual(
    [c.limits.headersTimeoutMs, c.limits.requestTimeoutMs, c.limits.bodyIdleTimeoutMs, c.limits.maxJsonDepth],
    [10_000, 30_000, 5_000, 32],
  );
});

test('concurrent flood on a slow backend: only 200, 429, 503 or 504, nothing left in flight', async () => {
  const { gw, url } = await startGateway(
    baseConfig({
      serving: { mode: 'serverless', backend: { type: 'replay', latency: 20 } },
      limits: { maxQueue: 64 },
    }),
  );
  const pool = new Pool(url, { connections: 200 });
  const statuses = new Map<number, number>();
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 2000) {
        const app = `a${next++ % 4}`;
        const r = await pool.request({
          path: '/v2/models/echo/infer',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hetserve-app': app },
          body: inferBody([next, 1, 2, 3]),
        });
        await r.body.text();
        statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 200 }, worker));
    const seen = [...statuses.keys()];
    assert.ok(
      seen.every((s) => [200, 429, 503, 504].includes(s)),
      JSON.stringify([...statuses]),
    );
    assert.ok((statuses.get(200) ?? 0) > 0);
    assert.equal(
      [...statuses.values()].reduce((a, b) => a + b, 0),
      2000,
    );
    assert.equal(gw.serverless('echo').queued, 0);
  } finally {
    await pool.close();
    await gw.close();
  }
});
