/**
 * Deadline-aware, fair admission (src/serve/admission.ts DeadlineAdmission): logic checked in
 * virtual time, then the gateway's 429 with Retry-After under a real flood.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pool } from 'undici';
import { DeadlineAdmission, type AdmissionGroup } from '../../src/serve/admission.ts';
import { APPS, floodConfig, handPlan, inferBody, startGateway } from '../helpers/serve.ts';
import type { Rng } from '../../src/workload/rng.ts';
import { simulateAdmission, type SimApp, type SimResult } from '../helpers/admission-sim.ts';

const group = (over: Partial<AdmissionGroup> = {}): AdmissionGroup => ({
  apps: ['a', 'b'],
  batchSize: 4,
  concurrency: 1,
  latency: { avg: 0.1, max: 0.1 },
  rps: { a: 10, b: 10 },
  slo: { a: 0.5, b: 0.5, c: 0.5 },
  ...over,
});

test('admission: a request is admitted while the backlog ahead still completes by its deadline', () => {
  const adm = new DeadlineAdmission([group({ apps: ['a'], rps: { a: 1 } })]);
  // B = 4, c = 1, 0.1 s per batch: 0.5 s reaches 5 waves = 20 requests.
  let admitted = 0;
  for (let i = 0; i < 30; i++) {
    const d = adm.decide('a', 1, 0.5);
    if (!d.admit) {
      assert.equal(d.reason, 'deadline');
      assert.ok(d.retryAfterS! >= 1);
      break;
    }
    assert.ok(d.predictedS <= 0.5 + 1e-9, String(d.predictedS));
    adm.add('a');
    admitted++;
  }
  assert.equal(admitted, 20);
  // Answers free room again; a longer deadline reaches further.
  adm.done('a', 4);
  assert.equal(adm.decide('a', 4, 0.5).admit, true);
  assert.equal(adm.decide('a', 5, 0.5).admit, false);
  assert.equal(adm.decide('a', 24, 1.0).admit, true);
  // A group that scales out (unbounded concurrency) never refuses.
  const free = new DeadlineAdmission([group({ concurrency: Infinity })]);
  free.add('a', 1e6);
  assert.equal(free.decide('a', 64, 0.01).admit, true);
});

test("admission: one app's flood leaves the other apps their planned share", () => {
  const adm = new DeadlineAdmission([group({ rps: { a: 30, b: 10 } })]);
  // K = 20 for a 0.5 s deadline: b keeps floor(20 * 10/40) = 5 places.
  let a = 0;
  while (adm.decide('a', 1, 0.5).admit) {
    adm.add('a');
    a++;
  }
  assert.equal(a, 15);
  assert.equal(adm.decide('a', 1, 0.5).reason, 'share');
  let b = 0;
  while (adm.decide('b', 1, 0.5).admit) {
    adm.add('b');
    b++;
  }
  assert.equal(b, 5);
  assert.equal(adm.decide('b', 1, 0.5).reason, 'deadline');
});

test('admission: measured batches slower than the plan tighten it', () => {
  const adm = new DeadlineAdmission([group({ apps: ['a'], rps: { a: 1 } })]);
  for (let i = 0; i < 100; i++) adm.observe('a', 0.25);
  assert.ok(adm.batchLatency(0) > 0.24);
  adm.add('a', 8);
  // 2 waves of 0.25 s already fill 0.5 s.
  assert.equal(adm.decide('a', 1, 0.5).admit, false);
});

test('admission: a group with nothing pending admits one wave even when its measured latency exceeds the deadline, so it can be measured again', () => {
  const adm = new DeadlineAdmission([group({ apps: ['a'], rps: { a: 1 } })]);
  // A flood measured 2 s batches: a 0.5 s deadline is out of reach even for an empty group.
  for (let i = 0; i < 100; i++) adm.observe('a', 2);
  const d = adm.decide('a', 1, 0.5);
  assert.equal(d.admit, true);
  assert.ok(d.predictedS > 0.5);
  // More rows than one wave (B = 4, c = 1), or anything behind a pending request, is still refused.
  assert.equal(adm.decide('a', 5, 0.5).admit, false);
  adm.add('a');
  assert.equal(adm.decide('a', 1, 0.5).admit, false);
  // The admitted probe's batch is fast again: the measurement recovers and admission with it
  // (the jump inflates the measured spread for a while, as it should).
  adm.done('a');
  for (let i = 0; i < 120; i++) adm.observe('a', 0.1);
  adm.add('a', 8);
  assert.equal(adm.decide('a', 1, 0.5).admit, true);
});

test('admission property: whatever the order, an admitted request is predicted to meet its deadline', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 16 }),
      fc.integer({ min: 1, max: 4 }),
      fc.double({ min: 0.005, max: 0.2, noNaN: true }),
      fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 8 }), fc.boolean()), {
        maxLength: 200,
      }),
      (batchSize, concurrency, avg, ops) => {
        const g = group({
          apps: ['a', 'b', 'c'],
          batchSize,
          concurrency,
          latency: { avg, max: avg * 1.2 },
          rps: { a: 5, b: 1, c: 2 },
          slo: { a: 0.5, b: 1, c: 0.8 },
        });
        const adm = new DeadlineAdmission([g]);
        const slo: Record<string, number> = { a: 0.5, b: 1, c: 0.8 };
        for (const [app, rows, finish] of ops) {
          if (finish) {
            adm.done(app, rows);
            continue;
          }
          // The one exception: nothing of the group pending and one wave of rows (a probe).
          const probe = ['a', 'b', 'c'].every((x) => adm.pending(x) === 0) && rows <= batchSize * concurrency;
          const d = adm.decide(app, rows, slo[app]);
          if (d.admit) {
            assert.ok(probe || d.predictedS <= slo[app] + 1e-9, `${d.predictedS} > ${slo[app]}`);
            adm.add(app, rows);
          } else assert.ok(d.retryAfterS! >= 1);
        }
      },
    ),
    { numRuns: 300, seed: 7 },
  );
});

test('admission property: with running batches reported, an admitted request is still predicted to meet its deadline', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 3 }),
      fc.double({ min: 0.01, max: 0.2, noNaN: true }),
      fc.array(
        fc.tuple(
          fc.constantFrom('a', 'b', 'c'),
          fc.integer({ min: 1, max: 8 }),
          fc.constantFrom('decide', 'done', 'begin', 'end'),
          fc.double({ min: 0, max: 0.05, noNaN: true }),
        ),
        { maxLength: 200 },
      ),
      (batchSize, concurrency, avg, ops) => {
        const slo: Record<string, number> = { a: 0.5, b: 1, c: 0.8 };
        const adm = new DeadlineAdmission([
          group({
            apps: ['a', 'b', 'c'],
            batchSize,
            concurrency,
            latency: { avg, max: avg * 1.2 },
            rps: { a: 5, b: 1, c: 2 },
            slo,
          }),
        ]);
        let now = 0;
        const running: number[] = [];
        for (const [app, rows, op, dt] of ops) {
          now += dt;
          if (op === 'done') adm.done(app, rows);
          else if (op === 'begin') {
            if (running.length < concurrency) running.push(adm.begin(app, Math.min(rows, batchSize), now));
          } else if (op === 'end') {
            if (running.length > 0) adm.end(running.shift()!);
          } else {
            const probe =
              ['a', 'b', 'c'].every((x) => adm.pending(x) === 0) && rows <= batchSize * concurrency;
            const d = adm.decide(app, rows, slo[app], now);
            if (d.admit) {
              assert.ok(probe || d.predictedS <= slo[app] + 1e-9, `${d.predictedS} > ${slo[app]}`);
              adm.add(app, rows);
            } else assert.ok(d.retryAfterS! >= 1);
          }
        }
      },
    ),
    { numRuns: 300, seed: 11 },
  );
});

test("admission: a flood may hold the places behind it that the other apps' SLOs allow, not only those its own deadline leaves after theirs", () => {
  // The overload bench's group: B = 4 on one slot of 100 ms, four apps with SLOs 0.5-1 s, each
  // planned at 10 % of the 40 req/s capacity.
  const slo = { a0: 0.5, a1: 0.6, a2: 0.8, a3: 1.0 };
  const adm = new DeadlineAdmission([
    group({
      apps: ['a0', 'a1', 'a2', 'a3'],
      batchSize: 4,
      concurrency: 1,
      latency: { avg: 0.1, max: 0.11 },
      rps: { a0: 4, a1: 4, a2: 4, a3: 4 },
      slo,
    }),
  ]);
  // A batch of a0 has run for 50 ms; a0 floods.
  adm.add('a0', 4);
  adm.begin('a0', 4, 0);
  let held = 4;
  for (let i = 0; i < 100; i++) {
    const d = adm.decide('a0', 1, slo.a0, 0.05 + i * 1e-4);
    if (!d.admit) break;
    // Past its entitlement (the 99.9 % quantile of 1.6 planned arrivals is 7): deferred.
    assert.equal(d.deferred === true, held >= 7, `a0's request ${i}: ${JSON.stringify(d)}`);
    adm.add('a0', 1, d.deferred);
    held++;
  }
  // Enough for the running batch and a full next one (the slot never waits for a batch to fill),
  // and no more than leaves the quiet apps' arrivals (mean 3 x 1.6 = 4.8, plus one standard
  // deviation: 7), which overtake a0's deferred requests, within a0's reach (20: the running
  // batch, then 4 more by 0.5 s).
  assert.ok(held >= 8, `a0 holds ${held}`);
  assert.ok(held <= 20 - 7, `a0 holds ${held}`);
  // A quiet request is predicted behind the running batch and a0's 7 kept requests only (the
  // next two batches), not behind a0's deferred flood (which would make it the fourth).
  const first = adm.decide('a1', 1, slo.a1, 0.06);
  assert.ok(first.admit && first.predictedS <= 0.05 + 2 * 0.1 + 0.011, JSON.stringify(first));
  // Each quiet app still finds room for well above its mean count (0.1 x 16 places).
  for (const app of ['a1', 'a2', 'a3'] as const) {
    let n = 0;
    for (
      let d = adm.decide(app, 1, slo[app], 0.06);
      n < 5 && d.admit;
      d = adm.decide(app, 1, slo[app], 0.06)
    ) {
      assert.equal(d.deferred, undefined, app);
      assert.ok(d.predictedS <= slo[app], `${app}: ${d.predictedS}`);
      adm.add(app);
      n++;
    }
    assert.equal(n, 5, app);
  }
});

/** The overload bench's group in virtual time; `offered` per app in multiples of capacity. */
function benchGroup(
  offered: readonly number[],
  seed: number,
  over: {
    latencyS?: number;
    batch?: number;
    draw?: (rng: Rng, L: number) => number;
    deferExcess?: boolean;
  } = {},
): SimResult {
  const L = over.latencyS ?? 0.1;
  const B = over.batch ?? 4;
  const C = B / L;
  const apps: SimApp[] = [0.5, 0.6, 0.8, 1.0].map((s, i) => ({
    name: `a${i}`,
    slo: s,
    planned: 0.1 * C,
    offered: offered[i] * C,
  }));
  return simulateAdmission({
    apps,
    batchSize: B,
    concurrency: 1,
    latency: { avg: L, max: L * 1.1 },
    draw: over.draw ? (rng) => over.draw!(rng, L) : (rng) => L * (1 + 0.1 * rng.next()),
    timeout: 0.05,
    durationS: 30,
    seed,
    ...(over.deferExcess !== undefined ? { deferExcess: over.deferExcess } : {}),
  });
}

