/* eslint-disable @typescript-eslint/no-explicit-any -- protobuf messages are checked by assertions */
/**
 * The Open Inference Protocol over gRPC, driven by a client generated from the same .proto with
 * the grpc-js proto loader: health, metadata, ModelInfer with typed contents and raw contents,
 * the application from a parameter, metadata or the model's default, deadlines, status codes,
 * and the same statistics and metrics as REST.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, protoPath } from '../../src/serve/grpc/server.ts';
import { decodeBytesElements } from '../../src/serve/oip/binary.ts';
import type { ServeConfigInput } from '../../src/model/serve-config.ts';
import { APPS, baseConfig, handPlan, startGateway } from '../helpers/serve.ts';

function client(port: number): any {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath(), LOADER_OPTIONS)) as any;
  return new pkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

function call(
  c: any,
  method: string,
  req: unknown,
  opts: { metadata?: grpc.Metadata; deadlineMs?: number } = {},
) {
  return new Promise<any>((resolve, reject) => {
    const options = opts.deadlineMs !== undefined ? { deadline: Date.now() + opts.deadlineMs } : {};
    c[method](
      req,
      opts.metadata ?? new grpc.Metadata(),
      options,
      (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)),
    );
  });
}

function config(over: Partial<ServeConfigInput> = {}, defaultApp?: string): ServeConfigInput {
  return baseConfig({
    models: [
      {
        name: 'echo',
        profile: 'VGG19',
        ...(defaultApp ? { defaultApp } : {}),
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [4] },
          { name: 'ids', datatype: 'INT64', shape: [3] },
        ],
      },
    ],
    ...over,
  });
}

const f32 = (b: Buffer) => [...new Float32Array(new Uint8Array(b).buffer)];
const i64 = (b: Buffer) => [...new BigInt64Array(new Uint8Array(b).buffer)].map(Number);

test('gRPC health and metadata', async () => {
  const { gw, c } = await start(config());
  try {
    assert.deepEqual(await call(c, 'ServerLive', {}), { live: true });
    assert.deepEqual(await call(c, 'ServerReady', {}), { ready: true });
    assert.deepEqual(await call(c, 'ModelReady', { name: 'echo' }), { ready: true });
    const meta = await call(c, 'ServerMetadata', {});
    assert.equal(meta.name, 'hetserve');
    assert.ok(meta.extensions.includes('binary_tensor_data'));
    const m = await call(c, 'ModelMetadata', { name: 'echo', version: '1' });
    assert.deepEqual(m.versions, ['1']);
    assert.deepEqual(
      m.inputs.map((t: any) => [t.name, t.datatype, t.shape]),
      [
        ['x', 'FP32', [-1, 4]],
        ['ids', 'INT64', [-1, 3]],
      ],
    );
    await assert.rejects(call(c, 'ModelMetadata', { name: 'nope' }), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.NOT_FOUND);
      assert.match(e.details, /"nope" is not served/);
      return true;
    });
    await assert.rejects(call(c, 'ModelReady', { name: 'echo', version: '7' }), {
      code: grpc.status.NOT_FOUND,
    });
  } finally {
    c.close();
    await gw.close();
  }
});

async function start(cfg: ServeConfigInput, planTimeout = 0.005) {
  const { Gateway } = await import('../../src/serve/gateway.ts');
  const { parseServeConfig } = await import('../../src/model/serve-config.ts');
  const pino = (await import('pino')).default;
  const gw = new Gateway({
    config: parseServeConfig(cfg),
    logger: pino({ level: 'silent' }),
    planFn: () => handPlan([{ apps: APPS.map((a) => a.name), batchSize: 2, timeout: planTimeout }]),
  });
  const { url, grpcPort } = await gw.start();
  assert.ok(grpcPort !== undefined && grpcPort > 0, 'gRPC is on with an ephemeral port');
  return { gw, url, c: client(grpcPort) };
}

test('ModelInfer: typed contents and raw contents in, raw contents out, app from parameter or metadata', async () => {
  const { gw, url, c } = await start(config());
  try {
    const typed = await call(c, 'ModelInfer', {
      model_name: 'echo',
      id: 'r1',
      parameters: { app: { string_param: 'a1' } },
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: [1, 2, 3, 4, 5, 6, 7, 8] } },
        {
          name: 'ids',
          datatype: 'INT64',
          shape: [2, 3],
          contents: { int64_contents: [1, 2, 3, -4, 5, 2 ** 40] },
        },
      ],
    });
    assert.equal(typed.id, 'r1');
    assert.equal(typed.model_name, 'echo');
    assert.equal(typed.parameters.app.string_param, 'a1');
    assert.deepEqual(
      typed.outputs.map((o: any) => [o.name, o.datatype, o.shape]),
      [
        ['x', 'FP32', [2, 4]],
        ['ids', 'INT64', [2, 3]],
      ],
    );
    assert.deepEqual(f32(typed.raw_output_contents[0]), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(i64(typed.raw_output_contents[1]), [1, 2, 3, -4, 5, 2 ** 40]);

    const md = new grpc.Metadata();
    md.set('x-hetserve-app', 'a2');
    const raw = await call(
      c,
      'ModelInfer',
      {
        model_name: 'echo',
        model_version: '1',
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 4] },
          { name: 'ids', datatype: 'INT64', shape: [1, 3] },
        ],
        outputs: [{ name: 'x', parameters: { classification: { int64_param: 2 } } }, { name: 'ids' }],
        raw_input_contents: [
          Buffer.from(new Float32Array([0.5, 3, -1, 2]).buffer),
          Buffer.from(new BigInt64Array([7n, 8n, 9n]).buffer),
        ],
      },
      { metadata: md },
    );
    assert.equal(raw.parameters.app.string_param, 'a2');
    assert.deepEqual(
      raw.outputs.map((o: any) => [o.name, o.datatype, o.shape]),
      [
        ['x', 'BYTES', [1, 2]],
        ['ids', 'INT64', [1, 3]],
      ],
    );
    assert.deepEqual(decodeBytesElements(raw.raw_output_contents[0], 'x'), ['3.000000:1', '2.000000:3']);
    assert.deepEqual(i64(raw.raw_output_contents[1]), [7, 8, 9]);

    // Same statistics and metrics as REST.
    const stats = (await (await fetch(`${url}/v2/models/echo/stats`)).json()) as any;
    assert.equal(stats.model_stats[0].inference_stats.success.count, 3);
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(m, /hetserve_requests_total\{model="echo",app="a1",code="200"\} 2/);
    assert.match(m, /hetserve_requests_total\{model="echo",app="a2",code="200"\} 1/);
  } finally {
    c.close();
    await gw.close();
  }
});

test('ModelInfer errors are gRPC status codes with the message; no app without a default is INVALID_ARGUMENT', async () => {
  const { gw, url, c } = await start(config());
  const input = (over: Record<string, unknown> = {}) => ({
    model_name: 'echo',
    parameters: { app: { string_param: 'a0' } },
    inputs: [
      { name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
      { name: 'ids', datatype: 'INT64', shape: [1, 3], contents: { int64_contents: [1, 2, 3] } },
    ],
    ...over,
  });
  const expect = async (req: unknown, code: grpc.status, re: RegExp) =>
    assert.rejects(call(c, 'ModelInfer', req), (e: grpc.ServiceError) => {
      assert.equal(e.code, code, e.details);
      assert.match(e.details, re);
      return true;
    });
  try {
    await expect(
      input({ parameters: {} }),
      grpc.status.INVALID_ARGUMENT,
      /name one in the request's parameters\.app/,
    );
    await expect(input({ model_name: 'nope' }), grpc.status.NOT_FOUND, /not served/);
    await expect(input({ model_version: '3' }), grpc.status.NOT_FOUND, /no version "3"/);
    await expect(
      input({ parameters: { app: { string_param: 'zz' } } }),
      grpc.status.NOT_FOUND,
      /"zz" is not an application/,
    );
    await expect(
      input({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2] } }],
      }),
      grpc.status.INVALID_ARGUMENT,
      /inputs\[0\]\.data: expected 4 values/,
    );
    await expect(
      input({ raw_input_contents: [Buffer.alloc(3)] }),
      grpc.status.INVALID_ARGUMENT,
      /raw_input_contents/,
    );
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(m, /hetserve_requests_total\{model="echo",app="_unknown",code="400"\} 3/);
    assert.match(m, /hetserve_requests_total\{model="echo",app="_unknown",code="404"\} 2/);
  } finally {
    c.close();
    await gw.close();
  }
});

test('the gRPC deadline is the request’s deadline', async () => {
  // The backend takes 6 s and a3's own hard deadline is 1000 x 1 s: without the call's deadline the
  // request would end in a 200 after 6 s, so a 504 can only come from the call's deadline (no
  // wall-clock threshold needed).
  const cfg = config(
    {
      serving: { mode: 'serverless', backend: { type: 'replay', latency: 6000 } },
      limits: { hardDeadlineFactor: 1000 },
    },
    'a3',
  );
  const { gw, url, c } = await start(cfg, 0.001);
  try {
    await call(c, 'ServerLive', {}); // connected: the deadline below covers the call, not the connection
    const t0 = performance.now();
    await assert.rejects(call(c, 'ModelInfer', INFER, { deadlineMs: 200 }), {
      code: grpc.status.DEADLINE_EXCEEDED,
    });
    // The client gives up at its deadline by itself; the gateway must have too (its own 504). The
    // bound only keeps a broken gateway from hanging the run.
    let m = '';
    while (performance.now() - t0 < 30_000) {
      m = await (await fetch(`${url}/metrics`)).text();
      if (/app="a3",code="(504|200)"/.test(m)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(m, /hetserve_requests_total\{model="echo",app="a3",code="504"\} 1/);
    assert.doesNotMatch(m, /app="a3",code="200"/);
  } finally {
    c.close();
    await gw.close();
  }
});

test('a gRPC request naming no application gets the model’s defaultApp', async () => {
  const { gw, c } = await start(config({}, 'a3'));
  try {
    const ok = await call(c, 'ModelInfer', INFER);
    assert.equal(ok.parameters.app.string_param, 'a3');
  } finally {
    c.close();
    await gw.close();
  }
});

const INFER = {
  model_name: 'echo',
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
    { name: 'ids', datatype: 'INT64', shape: [1, 3], contents: { int64_contents: [1, 2, 3] } },
  ],
};

test('listen.grpcPort null turns gRPC off', async () => {
  const { gw } = await startGateway(config({ listen: { host: '127.0.0.1', port: 0, grpcPort: null } }));
  try {
    assert.equal((gw as any).grpcServer, undefined);
  } finally {
    await gw.close();
  }
});
