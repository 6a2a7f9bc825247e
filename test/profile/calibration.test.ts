import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LatencyCalibrator, configKey } from '../../src/profile/calibration.ts';
import { cpuLatency, gpuLatency } from '../../src/predict/latency.ts';
import { resolveProfile } from '../../src/predict/profiles.ts';
import { ServerlessProfileSchema } from '../../src/model/profile.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { seededRandom } from '../../src/model/random.ts';
import type { FunctionConfig } from '../../src/model/plan.ts';

const vgg = resolveProfile('VGG19');
const cpu = (vcpu: number): FunctionConfig => ({ kind: 'cpu', vcpu, memoryGb: 2 });
const gpu = (gpuMemoryGb: number): FunctionConfig => ({
  kind: 'gpu',
  gpuMemoryGb,
  vcpu: gpuMemoryGb / 3,
  memoryGb: 4,
});
const truth = (fn: FunctionConfig, b: number) =>
  fn.kind === 'cpu' ? cpuLatency(vgg, fn.vcpu, b) : gpuLatency(vgg, fn.gpuMemoryGb, b);

/** A draw of N(avg, ((max − avg)/2.33)²), the simulator's latency model, scaled by `factor`. */
function drawer(seed: number) {
  const r = seededRandom(seed);
  return (fn: FunctionConfig, b: number, factor = 1): number => {
    const l = truth(fn, b);
    const sd = (l.max - l.avg) / 2.33;
    // Box–Muller on the seeded stream: deterministic per seed.
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return Math.max(1e-4, (l.avg + sd * z) * factor);
  };
}

test('no drift: noise never refits (property over seeds and configurations)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1e6 }),
      fc.constantFrom(0.5, 1, 1.55, 2, 3),
      fc.integer({ min: 1, max: 8 }),
      (seed, vcpu, b) => {
        const c = new LatencyCalibrator(vgg);
        const draw = drawer(seed);
        for (let i = 0; i < 1500; i++) {
          const ev = c.observe(cpu(vcpu), b, draw(cpu(vcpu), b), i * 0.1);
          assert.equal(ev, undefined, `refit at sample ${i}`);
        }
        assert.equal(c.version, 0);
        assert.equal(c.profile, vgg);
      },
    ),
    { numRuns: 25 },
  );
});

test('a true drift is detected within 2·minSamples + 2·confirm samples and refits toward it (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1e6 }),
      fc.oneof(fc.double({ min: 1.3, max: 3, noNaN: true }), fc.double({ min: 0.4, max: 0.75, noNaN: true })),
      fc.constantFrom(1, 1.55, 2.5),
      fc.integer({ min: 1, max: 4 }),
      (seed, factor, vcpu, b) => {
        const c = new LatencyCalibrator(vgg);
        const o = c.options;
        const draw = drawer(seed);
        const fn = cpu(vcpu);
        for (let i = 0; i < 300; i++) c.observe(fn, b, draw(fn, b), i);
        assert.equal(c.version, 0);
        let at = -1;
        const bound = 2 * o.minSamples + 2 * o.confirm;
        for (let i = 0; i < bound; i++)
          if (c.observe(fn, b, draw(fn, b, factor), 300 + i)) {
            at = i;
            break;
          }
        assert.ok(at >= 0, `factor ${factor}: not detected within ${bound} samples`);
        const ev = c.events[0];
        assert.equal(ev.version, 1);
        assert.equal(ev.drifted[0].key, configKey(fn));
        assert.ok(
          Math.abs(ev.drifted[0].ratio / factor - 1) < 0.1,
          `ratio ${ev.drifted[0].ratio} vs ${factor}`,
        );
        // The refit reduces the prediction error at the measured point, to within the tolerance.
        assert.ok(ev.errorAfter < ev.errorBefore, `${ev.errorAfter} !< ${ev.errorBefore}`);
        assert.ok(ev.errorAfter < o.tolerance, `error after ${ev.errorAfter}`);
        const after = cpuLatency(c.profile, vcpu, b).avg / (truth(fn, b).avg * factor);
        assert.ok(Math.abs(after - 1) < o.tolerance, `calibrated avg off by ${after}`);
        // The calibrated profile is a valid profile the planners accept.
        ServerlessProfileSchema.parse(c.profile);
        // Steady state under the new latency: no further refit.
        for (let i = 0; i < 600; i++) c.observe(fn, b, draw(fn, b, factor), 1000 + i);
        assert.equal(c.version, 1);
      },
    ),
    { numRuns: 15 },
  );
});

