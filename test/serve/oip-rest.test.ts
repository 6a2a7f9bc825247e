/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are checked by assertions */
/**
 * The REST endpoint as Triton and KServe clients use it: the binary tensor extension both ways,
 * BYTES tensors, `error` bodies, the default application, model config, statistics, repository
 * index, versions, compressed bodies, the `timeout` parameter, classification and per-status
 * metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gunzipSync, gzipSync, inflateSync, deflateSync } from 'node:zlib';
import { decodeBytesElements, encodeBytesElements } from '../../src/serve/oip/binary.ts';
import {
  APPS,
  baseConfig,
  handPlan,
  inferBody,
  post,
  startGateway,
  twoInputsConfig,
} from '../helpers/serve.ts';
import type { ServeConfigInput } from '../../src/model/serve-config.ts';

/** A model with two inputs (FP32 [4], INT64 [3]); replay echoes them as its outputs. */
function twoInputs(over: Partial<ServeConfigInput> = {}): ServeConfigInput {
  return twoInputsConfig('a0', over);
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** POST with node:http (no automatic Accept-Encoding or decompression). */
function rawPost(
  url: string,
  body: Buffer | string,
  headers: Record<string, string | number> = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const r = request(
      url,
      { method: 'POST', headers: { 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

/** Split a binary-extension response into its JSON header and the raw bytes per output. */
function splitResponse(r: Raw): { json: any; raw: Record<string, Buffer> } {
  const n = Number(r.headers['inference-header-content-length']);
  assert.ok(Number.isInteger(n), 'Inference-Header-Content-Length is set');
  const json = JSON.parse(r.body.subarray(0, n).toString());
  const raw: Record<string, Buffer> = {};
  let at = n;
  for (const o of json.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    raw[o.name] = r.body.subarray(at, at + size);
    at += size;
  }
  assert.equal(at, r.body.length, 'binary outputs fill the rest of the body');
  return { json, raw };
}

const f32 = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer);
const i64 = (xs: number[]) => Buffer.from(new BigInt64Array(xs.map(BigInt)).buffer);

test('binary tensors both ways, mixed with JSON ones, per output and per request', async () => {
  const { gw, url } = await startGateway(twoInputs());
  const infer = `${url}/v2/models/echo/infer`;
  try {
    // x in binary, ids in JSON; all outputs binary (what tritonclient sends by default).
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [2, 4], parameters: { binary_data_size: 32 } },
          {
            name: 'ids',
            datatype: 'INT64',
            shape: [2, 3],
            data: [
              [1, 2, 3],
              [4, 5, 6],
            ],
          },
        ],
        parameters: { binary_data_output: true },
      }),
    );
    const r = await rawPost(infer, Buffer.concat([header, f32([1, 2, 3, 4, 5, 6, 7, 8.5])]), {
      'inference-header-content-length': header.length,
    });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    const { json, raw } = splitResponse(r);
    assert.deepEqual(
      json.outputs.map((o: any) => [o.name, o.datatype, o.shape, o.parameters.binary_data_size]),
      [
        ['x', 'FP32', [2, 4], 32],
        ['ids', 'INT64', [2, 3], 48],
      ],
    );
    assert.deepEqual([...new Float32Array(new Uint8Array(raw['x']).buffer)], [1, 2, 3, 4, 5, 6, 7, 8.5]);
    assert.deepEqual(
      [...new BigInt64Array(new Uint8Array(raw['ids']).buffer)].map(Number),
      [1, 2, 3, 4, 5, 6],
    );

    // ids in binary, x in JSON; outputs chosen one by one: ids as JSON, x in binary.
    const h2 = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 4], data: [9, 8, 7, 6] },
          { name: 'ids', datatype: 'INT64', shape: [1, 3], parameters: { binary_data_size: 24 } },
        ],
        outputs: [
          { name: 'ids', parameters: { binary_data: false } },
          { name: 'x', parameters: { binary_data: true } },
        ],
      }),
    );
    const r2 = await rawPost(infer, Buffer.concat([h2, i64([-5, 0, 2 ** 40])]), {
      'inference-header-content-length': h2.length,
    });
    assert.equal(r2.status, 200, r2.body.toString());
    const s2 = splitResponse(r2);
    assert.deepEqual(s2.json.outputs[0], {
      name: 'ids',
      datatype: 'INT64',
      shape: [1, 3],
      data: [-5, 0, 2 ** 40],
    });
    assert.deepEqual([...new Float32Array(new Uint8Array(s2.raw['x']).buffer)], [9, 8, 7, 6]);

    // A size that does not fit the data left, and bytes nobody claims: 400 naming the field.
    const bad = await rawPost(infer, Buffer.concat([header, f32([1, 2, 3])]), {
      'inference-header-content-length': header.length,
    });
    assert.equal(bad.status, 400);
    const badJson = JSON.parse(bad.body.toString());
    assert.equal(badJson.field, 'inputs[0].parameters.binary_data_size');
    assert.match(badJson.error, /binary_data_size/);
    const extra = await rawPost(infer, Buffer.concat([header, f32([1, 2, 3, 4, 5, 6, 7, 8, 9])]), {
      'inference-header-content-length': header.length,
    });
    assert.equal(extra.status, 400);
    assert.match(JSON.parse(extra.body.toString()).error, /no input's binary_data_size claims/);
  } finally {
    await gw.close();
  }
});

