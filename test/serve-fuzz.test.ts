/**
 * Fuzz the infer endpoint with 10,000+ random and mutated requests (seeded fast-check samples):
 * no crash, no 5xx, every refusal a problem body; valid requests still answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pool } from 'undici';
import { baseConfig, startGateway } from './serve-helpers.ts';

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
