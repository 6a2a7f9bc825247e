import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import { runLoop } from '../../src/simulate/engine.ts';
import { DiscreteSampler, Rng } from '../../src/workload/rng.ts';
import * as hdr from 'hdr-histogram-js';
import { LatencyHistogram, hdrHistogram } from '../../src/simulate/metrics.ts';

function meanVar(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - m) * (b - m), 0) / (xs.length - 1);
  return [m, v];
}

test('Rng is a pure function of its seed', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
      const a = new Rng(seed);
      const b = new Rng(seed);
      for (let i = 0; i < 20; i++) assert.equal(a.next(), b.next());
    }),
    { numRuns: 50 },
  );
  assert.notEqual(new Rng(1).next(), new Rng(2).next());
});

test('Rng draws match their distributions (mean and variance within 5 standard errors)', () => {
  const rng = new Rng(42);
  const n = 40_000;
  const u = Array.from({ length: n }, () => rng.next());
  assert.ok(u.every((x) => x >= 0 && x < 1));
  const [mu, vu] = meanVar(u);
  assert.ok(Math.abs(mu - 0.5) < 5 * Math.sqrt(1 / 12 / n));
  assert.ok(Math.abs(vu - 1 / 12) < 0.005);

  const e = Array.from({ length: n }, () => rng.exponential(4));
  const [me, ve] = meanVar(e);
  assert.ok(Math.abs(me - 0.25) < 5 * (0.25 / Math.sqrt(n)), `exp mean ${me}`);
  assert.ok(Math.abs(ve - 0.0625) < 0.006, `exp var ${ve}`);

  const z = Array.from({ length: n }, () => rng.normal());
  const [mz, vz] = meanVar(z);
  assert.ok(Math.abs(mz) < 5 / Math.sqrt(n));
  assert.ok(Math.abs(vz - 1) < 0.05);

  for (const lambda of [0.7, 6, 37.5, 400]) {
    const p = Array.from({ length: n }, () => rng.poisson(lambda));
    assert.ok(p.every((k) => Number.isInteger(k) && k >= 0));
    const [mp, vp] = meanVar(p);
    assert.ok(Math.abs(mp - lambda) < 5 * Math.sqrt(lambda / n), `poisson(${lambda}) mean ${mp}`);
    assert.ok(Math.abs(vp / lambda - 1) < 0.06, `poisson(${lambda}) var ${vp}`);
  }
});

test('DiscreteSampler (alias method) reproduces the weights', () => {
  const rng = new Rng(7);
  const s = new DiscreteSampler([10, 20, 30, 40], [1, 0, 3, 6]);
  const counts = [0, 0, 0, 0];
  const n = 50_000;
  for (let i = 0; i < n; i++) counts[s.drawIndex(rng)]++;
  assert.equal(counts[1], 0);
  [0.1, 0, 0.3, 0.6].forEach((p, i) =>
    assert.ok(Math.abs(counts[i] / n - p) < 5 * Math.sqrt((p * (1 - p)) / n) + 1e-9),
  );
  assert.ok(Math.abs(s.mean() - (10 * 0.1 + 30 * 0.3 + 40 * 0.6)) < 1e-9);
});

test('VirtualTimeSource fires live timers in (time, creation) order and never cancelled ones', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ at: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), { maxLength: 60 }),
      (specs) => {
        const clock = new VirtualTimeSource();
        const fired: number[] = [];
        const ids = specs.map((s, i) => clock.setTimer(s.at / 10, () => fired.push(i)));
        specs.forEach((s, i) => s.cancel && clock.clearTimer(ids[i]));
        let last = -Infinity;
        while (clock.runNext()) {
          assert.ok(clock.now() >= last);
          last = clock.now();
        }
        const expected = specs
          .map((s, i) => ({ ...s, i }))
          .filter((s) => !s.cancel)
          .sort((a, b) => a.at - b.at || a.i - b.i)
          .map((s) => s.i);
        assert.deepEqual(fired, expected);
        assert.equal(clock.pending, 0);
      },
    ),
  );
});

test('VirtualTimeSource: timers set from callbacks and in the past fire at the current time', () => {
  const clock = new VirtualTimeSource();
  const log: string[] = [];
  clock.setTimer(2, () => {
    log.push(`a@${clock.now()}`);
    clock.setTimer(1, () => log.push(`past@${clock.now()}`));
    clock.setTimer(2.5, () => log.push(`b@${clock.now()}`));
  });
  clock.advanceTo(10);
  assert.deepEqual(log, ['a@2', 'past@2', 'b@2.5']);
  assert.equal(clock.now(), 10);
});

test('runLoop interleaves arrivals with timers, timers first on ties', () => {
  const clock = new VirtualTimeSource();
  const times = [0.5, 1, 1, 3];
  let k = 0;
  const stream = {
    get time() {
      return k < times.length ? times[k] : Infinity;
    },
    app: 0,
    size: 1,
    advance() {
      k++;
    },
  };
  const log: string[] = [];
  clock.setTimer(1, () => log.push(`timer@${clock.now()}`));
  runLoop(clock, stream, () => {
    log.push(`arr@${clock.now()}`);
    if (clock.now() === 0.5) clock.setTimer(2, () => log.push(`t2@${clock.now()}`));
  });
  assert.deepEqual(log, ['arr@0.5', 'timer@1', 'arr@1', 'arr@1', 't2@2', 'arr@3']);
});

test('LatencyHistogram percentiles within HDR precision of exact order statistics', () => {
  const rng = new Rng(3);
  const h = new LatencyHistogram();
  const xs = Array.from({ length: 20_000 }, () => rng.exponential(10));
  xs.forEach((x) => h.record(x));
  const sorted = [...xs].sort((a, b) => a - b);
  for (const p of [50, 95, 99]) {
    const exact = sorted[Math.ceil((p / 100) * sorted.length) - 1];
    assert.ok(Math.abs(h.percentile(p) - exact) / exact < 0.002, `p${p}: ${h.percentile(p)} vs ${exact}`);
  }
  assert.equal(h.count, xs.length);
});

test("hdrHistogram(d) records and answers as the package's own hdr.build() with the same bounds", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(2, 3),
      fc.array(fc.integer({ min: 1, max: 3_600_000_000 }), { minLength: 1, maxLength: 300 }),
      (digits, values) => {
        const ours = hdrHistogram(digits);
        const theirs = hdr.build({
          lowestDiscernibleValue: 1,
          highestTrackableValue: 3_600_000_000,
          numberOfSignificantValueDigits: digits,
        });
        for (const v of values) {
          ours.recordValue(v);
          theirs.recordValue(v);
        }
        assert.equal(ours.autoResize, theirs.autoResize);
        assert.equal(ours.totalCount, theirs.totalCount);
        assert.equal(ours.maxValue, theirs.maxValue);
        assert.equal(ours.mean, theirs.mean);
        for (const p of [0, 50, 90, 99, 99.9, 100]) {
          assert.equal(ours.getValueAtPercentile(p), theirs.getValueAtPercentile(p), `p${p}`);
        }
        // Merging works across the two builds (the live series merges windows).
        ours.add(theirs);
        assert.equal(ours.totalCount, 2 * values.length);
      },
    ),
    { numRuns: 60 },
  );
});
