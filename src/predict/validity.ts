/**
 * A profile is usable only when it predicts a positive, finite latency at every configuration a
 * planner may choose: a fitted curve that dips below zero somewhere makes that point look free and
 * the planner picks it. Checked once per profile object (profiles are immutable once parsed).
 */
import { HetserveError } from '../model/errors.ts';
import type { ServerlessProfile } from '../model/profile.ts';
import { cpuLatencyAvg, cpuLatencyMax, gpuLatencyAvg, gpuLatencyMax } from './latency.ts';

/** vCPU values checked: the planners' default grid 0.05..16 step 0.05 plus the fitted range's ends. */
const CHECK_VCPUS = Array.from({ length: 320 }, (_, k) => Math.round((0.05 + k * 0.05) * 100) / 100);
/** GPU batch sizes checked when the profile lists no memory thresholds (the default grid's). */
const DEFAULT_GPU_BATCH_MAX = 32;

const checked = new WeakSet<ServerlessProfile>();

/**
 * Throw E_PROFILE_INVALID (details: model, kind, batch, vcpu or gpuMemoryGb, value) at the first
 * configuration of the grid where the profile predicts a non-positive or non-finite latency.
 */
export function assertPhysicalProfile(profile: ServerlessProfile): void {
  if (checked.has(profile)) return;
  const bad = (what: string, where: Record<string, number>, value: number): HetserveError =>
    new HetserveError(
      'E_PROFILE_INVALID',
      `profile ${JSON.stringify(profile.name)}: predicted ${what} latency is ${value} s at ${Object.entries(
        where,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; latency must be positive and finite everywhere (refit the profile)`,
      {
        field: `profile.${where['vcpu'] !== undefined ? 'cpu' : 'gpu'}`,
        value,
        model: profile.name,
        ...where,
      },
    );
  if (profile.cpu) {
    const vcpus = [...CHECK_VCPUS, ...(profile.cpu.fitRange ?? [])];
    for (let b = 1; b <= profile.cpu.avg.length; b++)
      for (const vcpu of vcpus) {
        const avg = cpuLatencyAvg(profile, vcpu, b);
        if (!(avg > 0 && Number.isFinite(avg))) throw bad('average', { batch: b, vcpu }, avg);
        const max = cpuLatencyMax(profile, vcpu, b);
        if (!(max > 0 && Number.isFinite(max))) throw bad('maximum', { batch: b, vcpu }, max);
      }
  }
  const g = profile.gpu;
  if (g) {
    const bMax = g.gpuMemThresholds.length > 0 ? Math.max(1, ...g.gpuMemThresholds) : DEFAULT_GPU_BATCH_MAX;
    for (let m = 1; m <= g.sliceUnits; m++)
      for (let b = 1; b <= bMax; b++) {
        const avg = gpuLatencyAvg(profile, m, b);
        if (!(avg > 0 && Number.isFinite(avg))) throw bad('average', { batch: b, gpuMemoryGb: m }, avg);
        const max = gpuLatencyMax(profile, m, b);
        if (!(max > 0 && Number.isFinite(max))) throw bad('maximum', { batch: b, gpuMemoryGb: m }, max);
      }
  }
  checked.add(profile);
}

/**
 * Record that `profile` passes `assertPhysicalProfile` without checking it: for the bundled
 * profiles only, which test/predict.test.ts checks (a cold `hetserve plan` saves the grid walk).
 */
export function markPhysicalProfile(profile: ServerlessProfile): void {
  checked.add(profile);
}
