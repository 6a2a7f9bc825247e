/**
 * Precomputed configuration tables for fast, exact provisioning in compat 'paper' with the
 * 'full-batch' cost model. Two facts make a group's cheapest configuration a handful of binary
 * searches instead of a grid scan:
 * - Eq. 5 is shift-equivariant: lowering every timeout by L lowers T^X by L. With t^w = s^w − L,
 *   T^X(L) = E − L where E is the equivalent timeout of the SLOs themselves. So (9) and (10) hold
 *   iff L_max ≤ cap(b) = min(s_min, E − (b−1)/R) (b = 1: s_min, timeouts are 0).
 * - Per batch size, L_max is non-increasing in the resource (vCPU or GPU memory) and the memory
 *   rules admit a suffix of the grid, while the full-batch cost does not depend on the group.
 * So per (kind, b): the feasible sizes are a suffix found by binary search on L_max, and the
 * cheapest of them is a precomputed suffix minimum.
 */
import type { BilledResources } from '../../predict/cost.ts';
import type { FunctionChoice, GroupEvaluation, GroupInput, Predictor } from '../../predict/predictor.ts';
import { equivalentTimeout } from '../../predict/batching.ts';
import { costPerRequest } from '../../predict/cost.ts';
import {
  cpuLatencyAvg,
  cpuLatencyMax,
  cpuMaxBatch,
  gpuFunctionVcpu,
  gpuLatencyAvg,
  gpuLatencyMax,
} from '../../predict/latency.ts';
import { cpuFunctionMemoryGb, gpuFunctionMemoryGb, gpuMinMemoryGb } from '../../predict/memory.ts';
import { planCache } from './plan-cache.ts';
import type { ConfigGrid } from './types.ts';

interface KindTable {
  kind: 'cpu' | 'gpu';
  sizes: readonly number[];
  /** Per batch size b (index b−1), per size index: L_max (Infinity where memory forbids). */
  lmax: Float64Array[];
  /** The same before that guard (what the predictor computes for the point). */
  rawLmax: Float64Array[];
  /** Per b: min full-batch cost over size indices ≥ i, and where it is (smallest size on ties). */
  sufCost: Float64Array[];
  sufArg: Int32Array[];
}

export interface ConfigTables {
  cpu: KindTable | null;
  gpu: KindTable | null;
}

function buildKind(
  predictor: Predictor,
  kind: 'cpu' | 'gpu',
  sizes: readonly number[],
  bMax: number,
): KindTable {
  const n = sizes.length;
  const p = predictor.profile;
  const prices = predictor.prices;
  const t: KindTable = { kind, sizes, lmax: [], rawLmax: [], sufCost: [], sufArg: [] };
  // One reusable resources record: this loop runs over the whole grid on every plan.
  const res: BilledResources = { kind, vcpu: 0, memoryGb: 0, gpuMemoryGb: 0 };
  for (let b = 1; b <= bMax; b++) {
    const lmax = new Float64Array(n);
    const cost = new Float64Array(n);
    const minGpu = kind === 'gpu' ? gpuMinMemoryGb(p, b) : 0;
    for (let i = 0; i < n; i++) {
      const size = sizes[i];
      let mem: number | null;
      let avg: number;
      if (kind === 'cpu') {
        mem = cpuFunctionMemoryGb(p, size, b);
        res.vcpu = size;
        avg = mem === null ? NaN : cpuLatencyAvg(p, size, b);
        lmax[i] = mem === null ? Infinity : cpuLatencyMax(p, size, b);
      } else {
        mem = size < minGpu ? null : gpuFunctionMemoryGb(p, size);
        res.vcpu = gpuFunctionVcpu(size);
        res.gpuMemoryGb = size;
        avg = mem === null ? NaN : gpuLatencyAvg(p, size, b);
        lmax[i] = mem === null ? Infinity : gpuLatencyMax(p, size, b, predictor.gpuMaxOverhead);
      }
      if (mem === null) {
        cost[i] = Infinity;
        continue;
      }
      res.memoryGb = mem;
      cost[i] = costPerRequest(prices, res, avg, b);
    }
    t.rawLmax.push(lmax.slice());
    // Guard the monotonicity the binary search relies on (it holds for the latency model).
    for (let i = n - 2; i >= 0; i--) if (lmax[i] < lmax[i + 1]) lmax[i] = lmax[i + 1];
    const sufCost = new Float64Array(n + 1).fill(Infinity);
    const sufArg = new Int32Array(n + 1).fill(-1);
    for (let i = n - 1; i >= 0; i--) {
      if (cost[i] <= sufCost[i + 1]) {
        sufCost[i] = cost[i];
        sufArg[i] = i;
      } else {
        sufCost[i] = sufCost[i + 1];
        sufArg[i] = sufArg[i + 1];
      }
    }
    t.lmax.push(lmax);
    t.sufCost.push(sufCost);
    t.sufArg.push(sufArg);
  }
  return t;
}

