/**
 * funcProvision (harmonybatch design §6.1–§6.2): the cheapest function (CPU or GPU), batch size
 * and timeouts for one group under the context's predictor. Compat 'paper' searches CPU batch
 * sizes 1..4 for any group (Theorem 1's candidates c_min, c_0, c_max per batch) and every GPU
 * (m, b) up to the largest feasible b per m (Theorem 2 bound, then the cheapest b below it, since
 * billing steps break "largest b is cheapest"). Compat 'prototype' reproduces the prototype:
 * CPU only for single-app groups at batch 1 (grid-binary-searched root of Eq. 14), GPU by a
 * linear scan of b from the top per m.
 */
import type { App } from '../../model/app.ts';
import type { FunctionChoice, GroupEvaluation, GroupInput, Predictor } from '../../predict/predictor.ts';
import { equivalentTimeout } from '../../predict/batching.ts';
import { cpuMaxBatch } from '../../predict/latency.ts';
import { cpuMinVcpu, gpuFunctionMemoryGb, gpuMinMemoryGb } from '../../predict/memory.ts';
import { groupInput, vcpuGrid } from './context.ts';
import { planCache } from './plan-cache.ts';
import { provisionByTables, type GroupSums } from './tables.ts';
import type { ConfigGrid, PlanContext } from './types.ts';
import { outsideRange } from './warnings.ts';

export type FunctionKind = 'cpu' | 'gpu';

/** The prototype's Harmony CPU grid runs to 16.95 vCPU (`arange(0.05, 17, 0.05)`, design §6.1). */
const PROTOTYPE_HARMONY_VCPUS = vcpuGrid(0.05, 16.95);

/** Cheapest feasible configuration of `apps` (SLO-sorted) over `kinds`, or null when none exists. */
export function provisionGroup(
  ctx: PlanContext,
  apps: readonly App[],
  kinds: readonly FunctionKind[] = ['cpu', 'gpu'],
): GroupEvaluation | null {
  return provisionInput(ctx.predictor, ctx.grid, groupInput(apps), kinds);
}

/** `known`: the group's rate and T^X of its SLOs if the caller has them (see `GroupSums`). */
export function provisionInput(
  predictor: Predictor,
  grid: ConfigGrid,
  group: GroupInput,
  kinds: readonly FunctionKind[],
  known?: GroupSums,
): GroupEvaluation | null {
  const proto = predictor.compat === 'prototype';
  if (!proto && predictor.costModel === 'full-batch') {
    const fast = provisionByTables(predictor, grid, group, kinds, known);
    if (fast !== undefined) return fast;
  }
  const gpu = kinds.includes('gpu')
    ? proto
      ? gpuPrototype(predictor, grid, group)
      : gpuPaper(predictor, grid, group)
    : null;
  let cpu: GroupEvaluation | null = null;
  if (kinds.includes('cpu')) {
    if (proto) {
      if (group.slos.length === 1) cpu = cpuPrototype(predictor, group, prototypeVcpus(predictor, grid));
    } else {
      cpu = cpuPaper(predictor, grid, group);
    }
  }
  // Ties go to GPU: a CPU function wins only when strictly cheaper (design §13).
  if (cpu && (!gpu || cpu.costPerRequest < gpu.costPerRequest)) return cpu;
  return gpu;
}

// ── CPU ──────────────────────────────────────────────────────────────────────

/**
 * The prototype's vCPU list, cut to the profile's fit range when the planning grid was (planners
 * stay inside a measured profile's range unless told to extrapolate; see `withFitRange`).
 */
function prototypeVcpus(predictor: Predictor, grid: ConfigGrid): readonly number[] {
  const range = predictor.profile.cpu?.fitRange;
  if (!range || grid.cpuVcpus.some((v) => outsideRange(v, range))) return PROTOTYPE_HARMONY_VCPUS;
  return PROTOTYPE_HARMONY_VCPUS.filter((v) => !outsideRange(v, range));
}

