/**
 * One conformance suite every backend runs (replay, http, onnx): same inputs, same checks. Then
 * the backend-specific fault cases (killed / hung onnx worker, unreachable http endpoint).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend } from '../../src/serve/backends/types.ts';
import { ReplayBackend, HttpBackend, OnnxBackend } from '../../src/serve/backends/index.ts';
import { assembleBatch, splitBatch, type ModelIO } from '../../src/serve/tensors.ts';
import type { ModelConfig } from '../../src/model/serve-config.ts';
import { buildMlp } from '../../src/onnx/synthetic-models.ts';

const ECHO: ModelConfig = {
  name: 'm',
  profile: 'VGG19',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
};

function sample(io: ModelIO, seed: number): number[][] {
  return io.inputs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return Array.from({ length: n }, (_, j) => Math.fround(Math.sin(seed * 7.3 + j) * 2));
  });
}

function conformance(name: string, make: () => Promise<Backend>, tol: number): void {
  describe(`backend conformance: ${name}`, () => {
    let b: Backend;
    let io: ModelIO;
    before(async () => {
      b = await make();
      io = await b.start();
    });
    after(async () => {
      await b.close();
    });

    test('declares numeric inputs and outputs', () => {
      assert.ok(io.inputs.length >= 1 && io.outputs.length >= 1);
      for (const t of [...io.inputs, ...io.outputs])
        assert.ok(t.shape.every((d) => Number.isInteger(d) && d > 0));
    });

    test('a batch answers each sample as if it ran alone', async () => {
      const reqs = [1, 2, 3].map((s) => ({ samples: sample(io, s) }));
      const ctrl = new AbortController();
      const out = await b.infer({ inputs: assembleBatch(io, reqs), size: 3, signal: ctrl.signal });
      const per = splitBatch(io, out, 3);
      for (let i = 0; i < 3; i++) {
        const alone = splitBatch(
          io,
          await b.infer({ inputs: assembleBatch(io, [reqs[i]]), size: 1, signal: ctrl.signal }),
          1,
        )[0];
        for (let k = 0; k < io.outputs.length; k++) {
          const a = Array.from(per[i][k].data as ArrayLike<number>);
          const c = Array.from(alone[k].data as ArrayLike<number>);
          assert.equal(a.length, c.length);
          a.forEach((v, j) =>
            assert.ok(
              Math.abs(v - c[j]) <= tol * (1 + Math.abs(c[j])),
              `${name} sample ${i} output ${k}[${j}]: ${v} vs ${c[j]}`,
            ),
          );
        }
      }
    });

    test('an aborted batch rejects promptly', async () => {
      const ctrl = new AbortController();
      ctrl.abort(new Error('gone'));
      await assert.rejects(
        b.infer({ inputs: assembleBatch(io, [{ samples: sample(io, 9) }]), size: 1, signal: ctrl.signal }),
      );
    });
  });
}

conformance(
  'replay',
  async () =>
    new ReplayBackend({ type: 'replay', latency: 1, failRate: 0 }, { id: 'r', model: ECHO, baseDir: '.' }),
  0,
);

let echoServer: Server;
let echoUrl = '';
conformance(
  'http',
  async () => {
    // A minimal OIP endpoint: answers each input tensor as an output of the same name.
    echoServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const j = JSON.parse(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ model_name: 'm', outputs: j.inputs }));
      });
    });
    await new Promise<void>((r) => echoServer.listen(0, '127.0.0.1', () => r()));
    echoUrl = `http://127.0.0.1:${(echoServer.address() as AddressInfo).port}`;
    return new HttpBackend(
      { type: 'http', url: echoUrl, timeoutMs: 2000, retries: 1, headers: {} },
      { id: 'h', model: ECHO, baseDir: '.' },
    );
  },
  0,
);
after(() => echoServer?.close());

const MLP: ModelConfig = { name: 'mlp', profile: 'VGG19', source: { synthetic: 'mlp', seed: 1 } };
conformance(
  'onnx',
  async () =>
    new OnnxBackend({ type: 'onnx', workers: 1, threadsPerWorker: 1 }, { id: 'o', model: MLP, baseDir: '.' }),
  1e-4,
);

describe('onnx faults', () => {
  test('a killed worker fails its batch with E_BACKEND_FAILED and is replaced', async () => {
    const b = new OnnxBackend(
      { type: 'onnx', workers: 1, threadsPerWorker: 1 },
      { id: 'o2', model: MLP, baseDir: '.' },
    );
    const io = await b.start();
    try {
      const ctrl = new AbortController();
      const big = Array.from({ length: 64 }, (_, i) => ({ samples: sample(io, i) }));
      const p = b.infer({ inputs: assembleBatch(io, big), size: 64, signal: ctrl.signal });
      await b.killWorker(0);
      await assert.rejects(p, (e: Error & { code?: string }) => e.code === 'E_BACKEND_FAILED');
      const out = await b.infer({
        inputs: assembleBatch(io, [{ samples: sample(io, 1) }]),
        size: 1,
        signal: ctrl.signal,
      });
      assert.equal(out[0].shape[0], 1);
    } finally {
      await b.close();
    }
  });

  test('the onnx model matches an independent JS computation', async () => {
    const m = buildMlp({ seed: 1 });
    const b = new OnnxBackend(
      { type: 'onnx', workers: 1, threadsPerWorker: 1 },
      { id: 'o3', model: MLP, baseDir: '.' },
    );
    const io = await b.start();
    try {
      const x = sample(io, 3);
      const out = await b.infer({
        inputs: assembleBatch(io, [{ samples: x }]),
        size: 1,
        signal: new AbortController().signal,
      });
      // Forward pass in JS: (Gemm -> Relu) x layers -> Gemm, weights [in, out] row-major as built.
      let h = x[0];
      const w = m.weights;
      for (let l = 0; l < w.length; l += 2) {
        const W = w[l];
        const B = w[l + 1];
        const [nin, nout] = W.dims;
        const y = new Array<number>(nout).fill(0);
        for (let o = 0; o < nout; o++) {
          let s = B.data[o];
          for (let i = 0; i < nin; i++) s += h[i] * W.data[i * nout + o];
          y[o] = l + 2 < w.length ? Math.max(0, s) : s;
        }
        h = y;
      }
      const got = Array.from(out[0].data as Float32Array);
      h.forEach((v, j) =>
        assert.ok(Math.abs(v - got[j]) < 1e-3 * (1 + Math.abs(v)), `output[${j}] ${got[j]} vs ${v}`),
      );
    } finally {
      await b.close();
    }
  });
});

describe('http faults', () => {
  test('an unreachable endpoint fails with E_BACKEND_FAILED after its retries', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const b = new HttpBackend(
      { type: 'http', url: `http://127.0.0.1:${port}`, timeoutMs: 500, retries: 2, headers: {} },
      { id: 'h2', model: ECHO, baseDir: '.' },
    );
    const io = await b.start();
    try {
      await assert.rejects(
        b.infer({
          inputs: assembleBatch(io, [{ samples: sample(io, 1) }]),
          size: 1,
          signal: new AbortController().signal,
        }),
        (e: Error & { code?: string }) => e.code === 'E_BACKEND_FAILED',
      );
    } finally {
      await b.close();
    }
  });

  test('a hanging endpoint times out per attempt (E_BACKEND_TIMEOUT)', async () => {
    let attempts = 0;
    const s = createServer((req) => {
      if (req.url?.endsWith('/infer')) attempts++;
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const b = new HttpBackend(
      {
        type: 'http',
        url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
        timeoutMs: 100,
        retries: 1,
        headers: {},
      },
      { id: 'h3', model: ECHO, baseDir: '.' },
    );
    const io = await b.start();
    try {
      // No deadline on the batch: only the per-attempt timeout can end it, once per attempt.
      await assert.rejects(
        b.infer({
          inputs: assembleBatch(io, [{ samples: sample(io, 1) }]),
          size: 1,
          signal: new AbortController().signal,
        }),
        (e: Error & { code?: string }) => e.code === 'E_BACKEND_TIMEOUT',
      );
      assert.equal(attempts, 2, 'the first attempt and one retry');
    } finally {
      await b.close();
      s.closeAllConnections();
      s.close();
    }
  });
});

describe('onnx sizing', () => {
  test('a function’s vCPU maps to intra-op threads and a worker pool', () => {
    const size = (vcpu: number, cfg: { workers?: number; threadsPerWorker?: number } = {}) => {
      const b = new OnnxBackend(
        { type: 'onnx', ...cfg },
        { id: 's', model: MLP, baseDir: '.', fn: { kind: 'cpu', vcpu, memoryGb: 2 } },
      );
      return [b.threadsPerWorker, b.workers];
    };
    assert.deepEqual(size(0.5), [1, 1]);
    assert.deepEqual(size(1), [1, 1]);
    assert.deepEqual(size(1.55), [2, 1]);
    assert.deepEqual(size(3), [2, 2]);
    assert.deepEqual(size(8), [2, 4]);
    assert.deepEqual(size(8, { threadsPerWorker: 4 }), [4, 2]);
    assert.deepEqual(size(8, { workers: 3 }), [2, 3]);
  });
});
