/** The onnx backend: the conformance suite, then its faults (killed worker), model and sizing. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxBackend } from '../../../src/serve/backends/index.ts';
import { assembleBatch } from '../../../src/serve/tensors.ts';
import type { ModelConfig } from '../../../src/model/serve-config.ts';
import { buildMlp } from '../../../src/onnx/synthetic-models.ts';
import { runBackendConformance, sample } from './backend.case.ts';

const MLP: ModelConfig = { name: 'mlp', profile: 'VGG19', source: { synthetic: 'mlp', seed: 1 } };
// The onnx workers are unref'd (in a gateway its server keeps the process alive); here nothing
// would, so a batch waiting on a worker, or on a replaced one loading, could end this test process
// with its promise pending. Hold the event loop open for this file's tests.
const keepAlive = setInterval(() => undefined, 1000);
after(() => clearInterval(keepAlive));
runBackendConformance(
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
