import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedDelayPolicy } from '../../../src/dispatch/policies.ts';
import { HetserveError } from '../../../src/model/errors.ts';
import { twoArrivals } from '../helpers.ts';
import { runBatchPolicyConformance } from './policy.case.ts';

runBatchPolicyConformance('fixed size / fixed delay (default delay)', () => fixedDelayPolicy());
runBatchPolicyConformance('fixed size / fixed delay (40 ms)', () => fixedDelayPolicy({ maxDelay: 0.04 }));

test('fixed delay counts from the first request of the batch only', () => {
  const def = twoArrivals(fixedDelayPolicy()); // default delay = min timeout = 20 ms from a1
  assert.deepEqual(
    def.map((b) => [b.releasedAt, b.requests.map((r) => r.id)]),
    [
      [0.02, ['a1']],
      [0.07, ['b1']],
    ],
  );
  const long = twoArrivals(fixedDelayPolicy({ maxDelay: 0.1 }));
  assert.equal(long.length, 1);
  assert.equal(long[0]!.releasedAt, 0.1);
});

test('fixed-delay options are validated, quoting the bad value', () => {
  assert.throws(
    () => fixedDelayPolicy({ maxDelay: -1 }),
    (e: unknown) => e instanceof HetserveError && e.code === 'E_DISPATCH_CONFIG' && /-1/.test(e.message),
  );
});
