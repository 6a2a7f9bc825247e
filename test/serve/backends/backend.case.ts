/**
 * The one conformance suite every backend runs (replay, http, onnx): same inputs, same checks.
 * Each backend's own test file calls `runBackendConformance` (see "Tests" in DEVELOPERS.md).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../../src/serve/backends/types.ts';
import { assembleBatch, splitBatch, type ModelIO } from '../../../src/serve/tensors.ts';
import type { ModelConfig } from '../../../src/model/serve-config.ts';

/** A model described by its inputs only: the replay and http backends echo what they are sent. */
export const ECHO: ModelConfig = {
  name: 'm',
  profile: 'VGG19',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
};

/** Deterministic input values for one request (seed = which request). */
export function sample(io: ModelIO, seed: number): number[][] {
  return io.inputs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return Array.from({ length: n }, (_, j) => Math.fround(Math.sin(seed * 7.3 + j) * 2));
  });
}

/** `tol`: relative tolerance between a sample answered in a batch and alone (0 = exact). */
export function runBackendConformance(name: string, make: () => Promise<Backend>, tol: number): void {
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
