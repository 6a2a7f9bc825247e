import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createBatchManager } from '../../src/dispatch/batch-manager.ts';
import { RealTimeSource, VirtualTimeSource } from '../../src/dispatch/timers.ts';
import type { Batch, BatchManagerOptions, DispatchRequest, DropReason } from '../../src/dispatch/types.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { makePlan } from './helpers.ts';

type Req = DispatchRequest<null>;
const req = (id: number, app: string, arrival: number, deadline: number): Req => ({
  id,
  app,
  arrival,
  deadline,
  payload: null,
});

function setup(
  extra: Partial<BatchManagerOptions<null>> = {},
  plan = makePlan([{ apps: ['a', 'b'], batchSize: 4, timeouts: [1, 1], latencyMax: 0.1 }]),
) {
  const timers = new VirtualTimeSource();
  const out: Batch<null>[] = [];
  const drops: [number, DropReason][] = [];
  const m = createBatchManager<null>({
    plan,
    timers,
    onBatch: (b) => out.push(b),
    onDrop: (r, why) => drops.push([r.id as number, why]),
    ...extra,
  });
  return { timers, out, drops, m };
}

function isCoded(code: string, re?: RegExp) {
  return (e: unknown) =>
    e instanceof HetserveError && e.code === code && (re === undefined || re.test(e.message));
}

test('constructor errors name the option and quote the bad value', () => {
  const plan = makePlan([{ apps: ['a'], batchSize: 2, timeouts: [0.1] }]);
  const timers = new VirtualTimeSource();
  const ok = { plan, timers, onBatch: () => {} };
  assert.throws(
    () => createBatchManager({ ...ok, capacity: 0 }),
    isCoded('E_DISPATCH_CONFIG', /capacity.*got 0/),
  );
  assert.throws(
    () => createBatchManager({ ...ok, overflow: 'drop' as never }),
    isCoded('E_DISPATCH_CONFIG', /overflow.*"drop"/),
  );
  assert.throws(
    () => createBatchManager({ ...ok, lateAtRelease: 'x' as never }),
    isCoded('E_DISPATCH_CONFIG', /lateAtRelease/),
  );
  assert.throws(
    () => createBatchManager({ ...ok, timers: {} as never }),
    isCoded('E_DISPATCH_CONFIG', /timers/),
  );
  assert.throws(
    () => createBatchManager({ ...ok, capacity: () => 1 }),
    isCoded('E_DISPATCH_CONFIG', /batch size \(2\)/),
  );
  const noTimeout = makePlan([{ apps: ['a'], batchSize: 2, timeouts: [0.1] }]);
  noTimeout.groups[0]!.timeouts = {};
  assert.throws(
    () => createBatchManager({ ...ok, plan: noTimeout }),
    isCoded('E_DISPATCH_CONFIG', /plan\.groups\.0\.timeouts\.a/),
  );
  const dup = makePlan([
    { apps: ['a'], batchSize: 2, timeouts: [0.1] },
    { apps: ['a'], batchSize: 2, timeouts: [0.1] },
  ]);
  // An app in two groups is a split app: each group must give its share of the app's traffic.
  assert.throws(
    () => createBatchManager({ ...ok, plan: dup }),
    isCoded('E_DISPATCH_CONFIG', /plan\.groups\.0\.appRps\.a.*share/),
  );
  const badBatch = makePlan([{ apps: ['a'], batchSize: 2, timeouts: [0.1] }]);
  badBatch.groups[0]!.batchSize = 0;
  assert.throws(
    () => createBatchManager({ ...ok, plan: badBatch }),
    isCoded('E_DISPATCH_CONFIG', /plan\.groups\.0\.batchSize/),
  );
});

test('unknown apps and submits after close are refused with a reason and code', () => {
  const { m, out } = setup();
  const r1 = m.submit(req(1, 'zzz', 0, 1));
  assert.deepEqual(
    [r1.accepted, !r1.accepted && r1.reason, !r1.accepted && r1.code],
    [false, 'unknown-app', 'E_UNKNOWN_APP'],
  );
  m.submit(req(2, 'a', 0, 1));
  m.close();
  assert.equal(out.length, 1, 'close flushes');
  assert.equal(out[0]!.reason, 'flush');
  const r2 = m.submit(req(3, 'a', 0, 1));
  assert.equal(!r2.accepted && r2.reason, 'closed');
  assert.deepEqual(m.stats().rejected, { 'unknown-app': 1, 'queue-full': 0, 'deadline-lost': 0, closed: 1 });
});