const attainment = (r: SimResult, app: string): number => r.apps[app].met / r.apps[app].sent;

for (const [label, flood] of [
  ['the tightest SLO floods', [2.7, 0.1, 0.1, 0.1]],
  ['the loosest SLO floods', [0.1, 0.1, 0.1, 2.7]],
  ['two apps flood', [1.4, 0.1, 0.1, 1.4]],
] as const) {
  test(`admission in virtual time, the overload bench's group at 3x capacity (${label}): goodput >= 90 % of capacity, >= 99 % of admitted within SLO, the other apps unchanged`, () => {
    for (const seed of [1, 2]) {
      const base = benchGroup([0.1, 0.1, 0.1, 0.1], seed);
      const over = benchGroup(flood, seed);
      // Batches take 5 % longer than the plan says on average: capacity is 95 % of the plan's.
      assert.ok(over.goodput >= 0.9 * over.capacity, `goodput ${over.goodput} of ${over.capacity}`);
      assert.ok(over.admittedInSlo >= 0.99, `admitted within SLO ${over.admittedInSlo}`);
      const quiet = flood.flatMap((x, i) => (x <= 0.1 ? [`a${i}`] : []));
      for (const app of quiet)
        assert.ok(
          attainment(over, app) >= attainment(base, app) - 0.015,
          `${app}: ${attainment(over, app)} vs ${attainment(base, app)} at 0.4 C (${JSON.stringify(over.apps)})`,
        );
      if (flood[0] > 0.1 && flood[3] > 0.1) {
        // Equal planned shares: the flooders split what is left about evenly.
        const [x, y] = [over.apps.a0.admitted, over.apps.a3.admitted];
        assert.ok(Math.min(x, y) >= 0.75 * Math.max(x, y), `a0 ${x}, a3 ${y}`);
      }
    }
  });
}

