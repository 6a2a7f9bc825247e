/** Properties of the OIP tensor codec: decode/split/assemble/split/concat round trips. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Datatype, TensorSpec } from '../../src/model/serve-config.ts';
import {
  assembleBatch,
  concatRows,
  decodeInferRequest,
  splitBatch,
  splitRows,
  type ModelIO,
} from '../../src/serve/tensors.ts';

const value = (dt: Datatype): fc.Arbitrary<number | boolean> => {
  switch (dt) {
    case 'BOOL':
      return fc.boolean();
    case 'UINT8':
      return fc.integer({ min: 0, max: 255 });
    case 'INT8':
      return fc.integer({ min: -128, max: 127 });
    case 'INT16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'INT32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'INT64':
      return fc.integer({ min: -(2 ** 40), max: 2 ** 40 });
    case 'FP32':
      return fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => Math.fround(x));
    case 'FP64':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
  }
};

const spec: fc.Arbitrary<TensorSpec> = fc.record({
  name: fc.string({ minLength: 1, maxLength: 6 }),
  datatype: fc.constantFrom<Datatype>('BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'FP32', 'FP64'),
  shape: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
});

/** A model with 1-3 uniquely named inputs, n samples, and request data for each. */
const caseArb = fc
  .uniqueArray(spec, { minLength: 1, maxLength: 3, selector: (s) => s.name })
  .chain((inputs) =>
    fc.integer({ min: 1, max: 5 }).chain((n) =>
      fc
        .tuple(
          ...inputs.map((s) =>
            fc.array(value(s.datatype), {
              minLength: n * s.shape.reduce((a, b) => a * b, 1),
              maxLength: n * s.shape.reduce((a, b) => a * b, 1),
            }),
          ),
        )
        .map((data) => ({ inputs, n, data: data as (number | boolean)[][] })),
    ),
  );

test('decode -> split rows -> assemble -> split batch -> concat rows is the identity on values', () => {
  fc.assert(
    fc.property(caseArb, ({ inputs, n, data }) => {
      const model: ModelIO = { name: 'm', platform: 't', inputs, outputs: inputs };
      const body = {
        inputs: inputs.map((s, i) => ({
          name: s.name,
          datatype: s.datatype,
          shape: [n, ...s.shape],
          data: data[i],
        })),
      };
      const req = decodeInferRequest(body, model, 8);
      assert.equal(req.rows, n);
      const rows = splitRows(req, model);
      assert.equal(rows.length, n);
      const batch = assembleBatch(model, rows);
      batch.forEach((t, i) => assert.deepEqual(t.shape, [n, ...inputs[i].shape]));
      const per = splitBatch(model, batch, n);
      const back = concatRows(per);
      back.forEach((t, i) => {
        assert.deepEqual(t.shape, [n, ...inputs[i].shape]);
        assert.deepEqual(Array.from(t.data as ArrayLike<number | boolean>), data[i]);
      });
    }),
    { numRuns: 300, seed: 7 },
  );
});

test('any single corrupted element or dimension is refused with a field path', () => {
  fc.assert(
    fc.property(
      caseArb,
      fc.nat(),
      fc.constantFrom('value', 'dim', 'dtype'),
      ({ inputs, n, data }, k, what) => {
        const model: ModelIO = { name: 'm', platform: 't', inputs, outputs: inputs };
        const i = k % inputs.length;
        const tensors = inputs.map((s, j) => ({
          name: s.name,
          datatype: s.datatype as string,
          shape: [n, ...s.shape],
          data: data[j] as unknown[],
        }));
        const t = tensors[i];
        if (what === 'value') t.data = t.data.map((v, j) => (j === k % t.data.length ? 'x' : v));
        else if (what === 'dim') t.shape = [...t.shape, 2];
        else t.datatype = t.datatype === 'FP32' ? 'FP64' : 'FP32';
        assert.throws(
          () => decodeInferRequest({ inputs: tensors }, model, 8),
          (e: Error & { code?: string; details?: { field?: string } }) =>
            e.code === 'E_TENSOR_INVALID' &&
            typeof e.details?.field === 'string' &&
            e.details.field.startsWith(`inputs[${i}]`),
        );
      },
    ),
    { numRuns: 300, seed: 11 },
  );
});