test('a NaN or inverted deadline is refused loudly, naming the field', () => {
  const { m } = setup();
  assert.throws(() => m.submit(req(1, 'a', 1, Number.NaN)), isCoded('E_INVALID_INPUT', /request\.deadline/));
  assert.throws(() => m.submit(req(1, 'a', 1, 0.5)), isCoded('E_INVALID_INPUT'));
});

// A buffer only outgrows a batch while maxInFlight holds its batches back.
test("overflow 'reject' refuses with queue-full; 'shed-lost' drops the lost request with the earliest deadline", () => {
  const plan = makePlan([{ apps: ['a', 'b'], batchSize: 1, timeouts: [5, 5], latencyMax: 0.1 }]);
  for (const overflow of ['reject', 'shed-lost'] as const) {
    const { m, timers, drops, out } = setup({ overflow, capacity: 3, maxInFlight: 1 }, plan);
    m.submit(req(0, 'a', 0, 9)); // goes out, occupies the only slot
    m.submit(req(1, 'a', 0, 0.5));
    m.submit(req(2, 'b', 0, 0.3));
    m.submit(req(3, 'a', 0, 5));
    assert.equal(out.length, 1);
    timers.advanceTo(0.45); // now + 0.1 > 0.3 and > 0.5: 1 and 2 are lost, 2 has the earlier deadline
    const r = m.submit(req(4, 'a', 0.45, 5));
    if (overflow === 'reject') {
      assert.equal(!r.accepted && r.reason, 'queue-full');
      assert.equal(!r.accepted && r.code, 'E_QUEUE_FULL');
      assert.deepEqual(drops, []);
    } else {
      assert.ok(r.accepted);
      assert.deepEqual(drops, [[2, 'shed']]);
      m.submit(req(5, 'a', 0.45, 5)); // sheds 1
      const r6 = m.submit(req(6, 'a', 0.45, 5)); // nothing lost any more
      assert.equal(!r6.accepted && r6.reason, 'queue-full');
      assert.deepEqual(drops, [
        [2, 'shed'],
        [1, 'shed'],
      ]);
      assert.equal(m.stats().dropped.shed, 2);
    }
    assert.equal(m.stats().queued, 3);
    m.complete(out[0]!);
    assert.equal(out.length, 2, 'a freed slot lets the next ready batch out');
    assert.throws(() => m.complete(out[0]!), isCoded('E_DISPATCH_CONFIG', /already completed/));
  }
});

test('deferred requests (an app past its share) are overtaken by the others when a batch is formed, in virtual time', () => {
  // One slot, batches of 2: a flood from a (deferred) queues behind the running batch; b's
  // requests, arriving later, leave in the next batches instead of waiting behind the flood (FIFO
  // would send [3, 4], [5, 6] first and b's 10 and 11 last).
  for (const order of ['fifo', 'deadline'] as const) {
    const policy =
      order === 'fifo'
        ? undefined
        : { name: 'edf-ish', order, releaseBy: (r: DispatchRequest) => r.arrival + 0.1 };
    const { m, out, timers } = setup(
      { maxInFlight: 1, capacity: 10, ...(policy ? { policy } : {}) },
      makePlan([{ apps: ['a', 'b'], batchSize: 2, timeouts: [0.1, 0.1] }]),
    );
    const flood = (id: number, t: number): Req => ({ ...req(id, 'a', t, t + 0.5), deferred: true });
    for (let i = 1; i <= 8; i++) m.submit(flood(i, i * 0.001));
    timers.advanceTo(0.02);
    m.submit(req(10, 'b', 0.02, 0.62));
    m.submit(req(11, 'b', 0.021, 0.621));
    m.submit(flood(12, 0.022));
    m.submit(req(13, 'b', 0.023, 0.623));
    const ids = (): number[][] => out.map((b) => b.requests.map((r) => r.id as number));
    assert.deepEqual(ids(), [[1, 2]]);
    m.complete(out[0]!);
    assert.deepEqual(ids()[1], [10, 11], order);
    m.complete(out[1]!);
    // One b left: it goes first, the oldest deferred request fills the batch.
    assert.deepEqual(ids()[2], [13, 3], order);
    m.complete(out[2]!);
    // Only deferred requests left: plain policy order (arrival), and the queue's first is the oldest.
    assert.deepEqual(ids()[3], [4, 5], order);
    assert.equal(m.stats().queued, 4);
    timers.advanceTo(1);
    for (let k = 3; k < 6; k++) m.complete(out[k]!);
    assert.deepEqual(ids().slice(4), [
      [6, 7],
      [8, 12],
    ]);
    assert.equal(m.stats().queued, 0);
  }
});

