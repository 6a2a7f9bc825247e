import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bayesOpt } from '../../src/optimize/gp.ts';

test('same seed, same run; another seed, another run', () => {
  const f = (x: number[]) => -((x[0] - 0.3) ** 2) - (x[1] - 2) ** 2;
  const a = bayesOpt(
    f,
    [
      [0, 1],
      [0, 4],
    ],
    { seed: 7 },
  );
  const b = bayesOpt(
    f,
    [
      [0, 1],
      [0, 4],
    ],
    { seed: 7 },
  );
  const c = bayesOpt(
    f,
    [
      [0, 1],
      [0, 4],
    ],
    { seed: 8 },
  );
  assert.deepEqual(a, b);
  assert.notDeepEqual(
    a.history.map((s) => s.x),
    c.history.map((s) => s.x),
  );
  assert.equal(a.history.length, 15);
});

test('finds the optimum of a smooth function better than random search with the same budget', () => {
  // Averaged over seeds so a lucky random draw cannot decide the outcome.
  const f = (x: number[]) => -((x[0] - 0.62) ** 2) - 0.5 * (x[1] - 0.21) ** 2;
  let boGap = 0;
  let randomGap = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const bo = bayesOpt(
      f,
      [
        [0, 1],
        [0, 1],
      ],
      { seed, initPoints: 5, iterations: 10 },
    );
    const rnd = bayesOpt(
      f,
      [
        [0, 1],
        [0, 1],
      ],
      { seed, initPoints: 15, iterations: 0 },
    );
    boGap += -bo.best.y;
    randomGap += -rnd.best.y;
  }
  assert.ok(boGap < randomGap / 2, `BO gap ${boGap} vs random ${randomGap}`);
  assert.ok(boGap / 10 < 2e-3, `BO mean gap ${boGap / 10}`);
});

test('best is the maximum of the history and never an infeasible point', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1000 }),
      fc.double({ min: 0.1, max: 0.9, noNaN: true }),
      (seed, cut) => {
        const f = (x: number[]) => (x[0] < cut ? -Infinity : -Math.abs(x[0] - cut - 0.05));
        const r = bayesOpt(f, [[0, 1]], { seed, candidates: 200 });
        const feasible = r.history.filter((s) => Number.isFinite(s.y));
        if (feasible.length === 0) return assert.equal(r.best.y, -Infinity);
        assert.equal(r.best.y, Math.max(...feasible.map((s) => s.y)));
        assert.ok(r.best.x[0] >= cut);
      },
    ),
    { numRuns: 30 },
  );
});

test('project maps proposals onto a grid before evaluation', () => {
  const seen: number[][] = [];
  const r = bayesOpt(
    (x) => {
      seen.push(x);
      return -Math.abs(x[0] - 7);
    },
    [[1, 32]],
    { project: (x) => [Math.round(x[0])], seed: 3 },
  );
  assert.ok(seen.every((x) => Number.isInteger(x[0])));
  assert.ok(Number.isInteger(r.best.x[0]));
});

test('bad options are rejected with the value', () => {
  assert.throws(() => bayesOpt(() => 0, [[0, 1]], { initPoints: 0 }), /initPoints.*got 0/);
  assert.throws(() => bayesOpt(() => 0, [[1, 0]]), /bad bound/);
});
