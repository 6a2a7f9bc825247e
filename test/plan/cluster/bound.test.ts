import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { compileBound, kairosBound } from '../../../src/plan/cluster/bound.ts';
import { rankConfigurations, type EnumerationPool } from '../../../src/plan/cluster/enumerate.ts';
import {
  computeProfileQuantities,
  prototypeProfileQuantities,
} from '../../../src/plan/cluster/quantities.ts';
import { LatencyTable } from '../../../src/predict/latency-table.ts';
import { deepRecSysSizes } from '../../../src/workload/query-sizes.ts';
import { selectBySimilarity } from '../../../src/plan/cluster/select.ts';

const TYPES = ['g4dn.xlarge', 'c5n.2xlarge', 'r5n.large', 't3.xlarge'];
const POOL: EnumerationPool = {
  types: TYPES,
  prices: [0.526, 0.432, 0.149, 0.1664],
  maxCounts: [5, 6, 17, 15],
  baseIndex: 0,
};

interface RefEntry {
  rank: number;
  key: string;
  cost: number;
  upper_bound: number;
}
const ref = JSON.parse(
  readFileSync(new URL('../../fixtures/reference/kairos.json', import.meta.url), 'utf8'),
) as {
  models: Record<string, { n_feasible: number; n_enumerated: number; top20: RefEntry[] }>;
};

const protoBound = (model: string) =>
  compileBound(prototypeProfileQuantities(model, TYPES[0], TYPES.slice(1)), TYPES, 'max');

for (const model of ['rm2', 'ncf']) {
  test(`compat prototype reproduces the Kairos allocator for ${model}`, () => {
    const f = protoBound(model);
    const r = rankConfigurations(POOL, { budget: 2.5, score: (c) => f(c) });
    const want = ref.models[model];
    assert.equal(r.scored, want.n_feasible);
    assert.equal(r.productSize, want.n_enumerated);
    want.top20.forEach((e, i) => {
      const got = r.ranked[i];
      assert.equal(got.counts.join(', '), e.key, `rank ${e.rank} key`);
      assert.equal(Math.round(got.cost * 1000) / 1000, e.cost, `rank ${e.rank} cost`);
      assert.ok(
        Math.abs(got.score - e.upper_bound) <= 1e-9 * e.upper_bound,
        `rank ${e.rank} UB ${got.score} vs ${e.upper_bound}`,
      );
    });
  });
}

test('compat prototype: the other three models match design §4.4 (top 3, rounded) and §4.3 worked example', () => {
  const expect: Record<string, [string, number][]> = {
    wnd: [
      ['1,0,13,0', 1555.9],
      ['1,0,12,1', 1506.5],
      ['1,0,11,2', 1457.1],
    ],
    mtwnd: [
      ['2,0,9,0', 1061.3],
      ['1,1,10,0', 1035.8],
      ['2,0,8,1', 1021.6],
    ],
    dien: [
      ['2,0,9,0', 733.0],
      ['2,0,8,1', 705.8],
      ['2,0,7,2', 678.6],
    ],
  };
  for (const [model, rows] of Object.entries(expect)) {
    const f = protoBound(model);
    const r = rankConfigurations(POOL, { budget: 2.5, score: (c) => f(c), top: 3 });
    assert.deepEqual(
      r.ranked.map((x) => [x.counts.join(','), Math.round(x.score * 10) / 10]),
      rows,
      model,
    );
  }
  // rm2 (2,0,9,0): 119.5 QPS; homogeneous 4×g4dn: 60.2.
  assert.equal(Math.round(protoBound('rm2')([2, 0, 9, 0]) * 10) / 10, 119.5);
  assert.equal(Math.round(protoBound('rm2')([4, 0, 0, 0]) * 10) / 10, 60.2);
});

/** Brute force: the whole product, filter, stable sort — the prototype's procedure. */
function bruteForce(pool: EnumerationPool, budget: number, score: (c: number[]) => number, prune: boolean) {
  const out: { counts: number[]; score: number }[] = [];
  const T = pool.types.length;
  const rec = (i: number, c: number[]): void => {
    if (i === T) {
      const cost = c.reduce((s, n, j) => s + n * pool.prices[j], 0);
      if (c[pool.baseIndex] < 1 || cost > budget) return;
      if (prune && c.some((n, j) => n > 0 && n < pool.maxCounts[j] && cost + pool.prices[j] <= budget))
        return;
      out.push({ counts: [...c], score: score(c) });
      return;
    }
    for (let n = 0; n <= pool.maxCounts[i]; n++) rec(i + 1, [...c, n]);
  };
  rec(0, []);
  return out.map((x, i) => ({ ...x, i })).sort((a, b) => b.score - a.score || a.i - b.i);
}