test('maxInFlight holds ready batches (full and timed out) until complete()', () => {
  const { m, out, timers } = setup(
    { maxInFlight: 2 },
    makePlan([{ apps: ['a'], batchSize: 2, timeouts: [0.1] }]),
  );
  for (let i = 1; i <= 7; i++) m.submit(req(i, 'a', 0, 9));
  assert.deepEqual(
    out.map((b) => b.requests.map((r) => r.id)),
    [
      [1, 2],
      [3, 4],
    ],
  );
  assert.equal(m.stats().inFlight, 2);
  timers.advanceTo(1); // 7 timed out long ago but has no slot
  assert.equal(out.length, 2);
  m.complete(out[0]!);
  assert.deepEqual(
    out.at(-1)!.requests.map((r) => r.id),
    [5, 6],
  );
  m.complete(out[1]!);
  assert.deepEqual([out.at(-1)!.reason, out.at(-1)!.requests.map((r) => r.id)], ['timeout', [7]]);
  assert.equal(m.stats().queued, 0);
  assert.throws(
    () =>
      createBatchManager({
        plan: makePlan([{ apps: ['a'], batchSize: 1, timeouts: [0] }]),
        timers,
        onBatch: () => {},
        maxInFlight: 0,
      }),
    isCoded('E_DISPATCH_CONFIG', /maxInFlight.*got 0/),
  );
});

test('maxInFlight as a function of the group: a limit per group, Infinity untracked, bad results refused', () => {
  const seen: string[] = [];
  const { m, out, timers } = setup(
    {
      maxInFlight: (g) => {
        seen.push(g.key);
        return g.key === 'a' ? 1 : Infinity;
      },
    },
    makePlan([
      { apps: ['a'], batchSize: 2, timeouts: [0.1] },
      { apps: ['b'], batchSize: 2, timeouts: [0.1] },
    ]),
  );
  assert.deepEqual(seen, ['a', 'b']);
  for (let i = 1; i <= 6; i++) m.submit(req(i, 'a', 0, 9));
  for (let i = 11; i <= 16; i++) m.submit(req(i, 'b', 0, 9));
  const ids = (k: string) => out.filter((b) => b.group.key === k).map((b) => b.requests.map((r) => r.id));
  // a: one batch out, the rest waits; b: unlimited, every full batch leaves at once.
  assert.deepEqual(ids('a'), [[1, 2]]);
  assert.deepEqual(ids('b'), [
    [11, 12],
    [13, 14],
    [15, 16],
  ]);
  assert.equal(m.stats().inFlight, 1);
  m.complete(out.find((b) => b.group.key === 'b')!); // untracked group: a no-op
  assert.equal(ids('a').length, 1);
  m.complete(out[0]!);
  assert.deepEqual(ids('a'), [
    [1, 2],
    [3, 4],
  ]);
  assert.throws(() => m.complete(out[0]!), isCoded('E_DISPATCH_CONFIG', /already completed/));
  // A reconfiguration asks again for the new plan's groups.
  m.reconfigure(makePlan([{ apps: ['a', 'b'], batchSize: 2, timeouts: [0.1, 0.1] }]));
  assert.deepEqual(seen, ['a', 'b', 'a,b']);
  timers.runAll();
  m.flush();
  assert.equal(m.stats().queued, 0);
  assert.equal(m.stats().released, 12);
  for (const bad of [0, 1.5, -1, Number.NaN, 'x']) {
    assert.throws(
      () =>
        createBatchManager({
          plan: makePlan([{ apps: ['a'], batchSize: 1, timeouts: [0] }]),
          timers,
          onBatch: () => {},
          maxInFlight: () => bad as number,
        }),
      isCoded('E_DISPATCH_CONFIG', /maxInFlight\(group 0\)/),
    );
  }
});