test("admission in virtual time: the quiet apps' requests overtake a flood's deferred excess instead of waiting behind it", () => {
  const p99 = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(0.99 * (xs.length - 1))];
  for (const seed of [1, 2]) {
    const kept = benchGroup([2.7, 0.1, 0.1, 0.1], seed);
    const fifo = benchGroup([2.7, 0.1, 0.1, 0.1], seed, { deferExcess: false });
    for (const app of ['a1', 'a2', 'a3']) {
      // Behind the running batch and a few kept requests (batches of 100-110 ms, about 0.21 s)...
      assert.ok(p99(kept.latencies[app]) <= 0.25, `${app} p99 ${p99(kept.latencies[app])}`);
      // ...where one FIFO queue keeps them behind the flood's backlog (about 0.4 s).
      assert.ok(p99(fifo.latencies[app]) > 0.35, `${app} FIFO p99 ${p99(fifo.latencies[app])}`);
      assert.equal(kept.apps[app].met, kept.apps[app].sent, `${app}: ${JSON.stringify(kept.apps[app])}`);
    }
    // The flood's own admitted requests still meet their SLO and the group stays busy.
    assert.ok(kept.admittedInSlo >= 0.99, `admitted within SLO ${kept.admittedInSlo}`);
    assert.ok(kept.goodput >= 0.9 * kept.capacity, `goodput ${kept.goodput} of ${kept.capacity}`);
  }
});

