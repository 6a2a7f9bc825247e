import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createKairosDistributor, createLeastFinishDistributor } from '../../src/dispatch/distributor.ts';
import { createDistributorLoop } from '../../src/dispatch/loop.ts';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import type { Assignment } from '../../src/dispatch/types.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { testEstimator } from './distributors/distributor.case.ts';

test('the loop decides on arrival, holds a query for the busy GPU, re-matches on a timer only while useful', () => {
  const timers = new VirtualTimeSource();
  const log: [string | number, number, number][] = [];
  const loop = createDistributorLoop({
    distributor: createKairosDistributor({ instances: ['g', 'c'], estimateMs: testEstimator, baseType: 'g' }),
    timers,
    onAssign: (a, now) => log.push([a.query.id, a.instance, now]),
  });
  loop.enqueue({ id: 'warm', size: 300, arrival: 0, deadline: 0.1 });
  assert.deepEqual(log, [['warm', 0, 0]]);
  assert.equal(timers.pending, 0, 'nothing waits: no timer');
  timers.advanceTo(0.001);
  loop.enqueue({ id: 'big', size: 900, arrival: 0.001, deadline: 0.351 });
  assert.equal(log.length, 1, 'held for the GPU');
  assert.equal(timers.pending, 1, 'a re-match timer while it waits and the CPU is idle');
  timers.advanceTo(0.05); // ~49 re-matches, still held
  assert.equal(log.length, 1);
  loop.complete(0);
  assert.deepEqual(log.at(-1), ['big', 0, 0.05]);
  assert.equal(timers.pending, 0);
  loop.close();
  loop.enqueue({ id: 'after', size: 10, arrival: 0.05, deadline: 1 });
  assert.equal(log.length, 2, 'closed: no more decisions');
  assert.throws(
    () =>
      createDistributorLoop({ distributor: loop.distributor, timers, onAssign: () => {}, rematchEvery: 0 }),
    (e: unknown) => e instanceof HetserveError && e.details['field'] === 'rematchEvery',
  );
});

test('a simulated run through the loop serves every query exactly once', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.double({ min: 0, max: 0.05, noNaN: true })), {
        minLength: 1,
        maxLength: 60,
      }),
      fc.boolean(),
      (qs, kairos) => {
        const timers = new VirtualTimeSource();
        const served = new Map<string | number, number>();
        const instances = ['g', 'c', 'r'];
        const d = kairos
          ? createKairosDistributor({ instances, estimateMs: testEstimator, baseType: 'g' })
          : createLeastFinishDistributor({ instances, estimateMs: testEstimator });
        const loop = createDistributorLoop({
          distributor: d,
          timers,
          onAssign: (a: Assignment) => {
            assert.ok(!served.has(a.query.id));
            served.set(a.query.id, a.instance);
            // The real service time differs from the estimate: 80%..120%.
            const ms = a.estimateMs * (0.8 + (0.4 * ((Number(a.query.id) * 7) % 5)) / 4);
            timers.setTimer(timers.now() + ms / 1000, () => loop.complete(a.instance));
          },
        });
        let t = 0;
        qs.forEach(([size, gap], i) => {
          t += gap;
          timers.advanceTo(t);
          loop.enqueue({ id: i, size, arrival: t, deadline: t + 0.35 });
        });
        timers.runAll(1e6);
        assert.equal(served.size, qs.length);
        assert.equal(d.pending(), 0);
      },
    ),
    { numRuns: 60 },
  );
});