test("lateAtRelease 'drop' removes late requests before release; 'send' counts them in Batch.late", () => {
  for (const lateAtRelease of ['send', 'drop'] as const) {
    const { m, out, drops } = setup({ lateAtRelease });
    m.submit(req(1, 'a', 0, 2));
    m.submit(req(2, 'b', 0, 1.05));
    m.flush(); // released at 0: 0 + 0.1 <= 1.05, nobody late yet
    assert.deepEqual([out.length, out[0]!.late, out[0]!.requests.length, drops.length], [1, 0, 2, 0]);
  }
  for (const lateAtRelease of ['send', 'drop'] as const) {
    const { m, out, drops, timers } = setup({ lateAtRelease });
    m.submit(req(1, 'a', 0, 2));
    m.submit(req(2, 'b', 0, 1.05));
    timers.runAll(); // timeout at t = 1
    assert.equal(out.length, 1);
    assert.equal(out[0]!.releasedAt, 1);
    if (lateAtRelease === 'send') {
      assert.equal(out[0]!.late, 1);
      assert.equal(out[0]!.requests.length, 2);
      assert.equal(m.stats().late, 1);
    } else {
      assert.deepEqual(
        out[0]!.requests.map((r) => r.id),
        [1],
      );
      assert.deepEqual(drops, [[2, 'deadline-lost']]);
      assert.equal(m.stats().dropped['deadline-lost'], 1);
    }
  }
});

test("lateAtRelease 'drop-deferred' drops the late deferred requests from the whole buffer before a batch is formed, and sends the others", () => {
  const { m, out, drops, timers } = setup(
    { lateAtRelease: 'drop-deferred', maxInFlight: 1, capacity: 10 },
    makePlan([{ apps: ['a', 'b'], batchSize: 2, timeouts: [1, 1], latencyMax: 0.1 }]),
  );
  const deferred = (id: number, deadline: number): Req => ({ ...req(id, 'a', 0, deadline), deferred: true });
  m.submit(req(1, 'b', 0, 5));
  m.submit(req(2, 'b', 0, 5));
  // Queued behind the running batch: 3 and 5 will be late by t = 0.5, 4 and 6 not; 7 is late but kept.
  m.submit(deferred(3, 0.55));
  m.submit(deferred(4, 2));
  m.submit(deferred(5, 0.58));
  m.submit(deferred(6, 2));
  m.submit(req(7, 'b', 0, 0.52));
  timers.advanceTo(0.5);
  m.complete(out[0]!);
  // 7 goes first (kept, sent although late); 3 and 5 are dropped, 4 fills the batch.
  assert.deepEqual(
    out.map((b) => b.requests.map((r) => r.id)),
    [
      [1, 2],
      [7, 4],
    ],
  );
  assert.deepEqual(drops, [
    [3, 'deadline-lost'],
    [5, 'deadline-lost'],
  ]);
  assert.equal(out[1]!.late, 1);
  m.complete(out[1]!);
  timers.advanceTo(1); // 6 alone: its timeout releases it
  assert.deepEqual(
    out[2]!.requests.map((r) => r.id),
    [6],
  );
  assert.equal(m.stats().queued, 0);
});

