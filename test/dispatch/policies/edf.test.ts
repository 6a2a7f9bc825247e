import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edfPolicy } from '../../../src/dispatch/policies.ts';
import { HetserveError } from '../../../src/model/errors.ts';
import { twoArrivals } from '../helpers.ts';
import { runBatchPolicyConformance } from './policy.case.ts';

runBatchPolicyConformance('EDF', () => edfPolicy());
runBatchPolicyConformance('EDF on slack only, 5 ms guard', () =>
  edfPolicy({ useTimeouts: false, guard: 0.005 }),
);

test('EDF sends by deadline and waits on slack when told to', () => {
  const out = twoArrivals(edfPolicy({ useTimeouts: false }));
  // b1's slack runs out at 0.2 - 0.05 = 0.15; a1's at 0.25.
  assert.equal(out.length, 1);
  assert.ok(Math.abs(out[0]!.releasedAt - 0.15) < 1e-12);
  assert.deepEqual(
    out[0]!.requests.map((r) => r.id),
    ['b1', 'a1'],
  );
  const capped = twoArrivals(edfPolicy());
  assert.ok(Math.abs(capped[0]!.releasedAt - 0.07) < 1e-12, 'timeouts still bound the wait by default');
});

test('EDF options are validated, naming the field', () => {
  assert.throws(
    () => edfPolicy({ guard: Number.NaN }),
    (e: unknown) => e instanceof HetserveError && e.details['field'] === 'guard',
  );
});
