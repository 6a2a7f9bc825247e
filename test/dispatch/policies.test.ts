import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBatchManager } from '../../src/dispatch/batch-manager.ts';
import { edfPolicy, fixedDelayPolicy, harmonyBatchPolicy } from '../../src/dispatch/policies.ts';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import type { Batch, BatchPolicy } from '../../src/dispatch/types.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { makePlan } from './helpers.ts';
import { batchPolicyConformance } from './policy.case.ts';

batchPolicyConformance('harmony multi-timeout', () => harmonyBatchPolicy);
batchPolicyConformance('fixed size / fixed delay (default delay)', () => fixedDelayPolicy());
batchPolicyConformance('fixed size / fixed delay (40 ms)', () => fixedDelayPolicy({ maxDelay: 0.04 }));
batchPolicyConformance('EDF', () => edfPolicy());
batchPolicyConformance('EDF on slack only, 5 ms guard', () =>
  edfPolicy({ useTimeouts: false, guard: 0.005 }),
);

/** Two apps in one group (timeouts a = 100 ms, b = 20 ms); a at t=0, b at t=50 ms. */
function twoArrivals(policy: BatchPolicy): Batch<number>[] {
  const timers = new VirtualTimeSource();
  const out: Batch<number>[] = [];
  const m = createBatchManager<number>({
    plan: makePlan([{ apps: ['a', 'b'], batchSize: 8, timeouts: [0.1, 0.02], latencyMax: 0.05 }]),
    timers,
    policy,
    onBatch: (b) => out.push(b),
  });
  m.submit({ id: 'a1', app: 'a', arrival: 0, deadline: 0.3, payload: 1 });
  timers.advanceTo(0.05);
  m.submit({ id: 'b1', app: 'b', arrival: 0.05, deadline: 0.2, payload: 2 });
  timers.runAll();
  return out;
}

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

test('policy options are validated, quoting the bad value', () => {
  assert.throws(
    () => fixedDelayPolicy({ maxDelay: -1 }),
    (e: unknown) => e instanceof HetserveError && e.code === 'E_DISPATCH_CONFIG' && /-1/.test(e.message),
  );
  assert.throws(
    () => edfPolicy({ guard: Number.NaN }),
    (e: unknown) => e instanceof HetserveError && e.details['field'] === 'guard',
  );
});