test('admission in virtual time: batch latencies that vary keep >= 99 % of admitted requests within SLO under a flood', () => {
  // Deep backlogs (16 batches of 30-33 ms within 0.5 s): the sum of many batches' latencies
  // spreads, and the margin must grow with it.
  const r = benchGroup([2.7, 0.1, 0.1, 0.1], 3, { latencyS: 0.03, batch: 8 });
  assert.ok(r.admittedInSlo >= 0.99, `admitted within SLO ${r.admittedInSlo} ${JSON.stringify(r.apps)}`);
  assert.ok(r.goodput >= 0.9 * r.capacity, `goodput ${r.goodput} of ${r.capacity}`);
});

test('admission in virtual time: a backend that slows to 1.6x mid-flood drops the deferred requests that can no longer make their deadline instead of sending them late', () => {
  // The overload bench on onnx: batches went from 28 to 44 ms mid-phase. Deferred requests
  // admitted at the old speed and judged at release against the plan's batch time were still
  // sent and finished late (99.3-99.7 % of admitted within SLO here, 97.9 % on the bench);
  // judged against the measured batch time too, they are dropped (429) instead.
  for (const [latencyS, batch] of [
    [0.028, 4],
    [0.03, 8],
  ])
    for (const seed of [1, 2]) {
      let batches = 0;
      const r = benchGroup([2.7, 0.1, 0.1, 0.1], seed, {
        latencyS,
        batch,
        // 300 batches (about 9 s of the 30) at the plan's speed, then every batch 1.6x as long.
        draw: (rng, L) => L * (batches++ < 300 ? 1 : 1.6) * (1 + 0.1 * rng.next()),
      });
      const label = `${latencyS} s x ${batch}, seed ${seed}: ${JSON.stringify(r.apps)}`;
      assert.ok(batches > 600, `${batches} batches, ${label}`);
      assert.ok(r.admittedInSlo >= 0.999, `admitted within SLO ${r.admittedInSlo}, ${label}`);
      // Dropping them keeps what the slowed backend serves: >= 90 % of its capacity in time.
      const slowed = (batch / (1.6 * 1.05 * latencyS)) * (21 / 30) + (batch / (1.05 * latencyS)) * (9 / 30);
      assert.ok(r.goodput >= 0.9 * slowed, `goodput ${r.goodput} of ${slowed}, ${label}`);
      for (const app of ['a1', 'a2', 'a3']) assert.equal(r.apps[app].met, r.apps[app].admitted, label);
    }
});

