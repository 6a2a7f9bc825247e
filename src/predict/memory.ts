/** Memory requirements and Alibaba FC resource rules (harmonybatch design §4.3). */
import type { ServerlessProfile } from '../model/profile.ts';

/** FC allows 1 to 4 GB of RAM per vCPU. */
export const MAX_GB_PER_VCPU = 4;
const MB_STEP = 64;

/** Round a size in MB up to a multiple of 64 MB. */
export function roundUp64Mb(mb: number): number {
  return Math.ceil(mb / MB_STEP) * MB_STEP;
}

/** RAM (MB) a CPU function needs for batch b: a_mem·b + b_mem, rounded up to 64 MB. */
export function cpuRamNeedMb(profile: ServerlessProfile, batch: number): number {
  const m = profile.cpu?.memMb;
  return m ? roundUp64Mb(m[0] * batch + m[1]) : NaN;
}

/** Smallest vCPU whose 4 GB/vCPU ceiling still holds the batch's RAM need. */
export function cpuMinVcpu(profile: ServerlessProfile, batch: number): number {
  return cpuRamNeedMb(profile, batch) / MAX_GB_PER_VCPU / 1024;
}

/**
 * RAM (GB) billed for a CPU function: max(need, vCPU GB) rounded up to 64 MB, or null when the
 * need exceeds 4 GB per vCPU.
 */
export function cpuFunctionMemoryGb(profile: ServerlessProfile, vcpu: number, batch: number): number | null {
  const needGb = cpuRamNeedMb(profile, batch) / 1024;
  if (!(needGb <= MAX_GB_PER_VCPU * vcpu)) return null;
  const gb = Math.max(needGb, vcpu);
  return (Math.ceil((gb * 1024) / MB_STEP) * MB_STEP) / 1024;
}

/** Minimum GPU memory (GB) for batch b: 1 + index of the first threshold ≥ b (constraint 8). */
export function gpuMinMemoryGb(profile: ServerlessProfile, batch: number): number {
  const t = profile.gpu?.gpuMemThresholds ?? [];
  for (let i = 0; i < t.length; i++) if (batch <= t[i]) return i + 1;
  return t.length + 1;
}

/** Host RAM (GB) of a GPU function with m GB of GPU memory, or null when it exceeds 4 GB per vCPU (m/3). */
export function gpuFunctionMemoryGb(profile: ServerlessProfile, gpuMemoryGb: number): number | null {
  const g = profile.gpu;
  if (!g) return null;
  const gb = roundUp64Mb(g.hostMemMb) / 1024;
  return gb > (MAX_GB_PER_VCPU * gpuMemoryGb) / 3 ? null : gb;
}