test("lateAtRelease 'drop-deferred' judges a deferred request against deferredLatency when it exceeds the plan's latencyMax; kept ones are still sent", () => {
  // The backend runs batches in 0.3 s where the plan says 0.1 s (a measured latency).
  let measured = 0.3;
  const { m, out, drops, timers } = setup(
    { lateAtRelease: 'drop-deferred', maxInFlight: 1, capacity: 10, deferredLatency: () => measured },
    makePlan([{ apps: ['a', 'b'], batchSize: 2, timeouts: [1, 1], latencyMax: 0.1 }]),
  );
  const deferred = (id: number, deadline: number): Req => ({ ...req(id, 'a', 0, deadline), deferred: true });
  m.submit(req(1, 'b', 0, 5));
  m.submit(req(2, 'b', 0, 5));
  // Released at t = 0.5: 3 is in time by the plan (0.6) but not by the measured 0.3 s (0.8); 4 is
  // in time by both; 5 (kept) is late by the measured latency and sent all the same.
  m.submit(deferred(3, 0.7));
  m.submit(deferred(4, 0.85));
  m.submit(req(5, 'b', 0, 0.7));
  timers.advanceTo(0.5);
  m.complete(out[0]!);
  assert.deepEqual(
    out.map((b) => b.requests.map((r) => r.id)),
    [
      [1, 2],
      [4, 5],
    ],
  );
  assert.deepEqual(drops, [[3, 'deadline-lost']]);
  // A measured latency below the plan's changes nothing: the plan's latencyMax still applies.
  measured = 0.01;
  m.submit(deferred(6, 0.8 + 0.09));
  m.submit(deferred(7, 0.8 + 0.11));
  timers.advanceTo(0.8);
  m.complete(out[1]!);
  assert.deepEqual(
    out[2]!.requests.map((r) => r.id),
    [7],
  );
  assert.deepEqual(drops, [
    [3, 'deadline-lost'],
    [6, 'deadline-lost'],
  ]);
  assert.throws(
    () => setup({ lateAtRelease: 'drop-deferred', deferredLatency: 0.3 as never }),
    isCoded('E_DISPATCH_CONFIG', /deferredLatency/),
  );
});

test('rejectLate refuses a request that cannot make it even if sent now', () => {
  const { m, timers } = setup({ rejectLate: true });
  timers.advanceTo(1);
  const r = m.submit(req(1, 'a', 1, 1.05));
  assert.equal(!r.accepted && r.reason, 'deadline-lost');
  assert.equal(!r.accepted && r.code, 'E_DEADLINE_LOST');
  assert.ok(m.submit(req(2, 'a', 1, 1.2)).accepted);
});

test('timeout 0 with batch size 1 dispatches every request at once (CPU groups)', () => {
  const { m, out } = setup(
    {},
    makePlan([
      { apps: ['a'], batchSize: 1, timeouts: [0] },
      { apps: ['b'], batchSize: 4, timeouts: [0] },
    ]),
  );
  m.submit(req(1, 'a', 0, 1));
  m.submit(req(2, 'b', 0, 1));
  assert.deepEqual(
    out.map((b) => [b.reason, b.requests[0]!.id]),
    [
      ['full', 1],
      ['timeout', 2],
    ],
  );
});

test('reconfigure re-homes queued requests; apps without a group leave at once; a bad plan changes nothing', () => {
  const { m, out, timers } = setup(
    {},
    makePlan([
      { apps: ['a'], batchSize: 4, timeouts: [1] },
      { apps: ['b', 'c'], batchSize: 4, timeouts: [1, 1] },
    ]),
  );
  m.submit(req(1, 'a', 0, 9));
  m.submit(req(2, 'b', 0.1, 9));
  m.submit(req(3, 'c', 0.2, 9));
  m.submit(req(4, 'a', 0.3, 9));
  const bad = makePlan([{ apps: ['a'], batchSize: 4, timeouts: [1] }]);
  bad.groups[0]!.batchSize = -1;
  assert.throws(() => m.reconfigure(bad), isCoded('E_DISPATCH_CONFIG'));
  assert.equal(m.stats().planVersion, 0);
  assert.equal(m.stats().queued, 4);
  timers.advanceTo(0.4);
  // New plan: a and b together with batch 3 (a1, b2, a4 -> full at once), c gone.
  m.reconfigure(makePlan([{ apps: ['b', 'a'], batchSize: 3, timeouts: [0.5, 0.5] }]));
  assert.deepEqual(
    out.map((b) => [b.reason, b.planVersion, b.group.key, b.requests.map((r) => r.id)]),
    [
      // c's request left in the old plan's group, so it carries the old plan's version (0).
      ['reconfigure', 0, 'b,c', [3]],
      ['full', 1, 'b,a', [1, 2, 4]],
    ],
  );
  m.submit(req(5, 'a', 0.5, 9));
  timers.runAll();
  assert.deepEqual(
    out.at(-1)!.requests.map((r) => r.id),
    [5],
  );
  assert.equal(out.at(-1)!.releasedAt, 1.0);
  const s = m.stats();
  assert.equal(s.reconfigurations, 1);
  assert.equal(s.released, 5);
});

