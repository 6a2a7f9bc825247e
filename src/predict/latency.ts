/**
 * Performance model (harmonybatch design §4.1–§4.2). Seconds; vCPU; GB. Pure and allocation-light:
 * planners call these in tight loops.
 */
import type { ServerlessProfile } from '../model/profile.ts';

export interface Latency {
  /** Average batch latency, s (drives cost). */
  avg: number;
  /** Maximum batch latency, s (drives SLO checks). */
  max: number;
}

/** Overhead factor the prototype applies to the GPU maximum latency when m < M_max (design §4.2). */
export const DEFAULT_GPU_MAX_OVERHEAD = 1.2;

/** Largest CPU batch size the profile covers (0 when it has no CPU section). */
export function cpuMaxBatch(profile: ServerlessProfile): number {
  return profile.cpu ? profile.cpu.avg.length : 0;
}

/** L^c_avg(c, b) = α·exp(−c/β) + γ with the average coefficients of batch size b (Eq. 1). NaN if b is not profiled. */
export function cpuLatencyAvg(profile: ServerlessProfile, vcpu: number, batch: number): number {
  const k = profile.cpu?.avg[batch - 1];
  return k ? k[0] * Math.exp(-vcpu / k[1]) + k[2] : NaN;
}

/** Same form with the maximum-latency coefficients. */
export function cpuLatencyMax(profile: ServerlessProfile, vcpu: number, batch: number): number {
  const k = profile.cpu?.max[batch - 1];
  return k ? k[0] * Math.exp(-vcpu / k[1]) + k[2] : NaN;
}

export function cpuLatency(profile: ServerlessProfile, vcpu: number, batch: number): Latency {
  return { avg: cpuLatencyAvg(profile, vcpu, batch), max: cpuLatencyMax(profile, vcpu, batch) };
}

/** vCPU of a GPU function with m GB of GPU memory (Alibaba FC: m/3, not rounded). */
export function gpuFunctionVcpu(gpuMemoryGb: number): number {
  return gpuMemoryGb / 3;
}

/** Whole-GPU latency L^g_0(b) = ξ1·b + ξ2 (Eq. 2). */
export function gpuLatencyWhole(profile: ServerlessProfile, batch: number): number {
  const g = profile.gpu;
  return g ? g.xi1 * batch + g.xi2 : NaN;
}

/** GPU average latency under time slicing: (M/m)·a·L0 + b·L0/min(c,1) (Eq. 3 + CPU-bound share). */
export function gpuLatencyAvg(profile: ServerlessProfile, gpuMemoryGb: number, batch: number): number {
  const g = profile.gpu;
  if (!g) return NaN;
  const l0 = g.xi1 * batch + g.xi2;
  const cpuPart = g.cpuShare === 0 ? 0 : (g.cpuShare * l0) / Math.min(gpuMemoryGb / 3, 1);
  return (g.sliceUnits / gpuMemoryGb) * g.gpuShare * l0 + cpuPart;
}

/**
 * GPU maximum latency (Eq. 4, stepwise): a request that starts at a preempted period waits
 * (M−m)·τ once per slice it needs; `overhead` (default 1.2) scales it when m < M_max.
 */
export function gpuLatencyMax(
  profile: ServerlessProfile,
  gpuMemoryGb: number,
  batch: number,
  overhead = DEFAULT_GPU_MAX_OVERHEAD,
): number {
  const g = profile.gpu;
  if (!g) return NaN;
  const l0 = g.xi1 * batch + g.xi2;
  const lg = g.gpuShare * l0;
  const cpuPart = g.cpuShare === 0 ? 0 : (g.cpuShare * l0) / Math.min(gpuMemoryGb / 3, 1);
  const m = gpuMemoryGb;
  const tau = g.sliceS;
  const scale = m < g.sliceUnits ? overhead : 1;
  return scale * (Math.ceil(lg / (m * tau)) * (g.sliceUnits - m) * tau + lg) + cpuPart;
}

export function gpuLatency(
  profile: ServerlessProfile,
  gpuMemoryGb: number,
  batch: number,
  overhead = DEFAULT_GPU_MAX_OVERHEAD,
): Latency {
  return {
    avg: gpuLatencyAvg(profile, gpuMemoryGb, batch),
    max: gpuLatencyMax(profile, gpuMemoryGb, batch, overhead),
  };
}

/**
 * Spread of a batch's latency in the avg/max model: the max is read as the 99th percentile of a
 * normal around the average (design §8.1), so sd = (max − avg) / 2.33.
 */
export function latencySd(avg: number, max: number): number {
  return Math.max(0, (max - avg) / 2.33);
}

/**
 * One batch latency from the avg/max model: N(avg, sd²), redrawn while ≤ 0 (avg after 100 tries).
 * The simulator and the replay backend both draw with it, so a live replay run and its simulation
 * see the same latency distribution.
 */
export function drawModelLatency(avg: number, sd: number, normal: () => number): number {
  let lat = avg + sd * normal();
  for (let tries = 0; lat <= 0 && tries < 100; tries++) lat = avg + sd * normal();
  return lat > 0 ? lat : avg;
}