test('transfer: an unmeasured vCPU size and batch size move with the measured drift; off keeps them', () => {
  for (const transfer of [true, false]) {
    const c = new LatencyCalibrator(vgg, { transfer });
    const draw = drawer(7);
    const fn = cpu(1.55);
    let i = 0;
    while (c.version === 0 && i < 500) c.observe(fn, 1, draw(fn, 1, 1.5), i++);
    assert.equal(c.version, 1);
    const other = cpuLatency(c.profile, 3, 4).avg / cpuLatency(vgg, 3, 4).avg;
    if (transfer) assert.ok(Math.abs(other - 1.5) < 0.1, `unmeasured moved by ${other}`);
    else assert.ok(Math.abs(other - 1) < 1e-9, `unmeasured moved by ${other} with transfer off`);
    assert.ok(Math.abs(c.events[0].ratio.cpu - (transfer ? 1.5 : 1)) < 0.1);
  }
});

test('GPU drift refits ξ1, ξ2 and leaves the CPU curves alone', () => {
  const c = new LatencyCalibrator(vgg);
  const draw = drawer(3);
  const fn = gpu(2);
  let i = 0;
  while (c.version === 0 && i < 500) c.observe(fn, 12, draw(fn, 12, 2), i++);
  assert.equal(c.version, 1);
  const r = gpuLatency(c.profile, 2, 12).avg / gpuLatency(vgg, 2, 12).avg;
  assert.ok(Math.abs(r - 2) < 0.15, `gpu ratio ${r}`);
  assert.deepEqual(c.profile.cpu, vgg.cpu);
  assert.equal(c.profile.samples, undefined);
  assert.match(c.profile.source ?? '', /calibrated v1/);
});

test('a short burst of noise is a false alarm, not a refit (confirmation on fresh samples)', () => {
  const c = new LatencyCalibrator(vgg);
  const draw = drawer(11);
  const fn = cpu(1);
  let t = 0;
  for (let i = 0; i < 200; i++) c.observe(fn, 1, draw(fn, 1), t++);
  // 10 slow batches (enough to make the recent mean suspect), then back to normal.
  for (let i = 0; i < 10; i++) c.observe(fn, 1, draw(fn, 1, 2), t++);
  for (let i = 0; i < 300; i++) c.observe(fn, 1, draw(fn, 1), t++);
  assert.equal(c.version, 0);
  assert.ok(c.falseAlarms >= 1);
});

test('steady latencies with a spread far wider than the tolerance: one refit, then none (all fresh samples judge)', () => {
  // Sub-millisecond batch times against a VGG19 profile: the first refit is a true drift; after
  // it the latencies do not change, so nothing may be confirmed again, however noisy the window.
  const fn = cpu(1);
  // Uniform: a 30-sample tail is already close to its p99, so the first refit gets the tail too.
  const shapes: [string, (u: number) => number][] = [['uniform', (u) => 1e-5 + u * 1e-3]];
  for (const [name, shape] of shapes)
    for (const seed of [5, 6, 7]) {
      const r = seededRandom(seed);
      const c = new LatencyCalibrator(vgg, { minIntervalS: 0 });
      // One batch per 10 ms of the caller's clock: 200 s.
      for (let i = 0; i < 20_000; i++) c.observe(fn, 1, Math.max(1e-6, shape(r())), i / 100);
      const at = c.events.map((e) => `${e.at}: ${e.drifted.map((d) => d.ratio.toFixed(3)).join()}`);
      assert.equal(c.version, 1, `${name}, seed ${seed}: refits ${JSON.stringify(at)}`);
      // The refit aimed at the whole fresh sample: the calibrated mean is within the tolerance.
      const s = c.stats()[0];
      assert.ok(Math.abs(s.error) < c.options.tolerance, `${name}, seed ${seed}: error ${s.error}`);
      assert.ok(s.predicted.max >= s.predicted.avg, `${name}, seed ${seed}: max below avg`);
    }
  // A long exponential tail: 30 samples cannot show its p99, so one tail refit may follow (once
  // minTailSamples fresh samples show it), and then none.
  for (const seed of [5, 6, 7]) {
    const r = seededRandom(seed);
    const c = new LatencyCalibrator(vgg);
    for (let i = 0; i < 20_000; i++) c.observe(fn, 1, 2e-5 * (0.5 - 0.5 * Math.log(1 - r())), i / 100);
    const later = c.events.slice(1);
    const at = later.map((e) => `${e.at}: ${JSON.stringify(e.drifted)}`);
    assert.ok(later.length <= 1 && later.every((e) => e.drifted[0]?.tail), `seed ${seed}: ${at}`);
  }
});

