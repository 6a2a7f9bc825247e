import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointName, oipInputs, profileHttp, requestBody } from '../../src/profile/http-runner.ts';
import { APPS, baseConfig, handPlan, startGateway } from '../helpers/serve.ts';
import { buildClusterProfile, buildGpuProfile } from '../../src/profile/build.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { medianOf, withoutOutlierSamples } from '../helpers/robust.ts';

const isCode = (code: string) => (e: unknown) => e instanceof HetserveError && e.code === code;
const dir = mkdtempSync(join(tmpdir(), 'hetserve-http-'));

/** Server latency model: a fixed 20 ms plus 10 ms per sample, like the whole-GPU line ξ1·b + ξ2. */
const XI1 = 0.01;
const XI2 = 0.02;
const bodies: unknown[] = [];
let inFlight = 0;
let maxInFlight = 0;

/** Model metadata the fake server answers GETs with (OIP: GET /v2/models/<name>). */
const METADATA: Record<string, unknown> = {
  '/v2/models/dyn': { name: 'dyn', inputs: [{ name: 'seq', datatype: 'FP32', shape: [-1, -1, 3] }] },
  '/v2/models/text': { name: 'text', inputs: [{ name: 'prompt', datatype: 'BYTES', shape: [-1, 1] }] },
};

async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET') {
    const meta = METADATA[req.url ?? ''];
    if (meta) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(meta));
    else res.writeHead(404).end('not found');
    return;
  }
  let text = '';
  for await (const chunk of req) text += chunk;
  if (req.url === '/fail') {
    res.writeHead(500, { 'content-type': 'text/plain' }).end('model exploded');
    return;
  }
  let batch = 1;
  try {
    const body = JSON.parse(text) as { inputs?: Array<{ shape: number[] }>; n?: number };
    bodies.push(body);
    batch = body.inputs?.[0]?.shape[0] ?? body.n ?? 1;
  } catch {
    res.writeHead(400).end('bad json');
    return;
  }
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  await new Promise((r) => setTimeout(r, (XI1 * batch + XI2) * 1000));
  inFlight--;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outputs: [] }));
}

const server = createServer((req, res) => void handler(req, res));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => server.close());

test('OIP v2 bodies carry the batch in the shape and batch × ∏shape values', () => {
  const body = JSON.parse(
    requestBody({ url: base, batches: [3], inputShape: [2, 5], inputName: 'x' }, 3),
  ) as {
    inputs: Array<{ name: string; shape: number[]; datatype: string; data: number[] }>;
  };
  assert.equal(body.inputs[0]!.name, 'x');
  assert.deepEqual(body.inputs[0]!.shape, [3, 2, 5]);
  assert.equal(body.inputs[0]!.datatype, 'FP32');
  assert.equal(body.inputs[0]!.data.length, 30);
  const t = requestBody(
    { url: base, batches: [2], inputShape: [3], template: '{"n":{{batch}},"rows":{{rows}}}' },
    2,
  );
  const parsed = JSON.parse(t) as { n: number; rows: number[][] };
  assert.equal(parsed.n, 2);
  assert.deepEqual(
    parsed.rows.map((r) => r.length),
    [3, 3],
  );
  assert.equal(endpointName(new URL('http://h/v2/models/resnet/infer')), 'resnet');
  assert.equal(endpointName(new URL('http://h:81/predict')), 'h:81');
});

