import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RealTimeSource } from '../../src/dispatch/timers.ts';
import { TimerHeap } from '../../src/dispatch/timer-heap.ts';
import { HetserveError } from '../../src/model/errors.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `t` has no timer pending (polled; real timers). */
async function idle(t: RealTimeSource): Promise<void> {
  for (let i = 0; i < 500 && t.pending > 0; i++) await sleep(2);
  assert.equal(t.pending, 0);
}

test('TimerHeap: entries leave in (time, sequence) order, also after a filter', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { maxLength: 200 }),
      (entries) => {
        const h = new TimerHeap();
        entries.forEach(([at], i) => h.push(at, i, i));
        h.filter((tag) => entries[tag]![1]);
        const want = entries
          .map(([at, keep], i) => ({ at, i, keep }))
          .filter((e) => e.keep)
          .sort((a, b) => a.at - b.at || a.i - b.i)
          .map((e) => e.i);
        const got: number[] = [];
        while (h.size > 0) {
          got.push(h.topTag);
          h.pop();
        }
        assert.deepEqual(got, want);
        assert.equal(h.topTime, Infinity);
      },
    ),
  );
});

test('real time source: timers fire in (time, creation) order; cleared and stale handles do nothing', async () => {
  const t = new RealTimeSource();
  const now = t.now();
  const log: string[] = [];
  t.setTimer(now + 0.02, () => log.push('20a'));
  const x = t.setTimer(now + 0.01, () => log.push('10x'));
  t.setTimer(now + 0.02, () => log.push('20b'));
  t.setTimer(now - 1, () => log.push('past'));
  t.setTimer(now + 0.005, () => log.push('5'));
  assert.equal(t.pending, 5);
  t.clearTimer(x);
  t.clearTimer(x);
  t.clearTimer(12345.5);
  assert.equal(t.pending, 4);
  await idle(t);
  assert.deepEqual(log, ['past', '5', '20a', '20b']);
  // A fired timer's slot is reused: its old handle must not clear the new timer.
  const a = t.setTimer(t.now() + 0.001, () => log.push('a'));
  await idle(t);
  const b = t.setTimer(t.now() + 0.001, () => log.push('b'));
  assert.notEqual(a, b);
  t.clearTimer(a);
  await idle(t);
  assert.deepEqual(log.slice(-2), ['a', 'b']);
});

test('real time source: a callback may clear a timer due in the same turn, set new ones, or throw', async () => {
  const t = new RealTimeSource();
  const at = t.now() + 0.005;
  const log: string[] = [];
  let second = 0;
  t.setTimer(at, () => {
    log.push('first');
    t.clearTimer(second);
    t.setTimer(at, () => log.push('set by first'));
  });
  second = t.setTimer(at, () => log.push('second'));
  t.setTimer(at, () => log.push('third'));
  await idle(t);
  assert.deepEqual(log, ['first', 'third', 'set by first']);

  // A throwing callback reaches the process like a Node timer's; the timers due with it still run.
  const errors: unknown[] = [];
  const onError = (e: unknown) => errors.push(e);
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', onError);
  try {
    const at2 = t.now() + 0.005;
    t.setTimer(at2, () => {
      throw new Error('boom');
    });
    t.setTimer(at2, () => log.push('after boom'));
    await idle(t);
  } finally {
    process.removeListener('uncaughtException', onError);
    for (const l of listeners) process.on('uncaughtException', l);
  }
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as Error).message, 'boom');
  assert.equal(log.at(-1), 'after boom');
});

test('real time source: many cleared timers leave the live ones firing, and no Node timer once none is pending', async () => {
  const t = new RealTimeSource();
  const now = t.now();
  const fired: number[] = [];
  const ids: number[] = [];
  for (let i = 0; i < 5000; i++) ids.push(t.setTimer(now + 0.01 + (i % 7) * 0.001, () => fired.push(i)));
  for (let i = 0; i < 5000; i++) if (i % 1000 !== 0) t.clearTimer(ids[i]!);
  assert.equal(t.pending, 5);
  await idle(t);
  assert.deepEqual(
    fired,
    [0, 1000, 2000, 3000, 4000].sort((a, b) => (a % 7) - (b % 7) || a - b),
  );
  const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timeouts();
  const y = t.setTimer(t.now() + 60, () => assert.fail('cleared'));
  assert.equal(timeouts(), before + 1);
  t.clearTimer(y);
  assert.equal(timeouts(), before);
  // A timer later than the (cleared) one the Node timer waits for holds the process again and fires.
  const z = t.setTimer(t.now() + 0.01, () => assert.fail('cleared'));
  t.clearTimer(z);
  let late = false;
  t.setTimer(t.now() + 0.02, () => (late = true));
  assert.equal(timeouts(), before + 1);
  await idle(t);
  assert.ok(late);
  assert.throws(
    () => t.setTimer(NaN, () => undefined),
    (e: unknown) => e instanceof HetserveError && e.details['field'] === 'timer.at',
  );
});
