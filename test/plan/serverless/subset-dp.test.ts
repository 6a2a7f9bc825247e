import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bestContiguousPartition, bestSetPartition } from '../../../src/plan/serverless/subset-dp.ts';

/** Every set partition of 0..n−1 as lists of bit masks (naive recursion: the oracle). */
function allSetPartitions(n: number): number[][] {
  const out: number[][] = [];
  const rec = (i: number, groups: number[]) => {
    if (i === n) {
      out.push([...groups]);
      return;
    }
    for (let g = 0; g < groups.length; g++) {
      groups[g] |= 1 << i;
      rec(i + 1, groups);
      groups[g] &= ~(1 << i);
    }
    groups.push(1 << i);
    rec(i + 1, groups);
    groups.pop();
  };
  rec(0, []);
  return out;
}

const BELL = [1, 1, 2, 5, 15, 52, 203, 877];

test('the oracle enumerates Bell(n) partitions', () => {
  for (let n = 0; n < BELL.length; n++) assert.equal(allSetPartitions(n).length, BELL[n]);
});

const costArb = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: 0, max: 100, noNaN: true }) },
  { weight: 1, arbitrary: fc.constant(Infinity) },
);

test('bestSetPartition equals the minimum over all set partitions', () => {
  fc.assert(
    fc.property(
      fc
        .integer({ min: 1, max: 7 })
        .chain((n) => fc.tuple(fc.constant(n), fc.array(costArb, { minLength: 1 << n, maxLength: 1 << n }))),
      ([n, costs]) => {
        const r = bestSetPartition(n, costs);
        let oracle = Infinity;
        for (const p of allSetPartitions(n))
          oracle = Math.min(
            oracle,
            p.reduce((a, g) => a + costs[g], 0),
          );
        if (!Number.isFinite(oracle)) {
          assert.equal(r.cost, Infinity);
          assert.deepEqual(r.groups, []);
          return;
        }
        assert.ok(Math.abs(r.cost - oracle) <= 1e-9 * Math.max(1, oracle), `${r.cost} vs ${oracle}`);
        // The groups returned are a partition and their costs add up to the reported total.
        let union = 0;
        for (const g of r.groups) {
          assert.equal(union & g, 0, 'groups overlap');
          union |= g;
        }
        assert.equal(union, (1 << n) - 1);
        assert.ok(
          Math.abs(r.groups.reduce((a, g) => a + costs[g], 0) - r.cost) <= 1e-9 * Math.max(1, r.cost),
        );
      },
    ),
    { numRuns: 200 },
  );
});

test('bestContiguousPartition equals the minimum over all cut sets', () => {
  fc.assert(
    fc.property(
      fc
        .integer({ min: 1, max: 9 })
        .chain((n) =>
          fc.tuple(fc.constant(n), fc.array(costArb, { minLength: n * (n + 1), maxLength: n * (n + 1) })),
        ),
      ([n, flat]) => {
        const cost = (i: number, j: number) => flat[i * (n + 1) + j - 1];
        const calls: Array<[number, number]> = [];
        const r = bestContiguousPartition(n, (i, j) => {
          calls.push([i, j]);
          return cost(i, j);
        });
        // Each run is asked for once, rows left to right.
        assert.equal(calls.length, (n * (n + 1)) / 2);
        let oracle = Infinity;
        for (let cuts = 0; cuts < 1 << (n - 1); cuts++) {
          let start = 0;
          let total = 0;
          for (let k = 1; k <= n; k++) {
            if (k === n || cuts & (1 << (k - 1))) {
              total += cost(start, k);
              start = k;
            }
          }
          oracle = Math.min(oracle, total);
        }
        if (!Number.isFinite(oracle)) return assert.equal(r.cost, Infinity);
        assert.ok(Math.abs(r.cost - oracle) <= 1e-9 * Math.max(1, oracle));
        assert.equal(r.groups[0][0], 0);
        assert.equal(r.groups.at(-1)![1], n);
        for (let g = 1; g < r.groups.length; g++) assert.equal(r.groups[g][0], r.groups[g - 1][1]);
      },
    ),
    { numRuns: 200 },
  );
});

test('bestSetPartition rejects sizes it cannot hold', () => {
  assert.throws(() => bestSetPartition(17, []), RangeError);
  assert.throws(() => bestSetPartition(3, [0, 1, 2]), RangeError);
});