test('BYTES elements round-trip; classification answers top-K "value:index" as BYTES, in JSON and binary', async () => {
  const values = ['', 'héllo', 'x'.repeat(300)];
  assert.deepEqual(decodeBytesElements(encodeBytesElements(values), 'b'), values);
  const { gw, url } = await startGateway(twoInputs());
  const infer = `${url}/v2/models/echo/infer`;
  const body = (binary: boolean) =>
    JSON.stringify({
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [2, 4], data: [0.1, 0.9, 0.5, 0.3, 4, 3, 2, 1] },
        { name: 'ids', datatype: 'INT64', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      ],
      outputs: [{ name: 'x', parameters: { classification: 2, binary_data: binary } }],
    });
  try {
    const j = await post(infer, body(false));
    assert.equal(j.status, 200, JSON.stringify(j.json));
    assert.deepEqual(j.json.outputs, [
      {
        name: 'x',
        datatype: 'BYTES',
        shape: [2, 2],
        data: ['0.900000:1', '0.500000:2', '4.000000:0', '3.000000:1'],
      },
    ]);
    const b = await rawPost(infer, body(true));
    const { raw } = splitResponse(b);
    assert.deepEqual(decodeBytesElements(raw['x'], 'x'), [
      '0.900000:1',
      '0.500000:2',
      '4.000000:0',
      '3.000000:1',
    ]);
    const bad = await post(
      infer,
      JSON.stringify({
        ...JSON.parse(body(false)),
        outputs: [{ name: 'x', parameters: { classification: -1 } }],
      }),
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, 'outputs[0].parameters.classification');
  } finally {
    await gw.close();
  }
});

test('errors carry the protocol `error` field; no app and no default is a 400 saying how to name one', async () => {
  const { gw, url } = await startGateway();
  try {
    const r = await post(`${url}/v2/models/echo/infer`, inferBody());
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'E_APP_REQUIRED');
    assert.match(r.json.error, /parameters\.app/);
    assert.match(r.json.error, /x-hetserve-app/);
    assert.match(r.json.error, /defaultApp/);
    const nope = await post(`${url}/v2/models/nope/infer`, inferBody([1, 2, 3, 4], 'a0'));
    assert.equal(nope.status, 404);
    assert.match(nope.json.error, /"nope" is not served/);
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(m, /hetserve_requests_total\{model="echo",app="_unknown",code="400"\} 1/);
    assert.match(m, /hetserve_requests_total\{model="_unknown",app="_unknown",code="404"\} 1/);
  } finally {
    await gw.close();
  }
});

