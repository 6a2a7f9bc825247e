/**
 * The cluster planner's default rule with the simulator (`allocateVerified`, what `hetserve allocate`
 * runs): the top 5 by upper bound are simulated briefly with a fixed seed; the result is deterministic;
 * the paper's similarity rule and top-1 stay reachable and simulate nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateVerified, DEFAULT_VERIFICATION } from '../../src/simulate/allocate-verified.ts';
import { allocate } from '../../src/plan/cluster/allocate.ts';

test('default rule: verified by a short deterministic simulation of the top 5', async () => {
  const a = await allocateVerified({ model: 'ncf', lp: false });
  assert.equal(a.select, 'verified');
  assert.equal(a.oracle?.ranked.length, DEFAULT_VERIFICATION.candidates);
  assert.match(a.oracle!.name, /simulation\(kairos\)/);
  // the chosen one is among the simulated ones and within the tolerance of the best measurement
  const mine = a.oracle!.ranked.find((r) => JSON.stringify(r.counts) === JSON.stringify(a.chosen.counts));
  assert.ok(mine, 'chosen among the simulated candidates');
  assert.ok(mine.allowableQps >= (1 - a.verifyTolerance!) * a.oracle!.ranked[0].allowableQps);
  assert.ok(a.oracle!.ranked[0].allowableQps > 0);
  // deterministic: the same seed gives the same measurements and the same pick
  const b = await allocateVerified({ model: 'ncf', lp: false });
  assert.deepEqual(b.oracle, a.oracle);
  assert.deepEqual(b.chosen, a.chosen);
  // another seed measures differently (so the seed is what makes it deterministic)
  // (a bisection lands on a grid of 1.2 × capacity / 128, so one configuration may measure the
  // same under two seeds: compare all five)
  const c = await allocateVerified({ model: 'ncf', lp: false, verify: { seed: 7 } });
  assert.equal(c.oracle!.ranked.length, 5);
  const qpsOf = (r: typeof a, counts: Record<string, number>) =>
    r.oracle!.ranked.find((x) => JSON.stringify(x.counts) === JSON.stringify(counts))!.allowableQps;
  assert.ok(
    c.oracle!.ranked.some((x) => x.allowableQps !== qpsOf(a, x.counts)),
    'seed 7 measures differently from seed 1',
  );
});

test('the paper similarity rule and top-1 are reachable and simulate nothing', async () => {
  const s = await allocateVerified({ model: 'rm2', lp: false, select: 'similarity' });
  assert.equal(s.select, 'similarity');
  assert.equal(s.oracle, undefined);
  assert.equal(s.chosen.rank, s.similarity.chosenRank);
  const plain = await allocate({ model: 'rm2', lp: false, select: 'similarity' });
  assert.deepEqual(s.chosen, plain.chosen);
  const t = await allocateVerified({ model: 'rm2', lp: false, select: 'top1' });
  assert.equal(t.oracle, undefined);
  assert.equal(t.chosen.rank, 1);
  // the prototype-compatible allocator keeps the paper's rule by default
  const p = await allocateVerified({ model: 'rm2', lp: false, compat: 'prototype' });
  assert.equal(p.select, 'similarity');
  await assert.rejects(
    allocateVerified({ model: 'rm2', lp: false, verify: { queries: 10 } }),
    (e: Error & { code?: string; details?: { field?: string } }) =>
      e.code === 'E_INVALID_OPTION' && e.details?.field === 'verify.queries',
  );
});