test('admission: batchBound (the release cut for deferred requests) is set only once half a window of batches is measured', () => {
  const adm = new DeadlineAdmission([group({ latency: { avg: 0.1, max: 0.11 } })]);
  // A fresh backend's first batches run slow: fewer than half a window (16) is not a slowdown.
  for (let i = 0; i < 15; i++) adm.observe('a', 0.3);
  assert.equal(adm.batchBound('a'), undefined);
  adm.observe('a', 0.3);
  const slow = adm.batchBound('a');
  assert.ok(slow !== undefined && slow >= 0.3 && slow <= 0.6, `bound ${slow}`);
  assert.equal(adm.batchBound('c'), undefined);
  // Kept to the plan's max when the measured batches are faster than the plan.
  const fast = new DeadlineAdmission([group({ latency: { avg: 0.1, max: 0.11 } })]);
  for (let i = 0; i < 32; i++) fast.observe('a', 0.05);
  assert.ok(Math.abs(fast.batchBound('a')! - 0.11) < 1e-9, `bound ${fast.batchBound('a')}`);
});

test('admission in virtual time: a backend measured slower than every SLO for a while recovers once it is fast again (its probe is kept, not cut at release)', () => {
  // 16 batches at 1.2 s (19.2 s, past every SLO; a stalled or cold backend), then the plan's 0.1 s.
  // Measured at 1.2 s, admission lets in only one probe at a time (nothing pending); deferred and
  // judged against the measured time at release it would be dropped, no batch would run, and the
  // measurement, and with it the group, would stay stuck for good.
  for (const seed of [1, 2]) {
    let batches = 0;
    const r = benchGroup([0.1, 0.1, 0.1, 0.1], seed, {
      draw: (rng, L) => (batches++ < 16 ? 1.2 : L * (1 + 0.1 * rng.next())),
    });
    const label = `seed ${seed}: ${batches} batches, ${JSON.stringify(r.apps)}`;
    // About 10 s left at 4 req/s per app: most of them served in time, not a handful of probes.
    assert.ok(batches > 50, label);
    for (const app of ['a0', 'a1', 'a2', 'a3']) assert.ok(r.apps[app].met >= 15, label);
  }
});