function cpuPrototype(
  predictor: Predictor,
  group: GroupInput,
  vcpus: readonly number[],
): GroupEvaluation | null {
  const p = predictor.profile;
  if (!p.cpu) return null;
  const s = group.slos[0];
  const [aMax, bMax, gMax] = p.cpu.max[0];
  if (s - gMax <= 0) return null;
  const sloRes = Math.max(bMax * Math.log(aMax / (s - gMax)), cpuMinVcpu(p, 1));
  const grid = vcpus;
  let first = 0;
  while (first < grid.length && grid[first] < sloRes) first++;
  if (first >= grid.length) return null;
  // Binary search for the sign change of dC/dc ∝ α(1 − c/β)e^{−c/β} + γ (avg coefficients),
  // keeping the visited point with the smallest |g| (design §6.1, C1).
  const [a, b, g] = p.cpu.avg[0];
  let lo = first;
  let hi = grid.length - 1;
  let best = -1;
  let bestAbs = Infinity;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = grid[mid];
    const gv = a * (1 - c / b) * Math.exp(-c / b) + g;
    if (Math.abs(gv) < bestAbs) {
      bestAbs = Math.abs(gv);
      best = mid;
    }
    if (gv < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  const ev = predictor.evaluate(group, { kind: 'cpu', vcpu: grid[best] }, 1);
  return ev.feasible ? ev : null;
}

function cpuPaper(predictor: Predictor, grid: ConfigGrid, group: GroupInput): GroupEvaluation | null {
  const p = predictor.profile;
  if (!p.cpu) return null;
  const vc = grid.cpuVcpus;
  const last = vc.length - 1;
  if (last < 0) return null;
  const evalAt = (k: number, b: number) => predictor.evaluate(group, { kind: 'cpu', vcpu: vc[k] }, b);
  let best: GroupEvaluation | null = null;
  const consider = (ev: GroupEvaluation) => {
    if (ev.feasible && (!best || ev.costPerRequest < best.costPerRequest)) best = ev;
  };
  const bTop = Math.min(grid.cpuBatchMax, cpuMaxBatch(p));
  for (let b = 1; b <= bTop; b++) {
    // c_min: feasibility is monotone in c (more vCPU → lower L_max → longer timeouts, more RAM room).
    const top = evalAt(last, b);
    if (!top.feasible) continue;
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (evalAt(mid, b).feasible) hi = mid;
      else lo = mid + 1;
    }
    const kMin = lo;
    consider(evalAt(kMin, b));
    consider(top);
    // c_0: the relative minimum, which lies above 2β (design §6.1); cost is unimodal there.
    const twoBeta = 2 * p.cpu.avg[b - 1][1];
    let l = kMin;
    while (l < last && vc[l] < twoBeta) l++;
    let h = last;
    while (l < h) {
      const mid = (l + h) >> 1;
      if (evalAt(mid + 1, b).costPerRequest < evalAt(mid, b).costPerRequest) l = mid + 1;
      else h = mid;
    }
    consider(evalAt(l, b));
  }
  return best;
}

// ── GPU ──────────────────────────────────────────────────────────────────────

/**
 * Compat 'prototype' GPU tables, per grid memory m (index j) and batch b: L_max and the full-batch
 * cost per request, NaN where the memory rules forbid (m, b). Group-independent, so built once per
 * model and grid (plan-cache.ts).
 */
interface PrototypeGpuTables {
  /** lmax[j * bMax + b − 1] */
  lmax: Float64Array;
  cost: Float64Array;
  /** prefMin[j * bMax + b − 1]: the lowest cost of m at batch sizes 1..b (Infinity when none). */
  prefMin: Float64Array;
  bMax: number;
}

function prototypeGpuTables(predictor: Predictor, grid: ConfigGrid): PrototypeGpuTables {
  const cache = planCache(predictor, grid);
  if (cache.prototypeGpu) return cache.prototypeGpu as PrototypeGpuTables;
  const p = predictor.profile;
  const bMax = grid.gpuBatchMax;
  const mems = grid.gpuMemoriesGb;
  const lmax = new Float64Array(mems.length * bMax).fill(NaN);
  const cost = new Float64Array(mems.length * bMax).fill(NaN);
  mems.forEach((m, j) => {
    // The host-RAM rule depends on m only: the prototype skips this m altogether.
    if (gpuFunctionMemoryGb(p, m) === null) return;
    const fn: FunctionChoice = { kind: 'gpu', gpuMemoryGb: m };
    for (let b = 1; b <= bMax; b++) {
      if (m < gpuMinMemoryGb(p, b)) continue;
      const res = predictor.resources(fn, b);
      if (!res) continue;
      lmax[j * bMax + b - 1] = predictor.maxLatency(fn, b);
      cost[j * bMax + b - 1] = predictor.batchCostPerRequest(fn, res, b);
    }
  });
  const prefMin = new Float64Array(mems.length * bMax);
  for (let j = 0; j < mems.length; j++) {
    let m = Infinity;
    for (let b = 1; b <= bMax; b++) {
      const c = cost[j * bMax + b - 1];
      if (c < m) m = c; // NaN never is
      prefMin[j * bMax + b - 1] = m;
    }
  }
  const t: PrototypeGpuTables = { lmax, cost, prefMin, bMax };
  cache.prototypeGpu = t;
  return t;
}

