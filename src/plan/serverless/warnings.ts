/**
 * Plan caveats computed from the profile alone. `finishPlan` attaches them, so every planner's plan
 * carries them; they never change what is planned.
 */
import type { PlanGroup, PlanWarning } from '../../model/plan.ts';
import type { ServerlessProfile } from '../../model/profile.ts';

// Grid vCPUs are rounded two-decimal numbers while fitRange comes from measured values: a relative
// tolerance keeps a vCPU equal to a range end (up to float noise) inside.
const REL_TOL = 1e-9;

/** True when `v` lies outside [lo, hi] (ends included, up to float noise). */
export function outsideRange(v: number, [lo, hi]: readonly [number, number]): boolean {
  return v < lo * (1 - REL_TOL) || v > hi * (1 + REL_TOL);
}

/**
 * W_EXTRAPOLATED for each CPU group whose vCPU lies outside the profile's `cpu.fitRange` (absent:
 * no warning; bundled paper profiles carry none). GPU functions get none: the profile records no
 * fitted batch or memory range for the GPU line (only `gpuMemThresholds`, which the planners
 * already enforce as a hard limit).
 */
export function planWarnings(profile: ServerlessProfile, groups: readonly PlanGroup[]): PlanWarning[] {
  const range = profile.cpu?.fitRange;
  if (!range) return [];
  const out: PlanWarning[] = [];
  groups.forEach((g, i) => {
    const f = g.function;
    if (f.kind !== 'cpu' || !outsideRange(f.vcpu, range)) return;
    out.push({
      code: 'W_EXTRAPOLATED',
      group: i,
      field: 'function.vcpu',
      value: f.vcpu,
      range: [range[0], range[1]],
      message: `group ${i} (${g.apps.join(',')}): ${f.vcpu} vCPU is outside the range the ${profile.name} CPU latency curves were fitted on (${range[0]}..${range[1]} vCPU); its latency, cost and slack are extrapolated`,
    });
  });
  return out;
}