test('a backend whose level keeps changing refits at most once per minIntervalS, backing off (no refit storm)', () => {
  // Batch times that switch between two levels 3× apart every 3 s of the caller's clock: each
  // switch is a real drift the profile cannot keep up with.
  const r = seededRandom(5);
  const fn = cpu(1);
  const run = (minIntervalS?: number, n = 20_000): LatencyCalibrator => {
    const c = new LatencyCalibrator(vgg, minIntervalS === undefined ? {} : { minIntervalS });
    // One batch per 10 ms of the caller's clock: 200 s by default.
    for (let i = 0; i < n; i++) {
      const t = i / 100;
      c.observe(fn, 1, (Math.floor(t / 3) % 2 === 0 ? 1e-4 : 3e-4) * (0.9 + 0.2 * r()), t);
    }
    return c;
  };
  const storm = run(0, 6000);
  assert.ok(storm.version > 15, `without a gap it refits at every switch (got ${storm.version})`);
  const calm = run();
  const at = calm.events.map((e) => e.at);
  // 10 s, then 20, 40, 80 s while each refit comes as soon as it may: a handful in 200 s.
  assert.ok(calm.version >= 2 && calm.version <= 6, `refits in 200 s: ${JSON.stringify(at)}`);
  let gap = 10;
  for (let i = 1; i < at.length; i++) {
    const d = at[i]! - at[i - 1]!;
    assert.ok(d >= gap, `gap ${d} s where ${gap} s was due: ${JSON.stringify(at)}`);
    gap = d < 2 * gap ? Math.min(gap * 2, 640) : 10;
  }
  assert.ok(gap > 10, `the gap grew: ${JSON.stringify(at)}`);
  assert.throws(() => new LatencyCalibrator(vgg, { minIntervalS: -1 }), /minIntervalS/);
});

test('stats report measured vs predicted per configuration; bad options are coded errors', () => {
  const c = new LatencyCalibrator(vgg);
  for (let i = 0; i < 40; i++) c.observe(cpu(2), 2, truth(cpu(2), 2).avg * 1.05, i);
  const [s] = c.stats();
  assert.equal(s.key, 'cpu vcpu=2 batch=2');
  assert.equal(s.samples, 40);
  assert.ok(Math.abs(s.error - 0.05) < 1e-9);
  assert.equal(s.state, 'tracking');
  for (const [opts, field] of [
    [{ window: 0 }, 'calibration.window'],
    [{ tolerance: -1 }, 'calibration.tolerance'],
    [{ minSamples: 500 }, 'calibration.minSamples'],
    [{ tailQuantile: 1 }, 'calibration.tailQuantile'],
  ] as const)
    assert.throws(
      () => new LatencyCalibrator(vgg, opts),
      (e: unknown) =>
        e instanceof HetserveError && e.code === 'E_INVALID_OPTION' && e.details?.field === field,
    );
});

test('batch sizes of one configuration pool their evidence: mixed sizes under drift are detected as fast', () => {
  const c = new LatencyCalibrator(vgg);
  const o = c.options;
  const draw = drawer(5);
  const fn = gpu(2);
  for (let i = 0; i < 200; i++) c.observe(fn, 1 + (i % 10), draw(fn, 1 + (i % 10)), i);
  assert.equal(c.version, 0);
  let at = -1;
  for (let i = 0; i < 2 * o.minSamples + 2 * o.confirm && at < 0; i++)
    if (c.observe(fn, 1 + (i % 10), draw(fn, 1 + (i % 10), 1.5), 200 + i)) at = i;
  assert.ok(at >= 0, 'not detected');
  for (const b of [1, 5, 10]) {
    const r = gpuLatency(c.profile, 2, b).avg / gpuLatency(vgg, 2, b).avg;
    // 30 fresh samples of a 10–30 % noise: the refit is right to within the tolerance.
    assert.ok(Math.abs(r / 1.5 - 1) < o.tolerance, `b=${b}: ratio ${r}`);
  }
  // Per-batch-size estimates stay separate.
  assert.equal(c.stats().filter((s) => s.config === configKey(fn)).length, 10);
});
