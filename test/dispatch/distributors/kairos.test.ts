import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import munkres from 'munkres';
import {
  createFcfsDistributor,
  createKairosDistributor,
  assignmentSolvers,
  kairosCostMatrix,
  solveAssignment,
  type KairosMatchInput,
} from '../../../src/dispatch/distributor.ts';
import type { LatencyEstimator } from '../../../src/dispatch/types.ts';
import { HetserveError } from '../../../src/model/errors.ts';
import { runDistributorConformance, testEstimator } from './distributor.case.ts';

runDistributorConformance('kairos (paper)', (instances, estimateMs) =>
  createKairosDistributor({ instances, estimateMs, baseType: 'g' }),
);
runDistributorConformance('kairos (prototype)', (instances, estimateMs) =>
  createKairosDistributor({ instances, estimateMs, compat: 'prototype' }),
);
runDistributorConformance('kairos (skew off, 4 rows)', (instances, estimateMs) =>
  createKairosDistributor({ instances, estimateMs, baseType: 'g', skew: { g: 1, c: 1, r: 1 }, maxRows: 4 }),
);
runDistributorConformance('kairos (linear-sum-assignment solver)', (instances, estimateMs) =>
  createKairosDistributor({ instances, estimateMs, baseType: 'g', solver: 'linear-sum-assignment' }),
);
// A solver given as a function: the munkres library called directly, with no one-line shortcut.
const munkresSolver = (cost: Float64Array[]): Int32Array => {
  const out = new Int32Array(cost.length).fill(-1);
  for (const [y, x] of munkres(cost)) out[y] = x;
  return out;
};
runDistributorConformance('kairos (solver function)', (instances, estimateMs) =>
  createKairosDistributor({ instances, estimateMs, baseType: 'g', solver: munkresSolver }),
);
// Tail estimate for the QoS penalty test (the mean stays the cost): slower CPUs have longer tails.
const tailOf =
  (estimateMs: LatencyEstimator): LatencyEstimator =>
  (type, size) =>
    estimateMs(type, size) * (type === 'g' ? 1.1 : 1.6);
runDistributorConformance('kairos (tail estimate for the penalty test)', (instances, estimateMs) =>
  createKairosDistributor({ instances, estimateMs, baseType: 'g', tailEstimateMs: tailOf(estimateMs) }),
);

/** Exhaustive minimum over all assignments of min(rows, cols) pairs. */
function bruteForceMin(cost: number[][]): number {
  const rows = cost.length;
  const cols = cost[0]!.length;
  const usedCol = new Array<boolean>(cols).fill(false);
  const need = Math.min(rows, cols);
  let best = Infinity;
  const go = (i: number, placed: number, acc: number): void => {
    if (placed === need) {
      best = Math.min(best, acc);
      return;
    }
    if (i === rows || rows - i < need - placed) return;
    if (rows > cols) go(i + 1, placed, acc); // row i left out
    for (let j = 0; j < cols; j++) {
      if (usedCol[j]) continue;
      usedCol[j] = true;
      go(i + 1, placed + 1, acc + cost[i]![j]!);
      usedCol[j] = false;
    }
  };
  go(0, 0, 0);
  return best;
}

function total(cost: number[][], match: Int32Array): number {
  let s = 0;
  let pairs = 0;
  match.forEach((j, i) => {
    if (j >= 0) {
      s += cost[i]![j]!;
      pairs++;
    }
  });
  assert.equal(pairs, Math.min(cost.length, cost[0]!.length), 'a full rectangular assignment');
  assert.equal(new Set([...match].filter((j) => j >= 0)).size, pairs, 'a column used twice');
  return s;
}