test('models[].defaultApp serves requests that name no application; it must be an app of the model', async () => {
  const { gw, url } = await startGateway(twoInputs());
  try {
    const r = await post(
      `${url}/v2/models/echo/infer`,
      JSON.stringify({
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [4], data: [1, 2, 3, 4] },
          { name: 'ids', datatype: 'INT64', shape: [3], data: [1, 2, 3] },
        ],
      }),
    );
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.parameters.app, 'a0');
  } finally {
    await gw.close();
  }
  const { parseServeConfig } = await import('../../src/model/serve-config.ts');
  const cfg = twoInputs();
  (cfg.models[0] as { defaultApp?: string }).defaultApp = 'zz';
  assert.throws(() => parseServeConfig(cfg), /models\.0\.defaultApp.*not an application of model echo/s);
});

test('model config in Triton’s shape, statistics, repository index, versions', async () => {
  const { gw, url } = await startGateway(twoInputs(), {
    planFn: () =>
      handPlan([
        { apps: ['a0', 'a1'], batchSize: 4, timeout: 0.005 },
        { apps: ['a2', 'a3'], batchSize: 2, timeout: 0.02 },
      ]),
  });
  const get = async (p: string) => {
    const r = await fetch(url + p);
    return { status: r.status, json: (await r.json()) as any };
  };
  try {
    const c = await get('/v2/models/echo/config');
    assert.equal(c.status, 200);
    assert.equal(c.json.max_batch_size, 64);
    assert.deepEqual(c.json.input[1], {
      name: 'ids',
      data_type: 'TYPE_INT64',
      format: 'FORMAT_NONE',
      dims: [3],
    });
    assert.deepEqual(c.json.dynamic_batching, {
      preferred_batch_size: [2, 4],
      max_queue_delay_microseconds: 20000,
    });
    assert.equal((await get('/v2/models/echo/versions/1/config')).status, 200);
    // statistics before and after 3 requests (one carries 2 samples)
    const s0 = await get('/v2/models/stats');
    assert.equal(s0.status, 200);
    assert.equal(s0.json.model_stats[0].inference_stats.success.count, 0);
    const one = (rows: number) =>
      post(
        `${url}/v2/models/echo/infer`,
        JSON.stringify({
          inputs: [
            { name: 'x', datatype: 'FP32', shape: [rows, 4], data: Array(rows * 4).fill(1) },
            { name: 'ids', datatype: 'INT64', shape: [rows, 3], data: Array(rows * 3).fill(2) },
          ],
        }),
      );
    for (const rows of [1, 1, 2]) assert.equal((await one(rows)).status, 200);
    const s = (await get('/v2/models/echo/stats')).json.model_stats[0];
    assert.equal(s.name, 'echo');
    assert.equal(s.version, '1');
    assert.equal(s.inference_stats.success.count, 4, 'one per sample');
    assert.ok(s.inference_stats.success.ns > 0);
    assert.equal(s.inference_stats.queue.count, 4);
    assert.equal(s.inference_count, 4);
    assert.equal(
      s.batch_stats.reduce((n: number, b: any) => n + b.batch_size * b.compute_infer.count, 0),
      4,
      'samples over batch sizes',
    );
    assert.equal(
      s.execution_count,
      s.batch_stats.reduce((n: number, b: any) => n + b.compute_infer.count, 0),
    );
    assert.ok(s.last_inference > 0);
    assert.deepEqual((await get('/v2/models/echo/versions/1/stats')).json.model_stats[0].name, 'echo');
    // repository index
    const idx = await post(`${url}/v2/repository/index`, '{}');
    assert.deepEqual(idx.json, [{ name: 'echo', version: '1', state: 'READY' }]);
    // unknown versions: 404 everywhere
    for (const p of [
      '/v2/models/echo/versions/2',
      '/v2/models/echo/versions/2/config',
      '/v2/models/echo/versions/2/stats',
    ]) {
      const r = await get(p);
      assert.equal(r.status, 404, p);
      assert.match(r.json.error, /no version "2"/);
    }
    const v2 = await post(`${url}/v2/models/echo/versions/2/infer`, inferBody());
    assert.equal(v2.status, 404);
    assert.equal(v2.json.field, 'version');
    const meta = await get('/v2');
    assert.ok(meta.json.extensions.includes('binary_tensor_data'));
    assert.ok(meta.json.extensions.includes('statistics'));
  } finally {
    await gw.close();
  }
});

