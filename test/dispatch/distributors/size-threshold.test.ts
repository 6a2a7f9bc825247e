import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSizeThresholdDistributor } from '../../../src/dispatch/distributor.ts';
import { HetserveError } from '../../../src/model/errors.ts';
import { runDistributorConformance, testEstimator } from './distributor.case.ts';

runDistributorConformance('size threshold', (instances, estimateMs) =>
  createSizeThresholdDistributor({ instances, estimateMs, threshold: 300, largeTypes: ['g'] }),
);
runDistributorConformance('size threshold (spill)', (instances, estimateMs) =>
  createSizeThresholdDistributor({ instances, estimateMs, threshold: 300, largeTypes: ['g'], spill: true }),
);

test('size-threshold routes by size; a second big query waits for the GPU without blocking a small one', () => {
  const st = createSizeThresholdDistributor({
    instances: ['c', 'g', 'c'],
    estimateMs: testEstimator,
    threshold: 300,
    largeTypes: ['g'],
  });
  st.enqueue({ id: 'big', size: 900, arrival: 0, deadline: 1 });
  st.enqueue({ id: 'small', size: 20, arrival: 0, deadline: 1 });
  assert.deepEqual(
    st.decide(0).map((a) => [a.query.id, a.instance]),
    [
      ['big', 1],
      ['small', 0],
    ],
  );
  st.enqueue({ id: 'big2', size: 800, arrival: 0, deadline: 1 });
  st.enqueue({ id: 'small2', size: 30, arrival: 0, deadline: 1 });
  assert.deepEqual(
    st.decide(0).map((a) => [a.query.id, a.instance]),
    [['small2', 2]],
  );
  assert.equal(st.pending(), 1);
});

test('size-threshold options are validated, naming the field', () => {
  const base = { instances: ['g', 'c'], estimateMs: testEstimator };
  const check = (f: () => unknown, field: string) =>
    assert.throws(
      f,
      (e: unknown) =>
        e instanceof HetserveError && e.code === 'E_DISPATCH_CONFIG' && e.details['field'] === field,
    );
  check(() => createSizeThresholdDistributor({ ...base, threshold: -1, largeTypes: ['g'] }), 'threshold');
  check(() => createSizeThresholdDistributor({ ...base, threshold: 10, largeTypes: [] }), 'largeTypes');
});