test('re-homed requests whose new timeout has already passed leave at once, timed from their arrival', () => {
  const { m, out, timers } = setup({}, makePlan([{ apps: ['a'], batchSize: 4, timeouts: [1] }]));
  m.submit(req(1, 'a', 0, 9));
  timers.advanceTo(0.3);
  m.reconfigure(makePlan([{ apps: ['a'], batchSize: 4, timeouts: [0.2] }]));
  assert.deepEqual(
    out.map((b) => [b.reason, b.releasedAt]),
    [['timeout', 0.3]],
  );
});

test('a batch callback may submit again (re-entrancy)', () => {
  const timers = new VirtualTimeSource();
  let n = 0;
  const m = createBatchManager<null>({
    plan: makePlan([{ apps: ['a'], batchSize: 2, timeouts: [1] }]),
    timers,
    onBatch: () => {
      n++;
      if (n < 3) {
        m.submit(req(10 + n, 'a', 0, 9));
        m.submit(req(20 + n, 'a', 0, 9));
      }
    },
  });
  m.submit(req(1, 'a', 0, 9));
  m.submit(req(2, 'a', 0, 9));
  assert.equal(n, 3);
  assert.equal(m.stats().released, 6);
});

test('real time: a timeout batch leaves after about its timeout', async () => {
  const timers = new RealTimeSource();
  const t0 = timers.now();
  const got = await new Promise<Batch<null>>((resolve) => {
    const m = createBatchManager<null>({
      plan: makePlan([{ apps: ['a'], batchSize: 8, timeouts: [0.03] }]),
      timers,
      onBatch: resolve,
    });
    m.submit(req(1, 'a', t0, t0 + 1));
  });
  assert.equal(got.reason, 'timeout');
  assert.ok(got.releasedAt - t0 >= 0.029, `released after ${got.releasedAt - t0}s`);
  assert.equal(timers.pending, 0);
});

test('virtual time source: order, clearing, past timers and bad times', () => {
  const t = new VirtualTimeSource(5);
  const log: string[] = [];
  t.setTimer(7, () => log.push('7a'));
  const x = t.setTimer(6, () => log.push('6'));
  t.setTimer(7, () => log.push('7b'));
  t.setTimer(1, () => log.push(`past@${t.now()}`));
  t.clearTimer(x);
  t.clearTimer(999);
  t.advanceTo(7);
  assert.deepEqual(log, ['past@5', '7a', '7b']);
  assert.equal(t.now(), 7);
  assert.throws(() => t.advanceTo(6), isCoded('E_DISPATCH_CONFIG', /time/));
  assert.equal(t.nextAt(), undefined);
});

