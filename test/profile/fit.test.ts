import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { expLatency, fitError, fitExponential, fitLinear } from '../../src/profile/fit.ts';
import { dropLargest, summarise } from '../../src/profile/stats.ts';
import {
  buildClusterProfile,
  buildCpuProfile,
  buildGpuProfile,
  formatFitTable,
} from '../../src/profile/build.ts';
import type { SweepResult } from '../../src/profile/measure.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { ServerlessProfileSchema } from '../../src/model/profile.ts';
import { ClusterProfileSchema } from '../../src/model/cluster.ts';
import { LatencyTable } from '../../src/predict/latency-table.ts';

const isCode = (code: string) => (e: unknown) => e instanceof HetserveError && e.code === code;

test('exponential fit recovers the curve from noise-free points (property)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.01, max: 2, noNaN: true }),
      fc.double({ min: 0.2, max: 3, noNaN: true }),
      fc.double({ min: 0.001, max: 0.5, noNaN: true }),
      (alpha, beta, gamma) => {
        const truth = [alpha, beta, gamma];
        const xs = [0.25, 0.5, 1, 1.5, 2, 3];
        const coef = fitExponential(xs.map((x) => ({ x, y: expLatency(truth, x) })));
        // Judge by the curve, not the coefficients (β and α trade off when the curve is flat).
        for (const c of [0.3, 0.75, 1.25, 2.5]) {
          const want = expLatency(truth, c);
          const got = expLatency(coef, c);
          assert.ok(
            Math.abs(got / want - 1) < 0.01,
            `c=${c}: got ${got}, want ${want} (truth ${truth}, fit ${coef})`,
          );
        }
        assert.ok(coef[1] > 0 && coef[0] >= 0);
      },
    ),
    { numRuns: 60 },
  );
});

test('exponential fit refuses fewer than 3 distinct vCPU values and says how many are needed', () => {
  assert.throws(
    () =>
      fitExponential(
        [
          { x: 1, y: 1 },
          { x: 1, y: 1.1 },
          { x: 2, y: 0.5 },
        ],
        { what: 'cpu.avg b=1' },
      ),
    (e: unknown) =>
      isCode('E_TOO_FEW_POINTS')(e) &&
      (e as HetserveError).details['needed'] === 3 &&
      /got 2/.test((e as Error).message),
  );
});

test('linear fit matches least squares on exact lines and refuses a single batch size', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 1e-4, max: 0.1, noNaN: true }),
      fc.double({ min: 0, max: 0.05, noNaN: true }),
      (m, b) => {
        const pts = [1, 4, 8, 16].map((x) => ({ x, y: m * x + b }));
        const f = fitLinear(pts);
        assert.ok(Math.abs(f.slope - m) < 1e-9 * (1 + m));
        assert.ok(Math.abs(f.intercept - b) < 1e-9 + 1e-6 * b);
      },
    ),
    { numRuns: 50 },
  );
  assert.throws(
    () =>
      fitLinear([
        { x: 4, y: 1 },
        { x: 4, y: 2 },
      ]),
    isCode('E_TOO_FEW_POINTS'),
  );
});

test('fitError reports MAPE and worst error in percent', () => {
  const e = fitError(
    [
      { x: 1, y: 100 },
      { x: 2, y: 200 },
    ],
    (x) => (x === 1 ? 110 : 200),
  );
  assert.equal(e.n, 2);
  assert.ok(Math.abs(e.mape - 5) < 1e-9);
  assert.ok(Math.abs(e.maxErr - 10) < 1e-9);
});

test('summaries drop the single largest sample before averaging (design: kairos §4.2)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0.001, max: 10, noNaN: true }), { minLength: 2, maxLength: 50 }),
      (xs) => {
        const kept = dropLargest(xs);
        assert.equal(kept.length, xs.length - 1);
        assert.equal(Math.max(...kept) <= Math.max(...xs), true);
        const s = summarise(xs, 100);
        const sum = xs.reduce((a, b) => a + b, 0) - Math.max(...xs);
        assert.ok(Math.abs(s.avg - sum / (xs.length - 1)) < 1e-9 * (1 + Math.abs(s.avg)));
        assert.equal(s.max, Math.max(...kept));
        assert.ok(s.min <= s.median && s.median <= s.max);
      },
    ),
  );
});

