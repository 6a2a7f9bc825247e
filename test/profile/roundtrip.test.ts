import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCnn } from '../../src/onnx/synthetic-models.ts';
import { profileOnnx } from '../../src/profile/onnx-runner.ts';
import { buildCpuProfile } from '../../src/profile/build.ts';
import { summarise } from '../../src/profile/stats.ts';
import { plan, vcpuGrid } from '../../src/plan/serverless/index.ts';
import { cpuLatencyAvg, cpuLatencyMax } from '../../src/predict/index.ts';
import { medianOf, relativeSpread, withoutOutliers, withoutOutlierSamples } from '../helpers/robust.ts';

/**
 * Issue 8 round trip: profile a model, plan on the profile, then measure the planned configuration
 * afresh: the plan's predicted latencies must match within 15%. The planner searches the vCPU range
 * the profile was fitted on (profile.cpu.fitRange), ≤ 1 vCPU for the reasons given in
 * profile.onnx.test.ts; the maximum latency is p90 for the same reasons.
 */
async function roundTripProblems(): Promise<string[]> {
  const bad: string[] = [];
  const model = buildCnn({ size: 64, filters: 32, layers: 3, seed: 11 });
  // Outlying samples (a neighbour's burst of load) are dropped before the fit and the comparison.
  const sweep = withoutOutlierSamples(
    await profileOnnx(model.bytes, { vcpus: [0.5, 0.7, 1], batches: [1, 2, 3], runs: 40 }),
  );
  const { profile } = buildCpuProfile(sweep, { percentile: 90, name: 'synthetic-cnn' });
  const [lo, hi] = profile.cpu!.fitRange!;
  // Our model runs in milliseconds: SLOs of a few tens of ms and high rates make batching pay.
  // A third app's SLO is tight enough to need ~0.8 vCPU at batch 1 (a point the sweep did not measure).
  const apps = [
    { name: 'tight', slo: cpuLatencyMax(profile, 0.8, 1), rps: 0.5 },
    { name: 'fast', slo: 0.02, rps: 300 },
    { name: 'slow', slo: 0.05, rps: 150 },
  ];
  const p = plan(apps, profile, { grid: { cpuVcpus: vcpuGrid(lo, hi, 0.05) } });
  const cpuGroups = p.groups.filter((g) => g.function.kind === 'cpu');
  assert.ok(cpuGroups.length > 0, 'the profile has only a CPU section, so the plan uses CPU functions');
  assert.ok(
    cpuGroups.some((g) => g.function.vcpu > 0.5),
    `some group needs more than the cheapest vCPU: ${JSON.stringify(p.groups.map((g) => g.function))}`,
  );
  for (const g of cpuGroups) {
    const { vcpu } = g.function;
    assert.ok(vcpu >= lo - 1e-9 && vcpu <= hi + 1e-9, `vCPU ${vcpu} inside the fitted range`);
    // The plan's numbers are the predictor's, i.e. the fitted curves at (vCPU, batch).
    assert.ok(Math.abs(g.latency.avg - cpuLatencyAvg(profile, vcpu, g.batchSize)) < 1e-12);
    // A configuration the sweep measured, nearest to the planned one: measured again beside each
    // fresh measurement, it tells how much faster or slower the shared machine has become since
    // the sweep; the tolerance grows by that drift (the test is about the profile, not about the
    // neighbours' load staying the same for a minute). On a steady machine it adds nothing.
    const ref = nearestMeasured(sweep.measurements, vcpu, g.batchSize);
    assert.equal(ref.batch, g.batchSize, 'the sweep measured every batch size the profile covers');
    const refThen = summarise(withoutOutliers(ref.samples), 90);
    // Three fresh measurements of 40 runs; the error is the median over them, so one disturbed
    // measurement does not decide.
    const errs = { avg: [] as number[], max: [] as number[] };
    const drifts = { avg: [] as number[], max: [] as number[] };
    const measured = { avg: [] as number[], max: [] as number[] };
    const seen: string[] = [];
    for (let k = 0; k < 3; k++) {
      // The planned and the reference configuration in one interleaved sweep (blocks of 5 runs
      // taking turns), so a neighbour's load hits both alike. Measured one after the other, a CI run
      // saw the same configuration read 4.3 ms and then 5.2-5.5 ms. (The reference has the planned
      // batch size; when it is the planned configuration itself, the check is the fit's own error
      // at a measured point.)
      const both = await profileOnnx(model.bytes, {
        vcpus: [vcpu, ref.vcpu!],
        batches: [ref.batch],
        runs: 40,
      });
      const at = (c: number) => both.measurements.find((m) => Math.abs(m.vcpu! - c) < 1e-9)!.samples;
      const s = summarise(withoutOutliers(at(vcpu)), 90);
      const r = summarise(withoutOutliers(at(ref.vcpu!)), 90);
      const drift = { avg: r.avg / refThen.avg, max: r.max / refThen.max };
      drifts.avg.push(Math.abs(drift.avg - 1));
      drifts.max.push(Math.abs(drift.max - 1));
      // The prediction is what the sweep's machine would measure: scaled by the machine's drift
      // since then (the reference measured now against then), it is compared with the machine of now.
      errs.avg.push(Math.abs((g.latency.avg * drift.avg) / s.avg - 1));
      errs.max.push(Math.abs((cpuLatencyMax(profile, vcpu, g.batchSize) * drift.max) / s.max - 1));
      measured.avg.push(s.avg);
      measured.max.push(s.max);
      seen.push(
        `avg ${s.avg.toFixed(5)} max ${s.max.toFixed(5)} (machine ×${drift.avg.toFixed(3)} since the sweep)`,
      );
    }
    const ea = medianOf(errs.avg);
    const em = medianOf(errs.max);
    // 15 %, widened by three robust SDs of the fresh measurements themselves and by half the
    // machine's median drift since the sweep (the correction above is measured on another
    // configuration, so only mostly right), at most to 35 %: on a quiet machine that is 15 %. A
    // stress run (load falling from 7 to 2 between the sweep and the check) measured the machine
    // ×0.78 faster: the average was 25 % off (the p90 42 %); scaled by the drift, 3 %.
    const tol = (xs: number[], ds: number[]) =>
      Math.min(0.35, 0.15 + 3 * relativeSpread(xs) + medianOf(ds) / 2);
    if (ea >= tol(measured.avg, drifts.avg) || em >= tol(measured.max, drifts.max))
      bad.push(
        `vCPU ${vcpu} b=${g.batchSize}: predicted avg ${g.latency.avg} max ${g.latency.max}; measured ${seen.join(', ')}`,
      );
  }
  return bad;
}

/** The sweep's measurement closest to (vcpu, batch): same batch size first, then nearest vCPU. */
function nearestMeasured<M extends { vcpu?: number; batch: number }>(
  ms: readonly M[],
  vcpu: number,
  batch: number,
): M {
  const d = (m: M): number => Math.abs(m.batch - batch) * 10 + Math.abs((m.vcpu ?? 0) - vcpu);
  return ms.reduce((best, m) => (d(m) < d(best) ? m : best));
}

test('plan on a profiled model predicts latencies a fresh measurement matches within 15%', async () => {
  assert.deepEqual(await roundTripProblems(), []);
});