test('property: with maxInFlight, overflow and reconfiguration, every accepted request leaves exactly once', () => {
  const APPS = ['a', 'b', 'c'];
  const planArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 3, maxLength: 3 }).map((sizes) =>
    makePlan([
      { apps: ['a', 'b'], batchSize: sizes[0]!, timeouts: [0.02, 0.05], latencyMax: 0.01 },
      { apps: ['c'], batchSize: sizes[1]!, timeouts: [sizes[2]! / 100], latencyMax: 0.01 },
    ]),
  );
  const op = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        k: fc.constant('submit' as const),
        app: fc.constantFrom(...APPS),
        gap: fc.double({ min: 0, max: 0.03, noNaN: true }),
        slo: fc.double({ min: 0, max: 0.2, noNaN: true }),
      }),
    },
    { weight: 4, arbitrary: fc.record({ k: fc.constant('complete' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('reconfigure' as const), plan: planArb }) },
  );
  fc.assert(
    fc.property(
      planArb,
      fc.array(op, { maxLength: 80 }),
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom('reject' as const, 'shed-lost' as const),
      fc.constantFrom('send' as const, 'drop' as const),
      (plan, ops, maxInFlight, overflow, lateAtRelease) => {
        const timers = new VirtualTimeSource();
        const out: Batch<null>[] = [];
        const outstanding: Batch<null>[] = [];
        const dropped: number[] = [];
        const m = createBatchManager<null>({
          plan,
          timers,
          maxInFlight,
          capacity: 2,
          overflow,
          lateAtRelease,
          onBatch: (b) => {
            out.push(b);
            outstanding.push(b);
          },
          onDrop: (r) => dropped.push(r.id as number),
        });
        const accepted: number[] = [];
        let t = 0;
        let id = 0;
        for (const o of ops) {
          if (o.k === 'submit') {
            t += o.gap;
            timers.advanceTo(t);
            const r = m.submit(req(++id, o.app, t, t + o.slo));
            if (r.accepted) accepted.push(id);
            else assert.ok(r.reason === 'queue-full', r.reason);
          } else if (o.k === 'complete') {
            if (outstanding.length > 0) m.complete(outstanding.splice(o.pick % outstanding.length, 1)[0]!);
          } else m.reconfigure(o.plan);
          const perGroup = new Map<string, number>();
          for (const b of outstanding)
            if (b.planVersion === m.stats().planVersion && b.reason !== 'reconfigure' && b.reason !== 'flush')
              perGroup.set(b.group.key, (perGroup.get(b.group.key) ?? 0) + 1);
          for (const [, n] of perGroup) assert.ok(n <= maxInFlight, `${n} batches out, max ${maxInFlight}`);
        }
        // Drain: complete everything, let timers run, flush.
        for (let guard = 0; outstanding.length > 0 && guard < 1000; guard++) m.complete(outstanding.shift()!);
        timers.runAll();
        while (outstanding.length > 0) m.complete(outstanding.shift()!);
        m.flush();
        const released = out.flatMap((b) => b.requests.map((r) => r.id as number));
        const all = [...released, ...dropped].sort((x, y) => x - y);
        assert.deepEqual(
          all,
          [...accepted].sort((x, y) => x - y),
        );
        assert.equal(m.stats().queued, 0);
      },
    ),
    { numRuns: 200 },
  );
});

test('virtual time source keeps order after compacting many cleared timers', () => {
  const t = new VirtualTimeSource();
  const fired: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const id = t.setTimer(1 + (i % 97) / 100, () => fired.push(i));
    if (i % 50 !== 0) t.clearTimer(id);
  }
  assert.equal(t.pending, 100);
  t.runAll();
  assert.equal(fired.length, 100);
  const at = (i: number) => 1 + (i % 97) / 100;
  for (let k = 1; k < fired.length; k++) {
    const a = fired[k - 1]!;
    const b = fired[k]!;
    assert.ok(at(a) < at(b) || (at(a) === at(b) && a < b), `${a} before ${b}`);
  }
});

test('a split app is routed across its groups in proportion to appRps (smooth weighted round-robin)', () => {
  const plan = makePlan([
    { apps: ['a', 'b'], batchSize: 100, timeouts: [10, 10] },
    { apps: ['a'], batchSize: 100, timeouts: [10] },
    { apps: ['a'], batchSize: 100, timeouts: [10] },
  ]);
  plan.groups[0]!.appRps = { a: 3 };
  plan.groups[1]!.appRps = { a: 1 };
  plan.groups[2]!.appRps = { a: 2 };
  const sequence = (): number[] => {
    const timers = new VirtualTimeSource();
    const out: Batch<null>[] = [];
    const m = createBatchManager<null>({ plan, timers, onBatch: (b) => out.push(b) });
    const seen: number[] = [];
    for (let i = 0; i < 60; i++) {
      m.submit(req(i, 'a', 0, 100));
      m.submit(req(1000 + i, 'b', 0, 100));
    }
    m.flush();
    for (const b of out) for (const r of b.requests) if (r.app === 'a') seen[r.id as number] = b.group.index;
    // Group keys stay unique although groups 1 and 2 hold the same apps.
    assert.equal(new Set(m.groups().map((g) => g.key)).size, 3);
    return seen;
  };
  const seen = sequence();
  const count = [0, 0, 0];
  for (const g of seen) count[g]!++;
  assert.deepEqual(count, [30, 10, 20], 'shares 3:1:2 of 60 requests');
  // Never more than one request off the exact proportion at any prefix.
  const run = [0, 0, 0];
  seen.forEach((g, i) => {
    run[g]!++;
    [3, 1, 2].forEach((w, k) =>
      assert.ok(Math.abs(run[k]! - ((i + 1) * w) / 6) < 1 + 1e-9, `prefix ${i + 1}`),
    );
  });
  assert.deepEqual(sequence(), seen, 'deterministic');
});
