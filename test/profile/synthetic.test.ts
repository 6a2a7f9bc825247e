import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import {
  buildCnn,
  buildMlp,
  buildSynthetic,
  type SyntheticModel,
  type WeightTensor,
} from '../../src/onnx/synthetic-models.ts';
import { HetserveError } from '../../src/model/errors.ts';

// Independent forward passes in plain JS (the oracle for what onnxruntime computes).

function weight(m: SyntheticModel, name: string): WeightTensor {
  const w = m.weights.find((t) => t.name === name);
  assert.ok(w, `weight ${name}`);
  return w;
}

/** y = x·W + b for one sample. */
function dense(x: Float32Array | number[], w: WeightTensor, b: WeightTensor): number[] {
  const [n, k] = w.dims as [number, number];
  const y = Array.from(b.data);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) y[j]! += x[i]! * w.data[i * k + j]!;
  return y;
}
const relu = (v: number[]): number[] => v.map((x) => Math.max(0, x));

function mlpForward(m: SyntheticModel, x: Float32Array): number[] {
  const layers = (m.options as { layers: number }).layers;
  let h: number[] = Array.from(x);
  for (let l = 0; l < layers; l++) h = relu(dense(h, weight(m, `fc${l}.weight`), weight(m, `fc${l}.bias`)));
  return dense(h, weight(m, 'head.weight'), weight(m, 'head.bias'));
}

function cnnForward(m: SyntheticModel, x: Float32Array): number[] {
  const { layers, size } = m.options as { layers: number; size: number };
  let ch = m.inputShape[0]!;
  let a: number[] = Array.from(x);
  for (let l = 0; l < layers; l++) {
    const w = weight(m, `conv${l}.weight`);
    const b = weight(m, `conv${l}.bias`);
    const f = w.dims[0]!;
    const out = new Array<number>(f * size * size).fill(0);
    for (let o = 0; o < f; o++)
      for (let y = 0; y < size; y++)
        for (let xx = 0; xx < size; xx++) {
          let s = b.data[o]!;
          for (let c = 0; c < ch; c++)
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const iy = y + ky - 1;
                const ix = xx + kx - 1;
                if (iy < 0 || ix < 0 || iy >= size || ix >= size) continue;
                s += a[(c * size + iy) * size + ix]! * w.data[((o * ch + c) * 3 + ky) * 3 + kx]!;
              }
          out[(o * size + y) * size + xx] = Math.max(0, s);
        }
    a = out;
    ch = f;
  }
  const pooled = new Array<number>(ch).fill(0);
  for (let c = 0; c < ch; c++) {
    for (let i = 0; i < size * size; i++) pooled[c]! += a[c * size * size + i]!;
    pooled[c]! /= size * size;
  }
  return dense(pooled, weight(m, 'head.weight'), weight(m, 'head.bias'));
}

function inputBatch(m: SyntheticModel, batch: number, seed: number): Float32Array {
  const per = m.inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(batch * per);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(seed * 7.1 + i * 0.37);
  return x;
}

async function runAndCheck(
  m: SyntheticModel,
  forward: (m: SyntheticModel, x: Float32Array) => number[],
  batch: number,
): Promise<void> {
  const session = await ort.InferenceSession.create(m.bytes);
  try {
    assert.deepEqual(session.inputNames, [m.inputName]);
    assert.deepEqual(session.outputNames, [m.outputName]);
    const x = inputBatch(m, batch, batch);
    const feeds = { [m.inputName]: new ort.Tensor('float32', x, [batch, ...m.inputShape]) };
    const out = (await session.run(feeds))[m.outputName]!;
    assert.deepEqual(out.dims, [batch, ...m.outputShape]);
    const per = m.inputShape.reduce((a, b) => a * b, 1);
    const k = m.outputShape[0]!;
    const data = out.data as Float32Array;
    for (let s = 0; s < batch; s++) {
      const want = forward(m, x.subarray(s * per, (s + 1) * per));
      for (let j = 0; j < k; j++) {
        const got = data[s * k + j]!;
        assert.ok(
          Math.abs(got - want[j]!) <= 1e-3 * (1 + Math.abs(want[j]!)),
          `sample ${s} output ${j}: ort ${got} vs js ${want[j]}`,
        );
      }
    }
  } finally {
    await session.release();
  }
}

test('synthetic MLP runs in onnxruntime at batch 1 and 4 and matches a JS forward pass', async () => {
  const m = buildMlp({ inputs: 32, hidden: 48, layers: 2, classes: 5, seed: 7 });
  await runAndCheck(m, mlpForward, 1);
  await runAndCheck(m, mlpForward, 4);
});

test('synthetic CNN runs in onnxruntime at batch 1 and 4 and matches a JS forward pass', async () => {
  const m = buildCnn({ channels: 2, size: 8, filters: 4, layers: 2, classes: 3, seed: 3 });
  await runAndCheck(m, cnnForward, 1);
  await runAndCheck(m, cnnForward, 4);
});

test('default-sized models load and declare a symbolic batch dimension', async () => {
  for (const m of [buildMlp(), buildCnn()]) {
    const session = await ort.InferenceSession.create(m.bytes);
    const meta = session.inputMetadata[0] as { isTensor: boolean; shape?: (number | string)[] };
    assert.equal(meta.isTensor, true);
    assert.equal(typeof meta.shape?.[0], 'string', `${m.kind} batch dim should be symbolic`);
    assert.deepEqual(meta.shape?.slice(1), m.inputShape);
    await session.release();
  }
});

test('weights are deterministic per seed and differ across seeds', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      const a = buildMlp({ inputs: 4, hidden: 4, layers: 1, classes: 2, seed });
      const b = buildMlp({ inputs: 4, hidden: 4, layers: 1, classes: 2, seed });
      const c = buildMlp({ inputs: 4, hidden: 4, layers: 1, classes: 2, seed: seed + 1 });
      assert.deepEqual(a.bytes, b.bytes);
      assert.notDeepEqual(a.bytes, c.bytes);
    }),
    { numRuns: 30 },
  );
});

test('bad options and unknown kinds are coded errors naming the field', () => {
  assert.throws(
    () => buildMlp({ hidden: 0 }),
    (e: unknown) =>
      e instanceof HetserveError && e.code === 'E_INVALID_OPTION' && e.details['field'] === 'hidden',
  );
  assert.throws(
    () => buildSynthetic('resnet'),
    (e: unknown) => e instanceof HetserveError && e.details['value'] === 'resnet',
  );
});
