import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFcfsDistributor } from '../../../src/dispatch/distributor.ts';
import { runDistributorConformance, testEstimator } from './distributor.case.ts';

runDistributorConformance('fcfs', (instances, estimateMs) =>
  createFcfsDistributor({ instances, estimateMs }),
);

test('fcfs fills idle instances in pool order, whatever the size', () => {
  const fcfs = createFcfsDistributor({ instances: ['c', 'g', 'c'], estimateMs: testEstimator });
  fcfs.enqueue({ id: 'big', size: 900, arrival: 0, deadline: 1 });
  fcfs.enqueue({ id: 'small', size: 20, arrival: 0, deadline: 1 });
  assert.deepEqual(
    fcfs.decide(0).map((a) => [a.query.id, a.instance]),
    [
      ['big', 0],
      ['small', 1],
    ],
  );
});