const matchInputArb = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.boolean())
  .chain(([k, n, proto]) =>
    fc.record({
      rows: fc.array(
        fc.record({
          tQosMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 400, noNaN: true })),
          qosMs: fc.constant(350),
          estMs: fc.array(fc.double({ min: 0.1, max: 400, noNaN: true }), { minLength: n, maxLength: n }),
        }),
        { minLength: k, maxLength: k },
      ),
      cols: fc.array(
        fc.record({
          remainingMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 300, noNaN: true })),
          skew: fc.double({ min: 0.1, max: 1, noNaN: true }),
        }),
        {
          minLength: n,
          maxLength: n,
        },
      ),
      proto: fc.constant(proto),
    }),
  )
  .map(({ rows, cols, proto }): KairosMatchInput => ({
    rows,
    cols,
    safeguard: 0.02,
    penaltyMs: proto ? () => ({ margin: 500, violate: 1000 }) : () => ({ margin: 700, violate: 1400 }),
  }));

test('the Kairos assignment is a minimum-cost assignment: every named solver agrees with brute force', () => {
  fc.assert(
    fc.property(matchInputArb, (input) => {
      const cost = kairosCostMatrix(input);
      const brute = bruteForceMin(cost);
      for (const [name, solve] of Object.entries(assignmentSolvers)) {
        const ours = total(cost, solve(cost));
        assert.ok(
          Math.abs(ours - brute) <= 1e-6 * Math.max(1, Math.abs(brute)),
          `${name} ${ours} vs brute ${brute}`,
        );
      }
    }),
    { numRuns: 300 },
  );
});

test('the default solver and linear-sum-assignment reach the same optimum on larger Kairos matrices', () => {
  // Beyond brute force's reach: the two libraries are each other's oracle.
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (k, n, seed) => {
        let x = seed;
        const rnd = (): number => (x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32;
        // Kairos-like: many ties (penalty constants) and equal columns (idle instances of one type).
        const cost = Array.from({ length: k }, () =>
          Float64Array.from({ length: n }, (_, j) =>
            rnd() < 0.3 ? 700 + 700 * Math.floor(rnd() * 2) : (j % 3) * 10 + Math.round(rnd() * 300),
          ),
        );
        const a = total(cost as unknown as number[][], solveAssignment(cost));
        const b = total(cost as unknown as number[][], assignmentSolvers['linear-sum-assignment'](cost));
        assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `munkres ${a} vs lsa ${b}`);
      },
    ),
    { numRuns: 200 },
  );
});

test('an unknown solver name is a coded error naming the field', () => {
  assert.throws(
    () =>
      createKairosDistributor({
        instances: ['g'],
        estimateMs: testEstimator,
        baseType: 'g',
        solver: 'simplex' as never,
      }),
    (e: unknown) => e instanceof HetserveError && e.code === 'E_DISPATCH_CONFIG' && /solver/.test(e.message),
  );
});

test("kairos decide() sends exactly the optimal matching's pairs that land on idle instances, from kairosCostMatrix's costs (tail option on and off)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom('g', 'c', 'r'), { minLength: 1, maxLength: 5 }),
      fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      fc.boolean(),
      (pool, sizes, busyMask, withTail) => {
        // The solver sees the hot path's cost rows: capture them to compare with the reference matrix.
        let seen: number[][] | undefined;
        const d = createKairosDistributor<number>({
          instances: pool,
          estimateMs: testEstimator,
          baseType: 'g',
          solver: (c) => {
            seen = c.map((r) => Array.from(r));
            return solveAssignment(c);
          },
          ...(withTail ? { tailEstimateMs: tailOf(testEstimator) } : {}),
        });
        // Make some instances busy first by feeding them one query each.
        let t = 0;
        for (let j = 0; j < pool.length; j++) {
          if (!busyMask[j]) continue;
          d.enqueue({ id: `warm${j}`, size: 10, arrival: 0, deadline: 100 });
        }
        d.decide(0);
        t = 0.001;
        sizes.forEach((s, i) => d.enqueue({ id: i, size: s, arrival: t, deadline: t + 0.35, payload: i }));
        const input = d.matchingInput(t);
        const cost = kairosCostMatrix(input);
        const match = solveAssignment(cost);
        assert.ok(
          Math.abs(total(cost, match) - bruteForceMin(cost)) <
            1e-6 * Math.max(1, Math.abs(bruteForceMin(cost))),
        );
        const idle = d.instances(t).map((x) => !x.busy);
        const expected = [...match].flatMap((j, i) => (j >= 0 && idle[j] ? [`${i}->${j}`] : []));
        const queued = sizes.map((_, i) => i);
        seen = undefined;
        const got = d.decide(t).map((a) => `${queued.indexOf(a.query.payload!)}->${a.instance}`);
        // decide() only matches while some instance is idle.
        if (idle.some(Boolean))
          assert.deepEqual(seen, cost, 'hot-path costs equal kairosCostMatrix(matchingInput(now))');
        else assert.equal(seen, undefined);
        assert.deepEqual(got, expected);
      },
    ),
    { numRuns: 150 },
  );
});