test('sweep over batch sizes recovers the server latency line and a valid cluster table', async () => {
  maxInFlight = 0;
  const sweep = await profileHttp({
    url: `${base}/v2/models/toy/infer`,
    batches: [1, 4, 8, 16],
    runs: 8,
    warmup: 1,
    concurrency: 2,
  });
  assert.equal(sweep.name, 'toy');
  assert.deepEqual(
    sweep.measurements.map((m) => [m.batch, m.samples.length]),
    [
      [1, 8],
      [4, 8],
      [8, 8],
      [16, 8],
    ],
  );
  assert.equal(maxInFlight, 2, 'concurrency 2 keeps two requests in flight');
  // Timers only ever fire late and the client adds overhead, more so on a loaded machine. So the
  // line is fitted to three independent sweeps with outlying samples dropped, and judged by the
  // median slope and intercept: one disturbed sweep does not decide, a wrong fit misses in all.
  const more = () => profileHttp({ url: `${base}/v2/models/toy/infer`, batches: [1, 4, 8, 16], runs: 8 });
  const sweeps = [sweep, await more(), await more()].map((sw) => withoutOutlierSamples(sw));
  const lines = sweeps.map((sw) => buildGpuProfile(sw).profile.gpu!);
  const xi1 = medianOf(lines.map((g) => g.xi1));
  const xi2 = medianOf(lines.map((g) => g.xi2));
  assert.ok(Math.abs(xi1 / XI1 - 1) < 0.3, `median slope ${xi1}, server ${XI1}`);
  assert.ok(xi2 >= XI2 * 0.8 && xi2 < XI2 + 0.05, `median intercept ${xi2}, server ${XI2}`);
  // The whole-GPU profile keeps the measured latencies: 7 per batch size (largest dropped), none
  // faster than the server's own sleep at that batch size (timers fire late, never early).
  const samples = buildGpuProfile(sweep).profile.samples!;
  assert.deepEqual(
    samples.map((x) => [x.kind, x.batch, x.latencyMs.length]),
    [
      ['gpu', 1, 7],
      ['gpu', 4, 7],
      ['gpu', 8, 7],
      ['gpu', 16, 7],
    ],
  );
  for (const x of samples)
    assert.ok(Math.min(...x.latencyMs) >= (XI1 * x.batch + XI2) * 1000 - 1, `${x.batch}: ${x.latencyMs}`);
  // The cluster table's means, judged like the line: b=16 is 150 ms slower than b=1 at the server;
  // half of that must survive the client's noise in the median of the three sweeps.
  const means = sweeps.map(
    (sw) => buildClusterProfile(sw, { instance: 'toy-server' }).instances['toy-server']!.meanMs!,
  );
  const rise = medianOf(means.map((m) => m.at(-1)! - m[0]!));
  assert.ok(rise > 0.5 * XI1 * 15 * 1000, `means grow with batch: ${JSON.stringify(means)}`);
});

test('the hook runs before every configuration with HETSERVE_VCPU and HETSERVE_BATCH', async () => {
  const log = join(dir, 'hook.log');
  const template = '{"n":{{batch}},"data":{{data}}}';
  bodies.length = 0;
  const sweep = await profileHttp({
    url: `${base}/fn`,
    batches: [2, 1],
    vcpus: [0.5, 2],
    runs: 2,
    warmup: 0,
    template,
    inputShape: [3],
    hook: `echo "$HETSERVE_VCPU $HETSERVE_BATCH" >> ${JSON.stringify(log)}`,
  });
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['0.5 1', '0.5 2', '2 1', '2 2']);
  assert.deepEqual(
    sweep.measurements.map((m) => [m.vcpu, m.batch]),
    [
      [0.5, 1],
      [0.5, 2],
      [2, 1],
      [2, 2],
    ],
  );
  const sizes = (bodies as Array<{ n: number; data: number[] }>).map((b) => [b.n, b.data.length]);
  assert.deepEqual(sizes[0], [1, 3]);
  assert.deepEqual(sizes[2], [2, 6]);
});

