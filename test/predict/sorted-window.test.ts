import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { quantile } from 'simple-statistics';
import { SortedWindow } from '../../src/predict/sorted-window.ts';
import { HetserveError } from '../../src/model/errors.ts';

test('SortedWindow: quantiles and order of the latest values equal a copy-and-sort of them', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      // Few distinct values too, so that equal values meet in the sorted copy (no -0: 0 and -0 tie).
      fc.array(
        fc.oneof(
          fc.double({ noNaN: true, min: -1e6, max: 1e6 }).map((x) => x + 0),
          fc.integer({ min: 0, max: 3 }),
        ),
        {
          maxLength: 60,
        },
      ),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }),
      (capacity, xs, ps) => {
        const w = new SortedWindow(capacity);
        for (let k = 0; k < xs.length; k++) {
          w.push(xs[k]);
          const held = xs.slice(Math.max(0, k + 1 - capacity), k + 1);
          assert.equal(w.size, held.length);
          for (let i = 0; i < held.length; i++) assert.equal(w.back(i), held[held.length - 1 - i]);
          for (const p of ps) assert.equal(w.quantile(p), quantile(held, p));
        }
      },
    ),
  );
});

test('SortedWindow: empty after clear; NaN quantile when empty; a bad capacity is a coded error', () => {
  const w = new SortedWindow(3);
  assert.ok(Number.isNaN(w.quantile(0.5)));
  for (const x of [5, 1, 4, 2]) w.push(x);
  assert.equal(w.quantile(0.5), 2);
  w.clear();
  assert.equal(w.size, 0);
  w.push(7);
  assert.equal(w.quantile(0.9), 7);
  assert.equal(w.back(0), 7);
  assert.throws(
    () => new SortedWindow(0),
    (e: unknown) => e instanceof HetserveError && e.details['field'] === 'capacity',
  );
});
