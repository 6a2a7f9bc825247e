/**
 * solveWithMunkres (src/dispatch/distributor.ts) runs munkres' Hungarian algorithm on reused typed
 * arrays: the same pairs as the munkres package itself, ties included, on every shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import munkres from 'munkres';
import { solveWithMunkres } from '../../../src/dispatch/distributor.ts';

/** munkres' own answer, as the column of each row (-1: left out). */
function reference(cost: number[][]): Int32Array {
  const out = new Int32Array(cost.length).fill(-1);
  for (const [y, x] of munkres(cost)) if (y >= 0) out[y] = x;
  return out;
}

// Costs from a few values (many ties, as the Kairos matrix's equal penalties give), or spread
// reals; shapes from 1 × 1 to 9 × 9, both orientations.
const cell = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0, 500, 1000, -0),
  fc.double({ min: -1e4, max: 1e4, noNaN: true }),
);
const matrix = fc
  .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }))
  .chain(([r, c]) =>
    fc.array(fc.array(cell, { minLength: c, maxLength: c }), { minLength: r, maxLength: r }),
  );

test('solveWithMunkres = munkres on tie-heavy rectangular matrices, both orientations', () => {
  let shortcut = 0;
  let runs = 0;
  fc.assert(
    fc.property(matrix, (cost) => {
      runs++;
      const rows = cost.map((r) => Float64Array.from(r));
      const got = solveWithMunkres(rows);
      assert.deepEqual(Array.from(got), Array.from(reference(cost)), JSON.stringify(cost));
      // Whether the opening alone decides it: munkres' first-phase stars cover min(rows, cols).
      if (cost.length > 1 && cost[0]!.length > 1 && openingDecides(cost)) shortcut++;
    }),
    { numRuns: 3000 },
  );
  // Both parts are exercised: many cases end after the opening steps, many need the later ones.
  assert.ok(shortcut > 0.1 * runs && shortcut < 0.9 * runs, `${shortcut} of ${runs} ended in the opening`);
});

/** The greedy-on-reduced-costs opening, written plainly (row minima / column minima, first zero). */
function openingDecides(cost: number[][]): boolean {
  const Y = cost.length;
  const X = cost[0]!.length;
  const dy = cost.map((r) => (Y > X ? 0 : Math.min(...r)));
  const dx =
    Y < X
      ? new Array<number>(X).fill(0)
      : Array.from({ length: X }, (_, x) => Math.min(...cost.map((r, y) => r[x]! - dy[y]! || 0)));
  const taken = new Set<number>();
  for (let y = 0; y < Y && taken.size < Math.min(X, Y); y++) {
    const x = cost[y]!.findIndex((v, j) => !taken.has(j) && v === (dx[j]! + dy[y]! || 0));
    if (x >= 0) taken.add(x);
  }
  return taken.size === Math.min(X, Y);
}