test('unreachable URL, non-200 replies, failing hooks and bad options are coded errors', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  await assert.rejects(
    profileHttp({ url: `http://127.0.0.1:${deadPort}/v2/models/m/infer`, batches: [1], runs: 1, warmup: 0 }),
    (e: unknown) => isCode('E_ENDPOINT_UNREACHABLE')(e) && /ECONNREFUSED/.test((e as Error).message),
  );
  await assert.rejects(
    profileHttp({ url: `${base}/fail`, batches: [1], runs: 1, warmup: 0 }),
    (e: unknown) =>
      isCode('E_ENDPOINT_STATUS')(e) &&
      (e as HetserveError).details['status'] === 500 &&
      /model exploded/.test((e as Error).message),
  );
  await assert.rejects(
    profileHttp({ url: `${base}/x`, batches: [1], runs: 1, warmup: 0, hook: 'echo nope >&2; exit 3' }),
    (e: unknown) => isCode('E_HOOK_FAILED')(e) && /nope/.test((e as Error).message),
  );
  await assert.rejects(profileHttp({ url: 'ftp://x/y', batches: [1] }), isCode('E_INVALID_OPTION'));
  await assert.rejects(profileHttp({ url: 'not a url', batches: [1] }), isCode('E_INVALID_OPTION'));
  await assert.rejects(profileHttp({ url: base, batches: [0] }), isCode('E_INVALID_OPTION'));
  await assert.rejects(profileHttp({ url: base, batches: [1], concurrency: 0 }), isCode('E_INVALID_OPTION'));
});

test("an OIP endpoint's metadata says what to send: every input with its datatype and per-sample shape (the gateway as the endpoint)", async () => {
  const inputs = [
    { name: 'x', datatype: 'FP32' as const, shape: [3] },
    { name: 'ids', datatype: 'INT64' as const, shape: [2] },
    { name: 'mask', datatype: 'BOOL' as const, shape: [2] },
  ];
  const cfg = baseConfig({ models: [{ name: 'echo', profile: 'VGG19', defaultApp: 'a3', inputs }] });
  const { gw, url } = await startGateway(cfg, {
    planFn: () => handPlan([{ apps: APPS.map((a) => a.name), batchSize: 4, timeout: 0.002 }]),
  });
  try {
    const found = await oipInputs(`${url}/v2/models/echo/infer`);
    assert.deepEqual(found, { inputs, metadataUrl: `${url}/v2/models/echo` });
    // The body made from them: each input at [batch, ...shape], values of its datatype.
    const body = JSON.parse(requestBody({ url, batches: [2], inputs }, 2)) as {
      inputs: { name: string; shape: number[]; data: unknown[] }[];
    };
    assert.deepEqual(
      body.inputs.map((i) => [i.name, i.shape, i.data.length]),
      [
        ['x', [2, 3], 6],
        ['ids', [2, 2], 4],
        ['mask', [2, 2], 4],
      ],
    );
    assert.ok(body.inputs[1]!.data.every((v) => Number.isInteger(v)));
    assert.ok(body.inputs[2]!.data.every((v) => typeof v === 'boolean'));
    // The gateway accepts that body at every batch size.
    const sweep = await profileHttp({
      url: `${url}/v2/models/echo/infer`,
      batches: [1, 3],
      runs: 2,
      warmup: 0,
      inputs,
    });
    assert.deepEqual(
      sweep.measurements.map((m) => [m.batch, m.samples.length]),
      [
        [1, 2],
        [3, 2],
      ],
    );
    assert.ok(
      sweep.notes.includes('inputs: x FP32 [batch, 3]; ids INT64 [batch, 2]; mask BOOL [batch, 2]'),
      sweep.notes.join(' | '),
    );
    // Not an OIP infer URL, or no such model: nothing found (the caller keeps its defaults).
    assert.equal(await oipInputs(`${url}/metrics`), undefined);
    assert.equal(await oipInputs(`${url}/v2/models/nope/infer`), undefined);
  } finally {
    await gw.close();
  }
  // What cannot be generated is said, with what to pass instead.
  await assert.rejects(
    oipInputs(`${base}/v2/models/dyn/infer`),
    (e: unknown) => isCode('E_INVALID_OPTION')(e) && /--input-shape or --template/.test((e as Error).message),
  );
  const text = await oipInputs(`${base}/v2/models/text/infer`);
  await assert.rejects(
    profileHttp({ url: `${base}/v2/models/text/infer`, batches: [1], inputs: text!.inputs }),
    (e: unknown) => isCode('E_INVALID_OPTION')(e) && /--template/.test((e as Error).message),
  );
});