/** The tables of a predictor's model and a grid (built once, see plan-cache.ts). */
export function configTables(predictor: Predictor, grid: ConfigGrid): ConfigTables {
  const cache = planCache(predictor, grid);
  if (cache.tables) return cache.tables as ConfigTables;
  const p = predictor.profile;
  const tables: ConfigTables = {
    cpu: p.cpu
      ? buildKind(predictor, 'cpu', grid.cpuVcpus, Math.min(grid.cpuBatchMax, cpuMaxBatch(p)))
      : null,
    gpu: p.gpu ? buildKind(predictor, 'gpu', grid.gpuMemoriesGb, grid.gpuBatchMax) : null,
  };
  cache.tables = tables;
  return tables;
}

/**
 * A group's total rate and the equivalent timeout of its SLOs (compat 'paper'), when the caller
 * already has them: they must be the values computed here (the rates summed in order from 0, and
 * `equivalentTimeout(slos, rates, 'paper')`), e.g. by continuing the same fold over more apps.
 */
export interface GroupSums {
  rate: number;
  teq: number;
}

export interface TableChoice {
  cost: number;
  size: number;
  batch: number;
  /** L_max of the chosen point (≤ the group's smallest SLO). */
  lmax: number;
}

/** Cheapest (size, b) of one kind with L_max ≤ cap(b), or null. */
function bestOfKind(t: KindTable, smin: number, e: number, rate: number): TableChoice | null {
  let best: TableChoice | null = null;
  const n = t.sizes.length;
  for (let b = 1; b <= t.lmax.length; b++) {
    const cap = b === 1 ? smin : Math.min(smin, e - (b - 1) / rate);
    if (!(cap >= 0)) break; // caps shrink with b
    const lmax = t.lmax[b - 1];
    if (lmax[n - 1] > cap) continue;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lmax[mid] <= cap) hi = mid;
      else lo = mid + 1;
    }
    const cost = t.sufCost[b - 1][lo];
    if (cost === Infinity) continue;
    const arg = t.sufArg[b - 1][lo];
    const size = t.sizes[arg];
    if (!best || cost < best.cost || (cost === best.cost && size < best.size))
      best = { cost, size, batch: b, lmax: t.rawLmax[b - 1][arg] };
  }
  return best;
}

/**
 * Cheapest feasible configuration of a group (SLO-sorted) under compat 'paper' / 'full-batch',
 * exact over the grid. CPU wins only when strictly cheaper than GPU. Returns the predictor's
 * evaluation of the winner, or null when no configuration is feasible.
 */
export function provisionByTables(
  predictor: Predictor,
  grid: ConfigGrid,
  group: GroupInput,
  kinds: readonly ('cpu' | 'gpu')[],
  known?: GroupSums,
): GroupEvaluation | null | undefined {
  const pick = cheapestByTables(predictor, grid, group, kinds, known);
  if (!pick) return null;
  const fn: FunctionChoice =
    pick.kind === 'cpu' ? { kind: 'cpu', vcpu: pick.size } : { kind: 'gpu', gpuMemoryGb: pick.size };
  const ev = predictor.evaluate(group, fn, pick.batch);
  // A borderline rounding disagreement: let the caller fall back to the direct search.
  return ev.feasible ? ev : undefined;
}

/** The cheapest configuration's kind, size, batch and cost (no evaluation object built). */
export function cheapestByTables(
  predictor: Predictor,
  grid: ConfigGrid,
  group: GroupInput,
  kinds: readonly ('cpu' | 'gpu')[],
  known?: GroupSums,
): (TableChoice & { kind: 'cpu' | 'gpu' }) | null {
  const smin = group.slos[0];
  let rate: number;
  let e: number;
  if (known) {
    rate = known.rate;
    e = known.teq;
  } else {
    rate = 0;
    for (const r of group.rates) rate += r;
    e = group.slos.length === 1 ? smin : equivalentTimeout(group.slos, group.rates, 'paper');
  }
  return cheapestOf(predictor, grid, smin, { rate, teq: e }, kinds);
}

/**
 * `cheapestByTables` from the group's smallest SLO and its `GroupSums` (no per-app arrays).
 * The pick's cost is the cost `Predictor.evaluate` gives it (the same expression on the same
 * values); whether evaluate also finds it feasible, see `surelyFillsPaper`.
 */
export function cheapestOf(
  predictor: Predictor,
  grid: ConfigGrid,
  smin: number,
  sums: GroupSums,
  kinds: readonly ('cpu' | 'gpu')[],
): (TableChoice & { kind: 'cpu' | 'gpu' }) | null {
  const t = configTables(predictor, grid);
  const rate = sums.rate;
  const e = sums.teq;
  const gpu = t.gpu && kinds.includes('gpu') ? bestOfKind(t.gpu, smin, e, rate) : null;
  const cpu = t.cpu && kinds.includes('cpu') ? bestOfKind(t.cpu, smin, e, rate) : null;
  return cpu && (!gpu || cpu.cost < gpu.cost)
    ? { kind: 'cpu', ...cpu }
    : gpu
      ? { kind: 'gpu', ...gpu }
      : null;
}