test('admission: a quiet app within its entitlement is admitted while the measured batch latency jumps (host stalls) during a flood', () => {
  // The overload bench's group; a0 floods behind a running batch, then the host stalls and three
  // batches take 1 s instead of 0.1 s: the measured latency jumps, the quiet apps still get in.
  const slo = { a0: 0.5, a1: 0.6, a2: 0.8, a3: 1.0 };
  const adm = new DeadlineAdmission([
    group({
      apps: ['a0', 'a1', 'a2', 'a3'],
      latency: { avg: 0.1, max: 0.11 },
      rps: { a0: 4, a1: 4, a2: 4, a3: 4 },
      slo,
    }),
  ]);
  for (let i = 0; i < 30; i++) adm.observe('a0', 0.095 + 0.005 * (i % 3));
  let now = 3;
  adm.add('a0', 4);
  const running = adm.begin('a0', 4, now);
  now += 0.05;
  while (adm.decide('a0', 1, slo.a0, now).admit) adm.add('a0');
  const flood = adm.pending('a0');
  assert.ok(flood > 4, `a0 holds ${flood}`);
  for (let i = 0; i < 3; i++) adm.observe('a0', 1.0);
  adm.end(running);
  adm.done('a0', 4);
  now += 1;
  adm.begin('a0', 4, now);
  // The flood fills its places again and is refused past them; the quiet apps get in.
  let n = 0;
  while (n < 100 && adm.decide('a0', 1, slo.a0, now).admit) {
    adm.add('a0');
    n++;
  }
  assert.ok(adm.pending('a0') <= flood, `a0 holds ${adm.pending('a0')} after the stall, ${flood} before`);
  for (const app of ['a3', 'a2', 'a1'] as const) {
    const d = adm.decide(app, 1, slo[app], now);
    assert.equal(d.admit, true, `${app}: ${JSON.stringify(d)}`);
    assert.ok(d.predictedS <= slo[app], `${app}: ${d.predictedS}`);
    adm.add(app);
  }
  // A real slowdown (the median doubles) still tightens admission for everyone.
  for (let i = 0; i < 32; i++) adm.observe('a0', 0.2);
  assert.ok(adm.batchLatency(0) >= 0.2);
  assert.equal(adm.decide('a1', 1, slo.a1, now).admit, false);
});

test('admission in virtual time: host stalls during a flood leave the quiet apps admitted', () => {
  // One batch in 25 stalls for 0.4-1 s (a host that stops the process: the batch and everything
  // queued behind it wait) while a0 floods at 2.7x capacity. Only a quiet app whose requests
  // pile up behind a stall past its entitlement may be refused.
  const stalled = (rng: Rng, L: number): number =>
    rng.next() < 0.04 ? L + 0.4 + 0.6 * rng.next() : L * (1 + 0.1 * rng.next());
  for (const seed of [1, 2, 3]) {
    const r = benchGroup([2.7, 0.1, 0.1, 0.1], seed, { draw: stalled });
    for (const app of ['a1', 'a2', 'a3'])
      assert.ok(r.apps[app].admitted >= 0.85 * r.apps[app].sent, `${app} refused: ${JSON.stringify(r.apps)}`);
    // Stalls that come back widen the measured spread: the flood is shed harder, not stopped.
    assert.ok(r.apps.a0.met >= 0.2 * r.capacity * 30, `a0: ${JSON.stringify(r.apps.a0)}`);
  }
});