function gpuPrototype(predictor: Predictor, grid: ConfigGrid, group: GroupInput): GroupEvaluation | null {
  const p = predictor.profile;
  if (!p.gpu) return null;
  const { lmax: lmaxTable, cost: costTable, prefMin, bMax } = prototypeGpuTables(predictor, grid);
  const n = group.slos.length;
  let rate = 0;
  for (let i = 0; i < n; i++) rate += group.rates[i];
  const smin = group.slos[0];
  const timeouts = new Array<number>(n);
  let bestCost = Infinity;
  let bestJ = -1;
  let bestB = 1;
  const mems = grid.gpuMemoriesGb;
  for (let j = 0; j < mems.length; j++) {
    // Scan b from the top; the first feasible b is taken (the same checks as Predictor.evaluate
    // in compat 'prototype', on the precomputed tables so the scan allocates nothing).
    for (let b = bMax; b >= 1; b--) {
      // Whatever b this scan stops at, its cost cannot beat the best so far: the rest of the
      // scan (the costly Eq. 9 checks) would change nothing.
      if (!(prefMin[j * bMax + b - 1] < bestCost)) break;
      const lmax = lmaxTable[j * bMax + b - 1];
      // NaN (forbidden by the memory rules) fails this test too.
      if (!(smin - lmax >= 0)) continue;
      if (b > 1) {
        for (let i = 0; i < n; i++) timeouts[i] = group.slos[i] - lmax;
        const teq = n === 1 ? timeouts[0] : equivalentTimeout(timeouts, group.rates, 'prototype');
        if (!(1 + rate * teq > b)) continue;
      }
      const cost = costTable[j * bMax + b - 1];
      if (cost < bestCost) {
        bestCost = cost;
        bestJ = j;
        bestB = b;
      }
      break;
    }
  }
  if (bestJ < 0) return null;
  const ev = predictor.evaluate(group, { kind: 'gpu', gpuMemoryGb: mems[bestJ] }, bestB);
  return ev.feasible ? ev : null;
}

function gpuPaper(predictor: Predictor, grid: ConfigGrid, group: GroupInput): GroupEvaluation | null {
  if (!predictor.profile.gpu) return null;
  let best: GroupEvaluation | null = null;
  const expected = predictor.costModel === 'expected';
  for (const m of grid.gpuMemoriesGb) {
    const fn: FunctionChoice = { kind: 'gpu', gpuMemoryGb: m };
    // Largest feasible b: feasibility is monotone in b (Theorem 2's bound).
    let lo = 0;
    let hi = grid.gpuBatchMax;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (predictor.evaluate(group, fn, mid).feasible) lo = mid;
      else hi = mid - 1;
    }
    if (lo === 0) continue;
    // Cheapest b ≤ b_max (billing steps and negative ξ2 make cost non-monotone in b).
    let bestB = lo;
    let bestCost = Infinity;
    for (let b = lo; b >= 1; b--) {
      const res = predictor.resources(fn, b);
      if (!res) break;
      const c = expected
        ? predictor.evaluate(group, fn, b).costPerRequest
        : predictor.batchCostPerRequest(fn, res, b);
      if (c < bestCost) {
        bestCost = c;
        bestB = b;
      }
    }
    const ev = predictor.evaluate(group, fn, bestB);
    if (ev.feasible && (!best || ev.costPerRequest < best.costPerRequest)) best = ev;
  }
  return best;
}