test('gzip and deflate request bodies; Accept-Encoding compresses the answer', async () => {
  const { gw, url } = await startGateway();
  const infer = `${url}/v2/models/echo/infer`;
  try {
    // 64 samples: an answer over 1 KiB (smaller ones are never compressed).
    const xs = Array.from({ length: 256 }, (_, i) => i + 0.125);
    const body = JSON.stringify({
      parameters: { app: 'a0' },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [64, 4], data: xs }],
    });
    const g = await rawPost(infer, gzipSync(body), { 'content-encoding': 'gzip', 'accept-encoding': 'gzip' });
    assert.equal(g.status, 200, g.body.toString());
    assert.equal(g.headers['content-encoding'], 'gzip');
    assert.deepEqual(JSON.parse(gunzipSync(g.body).toString()).outputs[0].data, xs);
    const d = await rawPost(infer, deflateSync(body), {
      'content-encoding': 'deflate',
      'accept-encoding': 'deflate',
    });
    assert.equal(d.status, 200);
    assert.equal(d.headers['content-encoding'], 'deflate');
    assert.deepEqual(JSON.parse(inflateSync(d.body).toString()).outputs[0].data, xs);
    const plain = await rawPost(infer, body);
    assert.equal(plain.headers['content-encoding'], undefined);
    const small = await rawPost(infer, inferBody([1, 2, 3, 4], 'a0'), { 'accept-encoding': 'gzip' });
    assert.equal(small.status, 200);
    assert.equal(small.headers['content-encoding'], undefined, 'an answer under 1 KiB is not compressed');
    assert.deepEqual(JSON.parse(small.body.toString()).outputs[0].data, [1, 2, 3, 4]);
    const br = await rawPost(infer, body, { 'content-encoding': 'br' });
    assert.equal(br.status, 400);
    assert.equal(JSON.parse(br.body.toString()).field, 'content-encoding');
    const broken = await rawPost(infer, Buffer.from('not gzip'), { 'content-encoding': 'gzip' });
    assert.equal(broken.status, 400);
  } finally {
    await gw.close();
  }
});

test('Triton’s timeout parameter (µs) is the request’s deadline', async () => {
  // The backend takes 2 s and a3 may wait 5 x 1 s; the 504 names the deadline it was held to.
  const cfg = baseConfig({
    serving: { mode: 'serverless', backend: { type: 'replay', latency: 2000 } },
    limits: { hardDeadlineFactor: 5 },
  });
  const { gw, url } = await startGateway(cfg, {
    planFn: () => handPlan([{ apps: APPS.map((a) => a.name), batchSize: 1, timeout: 0.001 }]),
  });
  const send = (timeout: unknown) =>
    post(
      `${url}/v2/models/echo/infer`,
      inferBody([1, 2, 3, 4], 'a3', { parameters: { app: 'a3', timeout } }),
    );
  try {
    const r = await send(30_000);
    assert.equal(r.status, 504, JSON.stringify(r.json));
    // The deadline the gateway held the request to is the 30 ms timeout, not the 5 x 1 s hard
    // deadline (the 504 states it), so no wall-clock threshold is needed.
    assert.equal(r.json.field, 'deadline', JSON.stringify(r.json));
    assert.equal(r.json.value, 0.03, JSON.stringify(r.json));
    const ok = await send(0);
    assert.equal(ok.status, 200, '0 µs = no timeout, as in Triton');
    const bad = await send(1.5);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, 'parameters.timeout');
  } finally {
    await gw.close();
  }
});