test('kairos lets a large query wait for the busy GPU instead of violating QoS on an idle CPU', () => {
  const d = createKairosDistributor({ instances: ['g', 'c'], estimateMs: testEstimator, baseType: 'g' });
  // Warm-up: 300 items with a 100 ms deadline only fit the GPU (80 ms; CPU 140 ms).
  d.enqueue({ id: 'warm', size: 300, arrival: 0, deadline: 0.1 });
  assert.deepEqual(
    d.decide(0).map((a) => a.instance),
    [0],
  );
  const gpu = 0;
  // Size 900: GPU 230 ms after ~79 ms of remaining work; CPU 2 + 360 + 162 = 524 ms > 350 ms QoS.
  d.enqueue({ id: 'big', size: 900, arrival: 0.001, deadline: 0.351 });
  assert.deepEqual(d.decide(0.001), [], 'the big query is held for the GPU');
  d.onComplete(gpu, 0.08);
  assert.deepEqual(
    d.decide(0.08).map((a) => [a.query.id, a.instance]),
    [['big', gpu]],
  );
  // FCFS would have put it on the idle CPU.
  const f = createFcfsDistributor({ instances: ['g', 'c'], estimateMs: testEstimator });
  f.enqueue({ id: 'warm', size: 300, arrival: 0, deadline: 0.1 });
  f.decide(0);
  f.enqueue({ id: 'big', size: 900, arrival: 0.001, deadline: 0.351 });
  assert.deepEqual(
    f.decide(0.001).map((a) => a.instance),
    [1],
  );
});

test("paper penalties scale with QoS; the prototype's absolute ones pick a violating pair at QoS 2 s", () => {
  const est: LatencyEstimator = (type, size) => (type === 'g' ? 1.5 : 2.5) * size;
  const run = (compat: 'paper' | 'prototype') => {
    const d = createKairosDistributor({ instances: ['g', 'c'], estimateMs: est, baseType: 'g', compat });
    d.enqueue({ id: 'q', size: 1000, arrival: 0, deadline: 2 });
    return d.decide(0).map((a) => a.instance);
  };
  assert.deepEqual(run('paper'), [0], 'meets QoS on g (1500 ms)');
  assert.deepEqual(
    run('prototype'),
    [1],
    'prototype: −1000 beats the real −1500 slack, so it violates on c (2500 ms)',
  );
});

test('a tail estimate changes the decision where the mean meets QoS but the tail does not', () => {
  // Size 500: g 130 ms, c 252 ms (mean); QoS 300 ms. c is the cheaper pair (skew 0.42 × 252 < 130).
  const run = (tail?: LatencyEstimator) => {
    const d = createKairosDistributor({
      instances: ['g', 'c'],
      estimateMs: testEstimator,
      baseType: 'g',
      ...(tail ? { tailEstimateMs: tail } : {}),
    });
    d.enqueue({ id: 'q', size: 500, arrival: 0, deadline: 0.3 });
    const m = d.matchingInput(0);
    return { to: d.decide(0).map((a) => [a.instance, a.estimateMs]), cost: kairosCostMatrix(m)[0]! };
  };
  const mean = run();
  assert.deepEqual(mean.to, [[1, 252]], 'by the mean, c meets the QoS and is cheaper');
  // Tail 1.3 × mean: c 327.6 ms > 300 ms violates, g 169 ms still meets.
  const tail = run((type, size) => 1.3 * testEstimator(type, size));
  assert.deepEqual(tail.to, [[0, 130]], 'by the tail, c would break the QoS: the query goes to g');
  assert.equal(tail.cost[0], mean.cost[0], 'a QoS-meeting pair keeps its mean-based cost');
  assert.ok(tail.cost[1]! > tail.cost[0]!, 'the violating pair is penalised');
  // A tail equal to the mean changes nothing.
  assert.deepEqual(run(testEstimator), mean);
});