/** A synthetic sweep whose latencies follow known curves exactly (with a straggler per config). */
function syntheticSweep(
  vcpus: number[],
  batches: number[],
  f: (c: number, b: number) => number,
): SweepResult {
  return {
    name: 'synthetic',
    source: 'test',
    sweepSeconds: 0,
    notes: [],
    measurements: vcpus.flatMap((vcpu) =>
      batches.map((batch) => ({
        vcpu,
        batch,
        // 19 equal samples plus one straggler 10× slower: the straggler must be dropped.
        samples: [...Array.from({ length: 19 }, () => f(vcpu, batch)), 10 * f(vcpu, batch)],
        rssMb: 100 + 5 * batch,
      })),
    ),
  };
}

test('CPU profile: fitted per batch, unmeasured sizes interpolated, valid against the schema', () => {
  const f = (c: number, b: number): number => (0.2 * b + 0.1) * Math.exp(-c / 0.8) + 0.01 * b;
  const sweep = syntheticSweep([0.5, 1, 1.5, 2, 3], [1, 2, 4], f);
  const { profile, fits } = buildCpuProfile(sweep, { percentile: 99 });
  assert.equal(ServerlessProfileSchema.safeParse(profile).success, true);
  assert.equal(profile.cpu!.avg.length, 4);
  for (const b of [1, 2, 4]) {
    for (const c of [0.75, 2.5]) {
      const got = expLatency(profile.cpu!.avg[b - 1]!, c);
      assert.ok(Math.abs(got / f(c, b) - 1) < 0.01, `b=${b} c=${c}: ${got} vs ${f(c, b)}`);
    }
  }
  // b=3 is linear in b between 2 and 4 here, so interpolation is exact.
  assert.ok(Math.abs(expLatency(profile.cpu!.avg[2]!, 1.2) / f(1.2, 3) - 1) < 0.01);
  assert.deepEqual(
    fits.filter((r) => r.interpolated).map((r) => r.batch),
    [3, 3],
  );
  assert.ok(fits.every((r) => r.mape < 1));
  // Memory grows 5 MB per sample in this sweep.
  assert.ok(Math.abs(profile.cpu!.memMb[0] - 5) < 1e-6);
  assert.match(formatFitTable(fits), /MAPE/);
});

test('CPU profile needs batch 1 and enough vCPU values; an empty sweep is refused', () => {
  const f = (c: number, b: number): number => b / c;
  assert.throws(() => buildCpuProfile(syntheticSweep([0.5, 1, 2], [2, 4], f)), isCode('E_TOO_FEW_POINTS'));
  assert.throws(() => buildCpuProfile(syntheticSweep([0.5, 1], [1, 2], f)), isCode('E_TOO_FEW_POINTS'));
  assert.throws(
    () => buildCpuProfile({ ...syntheticSweep([1], [1], f), measurements: [] }),
    isCode('E_TOO_FEW_POINTS'),
  );
});

test('GPU profile fits the whole-GPU line; cluster profile keeps samples and drop-largest means', () => {
  const sweep = syntheticSweep([1], [1, 8, 16, 32], (_c, b) => 0.00168 * b + 0.00211);
  const gpuSweep = { ...sweep, measurements: sweep.measurements.map(({ vcpu: _v, ...m }) => m) };
  const { profile } = buildGpuProfile(gpuSweep);
  assert.ok(Math.abs(profile.gpu!.xi1 - 0.00168) < 1e-9);
  assert.ok(Math.abs(profile.gpu!.xi2 - 0.00211) < 1e-9);
  const cluster = buildClusterProfile(gpuSweep, { instance: 'remote' });
  assert.equal(ClusterProfileSchema.safeParse(cluster).success, true);
  assert.deepEqual(cluster.batchSizes, [1, 8, 16, 32]);
  const inst = cluster.instances['remote']!;
  assert.equal(inst.totalMs![0]!.length, 20);
  assert.ok(Math.abs(inst.meanMs![3]! - (0.00168 * 32 + 0.00211) * 1000) < 1e-3);
  // The cluster planner's latency table reads it and gets the same drop-largest means.
  const table = LatencyTable.fromProfile(cluster);
  cluster.batchSizes.forEach((b, i) =>
    assert.ok(Math.abs(table.meanMs('remote', b) - inst.meanMs![i]!) < 1e-3),
  );
});

test('batch-curve plot: one dot per measured point, a fitted line per series, standalone SVG', async () => {
  const { plotBatchCurve } = await import('../../src/profile/plot.ts');
  const points = [1, 8, 16, 32].map((batch) => ({ batch, avg: 0.00168 * batch + 0.00211 }));
  const svg = await plotBatchCurve(
    [
      { name: 'whole GPU', points, line: { slope: 0.00168, intercept: 0.00211 } },
      { name: 'measured only', points: points.slice(0, 3) },
    ],
    'test plot',
  );
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<circle/g) ?? []).length, 7);
  assert.match(svg, /<title>test plot<\/title>/);
});