test('enumeration (budget pruning, dominance, bounded top-K) equals brute force', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          price: fc.double({ min: 0.05, max: 1, noNaN: true }),
          max: fc.integer({ min: 0, max: 6 }),
        }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
      fc.double({ min: 0.1, max: 3, noNaN: true }),
      fc.integer({ min: 1, max: 30 }),
      fc.boolean(),
      (types, budget, top, prune) => {
        types[0].max = Math.max(1, types[0].max);
        const pool: EnumerationPool = {
          types: types.map((_, i) => `t${i}`),
          prices: types.map((t) => t.price),
          maxCounts: types.map((t) => t.max),
          baseIndex: 0,
        };
        // A score with many ties, to exercise the tie-break.
        const score = (c: ArrayLike<number>): number =>
          Math.floor(Array.from(c).reduce((s, n, i) => s + n * (i + 1), 0) / 2);
        const want = bruteForce(pool, budget, score, prune);
        const got = rankConfigurations(pool, { budget, score, top, dominance: prune ? 'prune' : 'keep' });
        assert.equal(got.scored, want.length);
        assert.deepEqual(
          got.ranked.map((r) => r.counts),
          want.slice(0, top).map((r) => r.counts),
        );
      },
    ),
    { numRuns: 150 },
  );
});

test('property: more budget never lowers the best bound (prototype and default quantities)', () => {
  const table = LatencyTable.bundled('rm2');
  const q = computeProfileQuantities(table, deepRecSysSizes(), TYPES[0], TYPES.slice(1), { qosMs: 350 });
  const bounds = [protoBound('rm2'), compileBound(q, TYPES, 'per-type')];
  fc.assert(
    fc.property(
      fc.double({ min: 0.53, max: 4, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (b, extra) => {
        for (const f of bounds) {
          const lo = rankConfigurations(POOL, { budget: b, score: (c) => f(c), top: 1 }).ranked[0];
          const hi = rankConfigurations(POOL, { budget: b + extra, score: (c) => f(c), top: 1 }).ranked[0];
          assert.ok(hi.score >= lo.score, `${b} -> ${b + extra}`);
          assert.ok(lo.cost <= b && hi.cost <= b + extra);
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('closed form: a used type gaining an instance never lowers the bound', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.double({ min: 1, max: 100, noNaN: true }),
      fc.double({ min: 0, max: 500, noNaN: true }),
      fc.double({ min: 0.01, max: 0.99, noNaN: true }),
      fc.double({ min: 0.01, max: 0.99, noNaN: true }),
      (nG, qG, C, s, t) => {
        const tau = Math.min(s, t) * 0.999; // τ < s: small queries are cheaper on the base type
        const ub = kairosBound(nG, qG, C, s, tau);
        assert.ok(kairosBound(nG, qG, C + 1, s, tau) >= ub - 1e-9 * ub);
        assert.ok(kairosBound(nG + 1, qG, C, s, tau) >= ub - 1e-9 * ub);
        assert.ok(ub >= nG * qG - 1e-9 * nG * qG, 'adding auxiliaries never hurts');
      },
    ),
  );
});

test('similarity: L1 medoid of the top K, ties by score then cost', () => {
  const cands = [
    { counts: [1, 0, 13, 0], score: 10, cost: 2 },
    { counts: [1, 0, 12, 1], score: 9, cost: 2 },
    { counts: [1, 0, 12, 0], score: 8, cost: 1 },
    { counts: [1, 0, 11, 2], score: 7, cost: 2 },
    { counts: [2, 0, 9, 0], score: 6, cost: 2 },
    { counts: [1, 0, 12, 1], score: 100, cost: 0 }, // outside K = 5
  ];
  const r = selectBySimilarity(cands);
  // (1,0,12,0) is at L1 distance 1, 1, 3, 4 from the others: 9, the smallest.
  assert.deepEqual(r.totalDistance, [12, 10, 9, 14, 19]);
  assert.equal(r.index, 2);
  assert.equal(selectBySimilarity(cands, { k: 1 }).index, 0);
  // With two candidates the distances tie: higher score wins, then lower cost.
  assert.equal(selectBySimilarity([cands[2], cands[0]], { k: 2 }).index, 1);
  assert.equal(selectBySimilarity([cands[1], { ...cands[1], cost: 1 }], { k: 2 }).index, 1);
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          counts: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 3, maxLength: 3 }),
          score: fc.integer(),
          cost: fc.integer(),
        }),
        {
          minLength: 1,
          maxLength: 8,
        },
      ),
      fc.integer({ min: 1, max: 8 }),
      (list, k) => {
        const { index, totalDistance } = selectBySimilarity(list, { k });
        assert.ok(index < Math.min(k, list.length));
        assert.equal(totalDistance[index], Math.min(...totalDistance));
      },
    ),
  );
});