test('admission in virtual time: frequent short stalls (a wide measured spread) during a flood keep batches full and goodput near what the backend serves', () => {
  // One batch in 5-7 takes 1.5-5x its median (0.1 s): the median still fits the tightest SLO
  // (0.5 s) five times over, but a spread read as 4 standard deviations from the p90 (0.45 s)
  // left the flood no queued place, so batches shrank to 2-2.5 rows and goodput fell to half of
  // what the backend served (the overload bench on onnx under host stalls).
  for (const [p, lo, span] of [
    [0.2, 0.05, 0.2],
    [0.15, 0.1, 0.3],
  ])
    for (const seed of [1, 2, 3]) {
      let batches = 0;
      let busyS = 0;
      const r = benchGroup([2.7, 0.1, 0.1, 0.1], seed, {
        draw: (rng, L) => {
          const t = rng.next() < p ? L + lo + span * rng.next() : L * (1 + 0.1 * rng.next());
          batches++;
          busyS += t;
          return t;
        },
      });
      const served = Object.values(r.apps).reduce((s, a) => s + a.admitted - a.shed, 0);
      const label = `p ${p} seed ${seed}: ${JSON.stringify(r.apps)}`;
      // Rows per batch (of 4) and goodput against what the backend's batches could serve at B.
      assert.ok(served / batches >= 3.4, `${(served / batches).toFixed(2)} rows per batch, ${label}`);
      const served4 = (4 * batches) / busyS;
      assert.ok(
        r.goodput >= 0.8 * served4,
        `goodput ${r.goodput.toFixed(1)} of ${served4.toFixed(1)}, ${label}`,
      );
      // Stalls delay what is queued behind them; admission still keeps most admitted in time.
      assert.ok(r.admittedInSlo >= 0.93, `admitted within SLO ${r.admittedInSlo}, ${label}`);
      for (const app of ['a1', 'a2', 'a3'])
        assert.ok(r.apps[app].admitted >= 0.95 * r.apps[app].sent, `${app} refused: ${label}`);
    }
});

/**
 * Virtual-time check of the goal: a FIFO group (B, c, fixed latency) fed 3x its capacity by one
 * app while another sends its planned rate; admission keeps goodput and the other app's SLO.
 */
test('admission in virtual time: at 3x capacity goodput stays >= 90 %, admitted requests meet their SLO, the quiet app is untouched', () => {
  const B = 8;
  const c = 2;
  const L = 0.05;
  const capacity = (B * c) / L; // 320 req/s
  const slo: Record<string, number> = { a: 0.5, b: 0.3 };
  const g = group({ batchSize: B, concurrency: c, latency: { avg: L, max: L }, rps: { a: 200, b: 40 }, slo });
  const adm = new DeadlineAdmission([g]);
  // Arrivals over 20 s: a at 3x capacity, b at its planned 40 req/s (deterministic spacing).
  const arrivals: { t: number; app: string }[] = [];
  for (let t = 0; t < 20; t += 1 / (3 * capacity)) arrivals.push({ t, app: 'a' });
  for (let t = 0.0013; t < 20; t += 1 / 40) arrivals.push({ t, app: 'b' });
  arrivals.sort((x, y) => x.t - y.t);
  type Queued = { t: number; app: string; deferred?: boolean };
  // Kept requests first, then the deferred ones (the batch manager's order), each by arrival.
  const queue: Queued[] = [];
  const busyUntil = Array<number>(c).fill(0);
  const running: { end: number; batch: Queued[] }[] = [];
  const stats = { a: { admitted: 0, met: 0 }, b: { admitted: 0, met: 0, sent: 0 } } as Record<
    string,
    { admitted: number; met: number; sent?: number }
  >;
  let goodput = 0;
  const advance = (now: number): void => {
    // Finish batches and start new ones, in time order, up to `now`.
    for (;;) {
      running.sort((x, y) => x.end - y.end);
      const soonest = busyUntil.indexOf(Math.min(...busyUntil));
      const free = busyUntil[soonest] <= now ? soonest : -1;
      const next = running[0];
      if (next && next.end <= now && (free < 0 || queue.length === 0 || next.end <= busyUntil[free])) {
        running.shift();
        for (const r of next.batch) {
          adm.done(r.app, 1, r.deferred);
          if (next.end - r.t <= slo[r.app] + 1e-9) {
            stats[r.app].met++;
            goodput++;
          }
        }
        continue;
      }
      if (free >= 0 && queue.length > 0) {
        const start = Math.max(busyUntil[free], Math.min(...queue.map((q) => q.t)));
        if (start > now) break;
        queue.sort((x, y) => Number(x.deferred === true) - Number(y.deferred === true) || x.t - y.t);
        const batch = queue.splice(0, B);
        busyUntil[free] = start + L;
        running.push({ end: start + L, batch });
        continue;
      }
      break;
    }
  };
  for (const r of arrivals) {
    advance(r.t);
    if (r.app === 'b') stats.b.sent!++;
    const d = adm.decide(r.app, 1, slo[r.app]);
    if (d.admit) {
      adm.add(r.app, 1, d.deferred);
      stats[r.app].admitted++;
      queue.push({ ...r, deferred: d.deferred });
    }
  }
  advance(Infinity);
  const admitted = stats.a.admitted + stats.b.admitted;
  const met = stats.a.met + stats.b.met;
  assert.ok(goodput / 20 >= 0.9 * capacity, `goodput ${goodput / 20} req/s of ${capacity}`);
  assert.ok(met / admitted >= 0.99, `admitted within SLO ${met}/${admitted} ${JSON.stringify(stats)}`);
  assert.equal(stats.b.met, stats.b.sent, `quiet app ${JSON.stringify(stats.b)}`);
});