test('prototype compat rounds estimates to integer ms and skew to 2 decimals, base = instance 0', () => {
  const est: LatencyEstimator = (type, size) => (type === 'g' ? 0.3 * size + 0.4 : 0.7 * size);
  const p = createKairosDistributor({ instances: ['g', 'c'], estimateMs: est, compat: 'prototype' });
  assert.equal(p.baseType, 'g');
  assert.equal(p.skew[1], Math.round((300.4 / 700) * 100) / 100);
  p.enqueue({ id: 1, size: 1, arrival: 0, deadline: 1 });
  const [a] = p.decide(0);
  assert.ok(Number.isInteger(a!.estimateMs));
  const q = createKairosDistributor({ instances: ['c', 'g'], estimateMs: est, baseType: 'g' });
  assert.equal(q.skew[0], 300.4 / 700);
  q.enqueue({ id: 1, size: 1, arrival: 0, deadline: 1 });
  assert.ok(!Number.isInteger(q.decide(0)[0]!.estimateMs), 'paper mode keeps float estimates');
});

test('kairos options are validated, quoting the bad value', () => {
  const base = { instances: ['g', 'c'], estimateMs: testEstimator };
  const check = (f: () => unknown, field: string) =>
    assert.throws(
      f,
      (e: unknown) =>
        e instanceof HetserveError && e.code === 'E_DISPATCH_CONFIG' && e.details['field'] === field,
    );
  check(() => createKairosDistributor(base), 'baseType');
  check(() => createKairosDistributor({ ...base, baseType: 'g', safeguard: 1.5 }), 'safeguard');
  check(() => createKairosDistributor({ ...base, baseType: 'g', maxRows: 0 }), 'maxRows');
  check(
    () => createKairosDistributor({ ...base, baseType: 'g', penalty: { margin: 0.5, violate: 4 } }),
    'penalty',
  );
  check(() => createKairosDistributor({ ...base, baseType: 'g', compat: 'x' as never }), 'compat');
  check(() => createKairosDistributor({ ...base, baseType: 'zz' }), 'estimateMs("zz", 1000)');
  check(
    () => createKairosDistributor({ ...base, baseType: 'g', tailEstimateMs: 99 as never }),
    'tailEstimateMs',
  );
  check(
    () => createKairosDistributor({ ...base, compat: 'prototype', tailEstimateMs: testEstimator }),
    'tailEstimateMs',
  );
  const nanTail = createKairosDistributor({ ...base, baseType: 'g', tailEstimateMs: () => Number.NaN });
  nanTail.enqueue({ id: 1, size: 7, arrival: 0, deadline: 1 });
  check(() => nanTail.decide(0), 'tailEstimateMs("g", 7)');
});

test('edge costs follow design §3.2: skew-weighted finish, margin and violation penalties, late queries unpenalised', () => {
  const cost = kairosCostMatrix({
    rows: [
      { tQosMs: 100, qosMs: 100, estMs: [50, 97] }, // fits on 0; inside the 2 ms margin on 1 (resi 1 ms)
      { tQosMs: 100, qosMs: 100, estMs: [120, 60] }, // violates on 0 (120 > 100); on 1: 2 + 60 = 62 fits
      { tQosMs: 0, qosMs: 100, estMs: [120, 300] }, // already late: plain skew-weighted finish
    ],
    cols: [
      { remainingMs: 0, skew: 1 },
      { remainingMs: 2, skew: 0.5 },
    ],
    safeguard: 0.02,
    penaltyMs: () => ({ margin: 1000, violate: 2000 }),
  });
  assert.deepEqual(cost, [
    [50, 1000],
    [2000, 0.5 * 62],
    [120, 0.5 * 302],
  ]);
});
