import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harmonyBatchPolicy } from '../../../src/dispatch/policies.ts';
import { twoArrivals } from '../helpers.ts';
import { runBatchPolicyConformance } from './policy.case.ts';

runBatchPolicyConformance('harmony multi-timeout', () => harmonyBatchPolicy);

test('harmony: each request times out from its own arrival (b at 50 ms + 20 ms), not from the buffer opening', () => {
  const out = twoArrivals(harmonyBatchPolicy);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.reason, 'timeout');
  assert.ok(Math.abs(out[0]!.releasedAt - 0.07) < 1e-12, String(out[0]!.releasedAt));
  assert.deepEqual(
    out[0]!.requests.map((r) => r.id),
    ['a1', 'b1'],
  );
});
