import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLeastFinishDistributor } from '../../../src/dispatch/distributor.ts';
import { runDistributorConformance, testEstimator } from './distributor.case.ts';

runDistributorConformance('least expected finish', (instances, estimateMs) =>
  createLeastFinishDistributor({ instances, estimateMs }),
);

test('least-finish routes by size: the big query to the GPU, the small one to a CPU', () => {
  const lf = createLeastFinishDistributor({ instances: ['c', 'g', 'c'], estimateMs: testEstimator });
  lf.enqueue({ id: 'big', size: 900, arrival: 0, deadline: 1 });
  lf.enqueue({ id: 'small', size: 20, arrival: 0, deadline: 1 });
  assert.deepEqual(
    lf.decide(0).map((a) => [a.query.id, a.instance]),
    [
      ['big', 1],
      ['small', 0],
    ],
  );
});