test('gateway: a flood from one app is refused at once with 429 E_OVERLOADED and Retry-After; the other apps keep their SLO', async () => {
  const { gw, url } = await startGateway(floodConfig(), {
    planFn: () => {
      const p = handPlan([{ apps: APPS.map((a) => a.name), batchSize: 4, timeout: 0.005 }]);
      p.groups[0].latency = { avg: 0.02, max: 0.025 };
      return p;
    },
  });
  const pool = new Pool(url, { connections: 150 });
  const send = async (app: string) => {
    const t0 = performance.now();
    const r = await pool.request({
      path: '/v2/models/echo/infer',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hetserve-app': app },
      body: inferBody([1, 2, 3, 4]),
    });
    const body = (await r.body.json()) as { code?: string };
    return {
      status: r.statusCode,
      ms: performance.now() - t0,
      retry: r.headers['retry-after'],
      code: body.code,
    };
  };
  try {
    let flooding = true;
    const flood: Awaited<ReturnType<typeof send>>[] = [];
    const flooders = Array.from({ length: 120 }, async () => {
      while (flooding) flood.push(await send('a0'));
    });
    // a3 (SLO 1 s, planned 15 of 30 req/s) sends at a modest pace meanwhile.
    const quiet: Awaited<ReturnType<typeof send>>[] = [];
    for (let i = 0; i < 30; i++) {
      quiet.push(await send('a3'));
      await new Promise((r) => setTimeout(r, 30));
    }
    flooding = false;
    await Promise.all(flooders);
    const refused = flood.filter((r) => r.status === 429);
    assert.ok(refused.length > 0, 'the flood is shed');
    for (const r of refused) {
      assert.equal(r.code, 'E_OVERLOADED');
      assert.ok(Number(r.retry) >= 1);
    }
    // Live time on a shared machine: an admitted request can still be late when the host stalls
    // (504 by design); anything else (5xx, 4xx other than 429) is a bug. That admitted requests meet
    // their deadline is the virtual-time test's claim above, not this one's.
    assert.ok(
      flood.every((r) => [200, 429, 504].includes(r.status)),
      JSON.stringify(flood.filter((r) => ![200, 429, 504].includes(r.status)).slice(0, 3)),
    );
    assert.ok(
      quiet.every((r) => r.status === 200 || r.status === 504),
      JSON.stringify(quiet.filter((r) => r.status !== 200)),
    );
    // The quiet app is never refused, and most of its requests are served in time.
    assert.ok(quiet.filter((r) => r.status === 200).length >= 24, JSON.stringify(quiet.map((r) => r.status)));
  } finally {
    await pool.close();
    await gw.close();
  }
});
