/**
 * HarmonyBatch's planner (design §6): provision every app alone, then the two-stage merge of
 * SLO-adjacent groups (stage 1 pools CPU runs whose traffic passes the knee r*, stage 2 grows GPU
 * groups into their neighbours), each merge kept only when it lowers the traffic-weighted cost.
 * Compat 'paper' adds a final pass for the §6.4 limitation (a CPU run whose total rate passes the
 * smallest knee among its SLOs is merged too) and lets merged groups be CPU or GPU; compat
 * 'prototype' copies the prototype (merged groups GPU-only, its window rules, knee bisection on
 * [0.01, 40]).
 */
import type { App } from '../../model/app.ts';
import { HetserveError } from '../../model/errors.ts';
import type { Plan } from '../../model/plan.ts';
import type { ServerlessProfile } from '../../model/profile.ts';
import { equivalentTimeoutPair } from '../../predict/batching.ts';
import { surelyFillsPaper, type FunctionChoice, type GroupEvaluation } from '../../predict/predictor.ts';
import { finishPlan, groupInput, preparePlanning } from './context.ts';
import { planCache } from './plan-cache.ts';
import { provisionInput, type FunctionKind } from './provision.ts';
import { registerPlanner } from './registry.ts';
import { cheapestByTables, cheapestOf, type GroupSums } from './tables.ts';
import type { PlanContext, PlannedGroup, ServerlessPlanOptions, ServerlessPlanner } from './types.ts';

/**
 * A run's cheapest configuration: what the merge rules read (kind, cost, rate), and the predictor's
 * evaluation, or the (function, batch) to evaluate once the run is kept. On the tables' path
 * (compat 'paper', full batch) a pick that `surelyFillsPaper` is not evaluated while it is only a
 * candidate: its cost and rate are the values `Predictor.evaluate` gives it.
 */
interface Priced {
  gpu: boolean;
  cost: number;
  rate: number;
  ev: GroupEvaluation | null;
  fn: FunctionChoice | null;
  batch: number;
}

interface WorkGroup {
  /** The apps are ctx.apps[first..end) (groups are runs of SLO-adjacent apps). */
  first: number;
  end: number;
  /**
   * Total rate and T^X of the SLOs (Eq. 5 folded over the apps in order), as `GroupSums`: a merged
   * run's continue its first part's fold over the other parts' apps, with identical results.
   */
  sums: GroupSums;
  p: Priced;
  /** η^X: share of total traffic (a merged group's share is the sum of its parts', as in the prototype). */
  share: number;
}

export interface HarmonyTrace {
  /** Knee r* per distinct SLO (req/s above which a lone app of that SLO goes to GPU; Infinity = never). */
  knees: Map<number, number>;
  /** Total cost after the initial provisioning and after each accepted merge. */
  costTrajectory: number[];
  /** Stage of each entry of costTrajectory: 0 initial, 1 CPU pooling, 2 GPU growth, 3 final pass. */
  stages: number[];
}

const BOTH: readonly FunctionKind[] = ['cpu', 'gpu'];
/** Windows priced per start in the final pass. */
const FINAL_PASS_WINDOWS = 16;
const isGpu = (g: WorkGroup) => g.p.gpu;
const rateOf = (g: WorkGroup) => g.p.rate;
const total = (L: WorkGroup[]) => L.reduce((s, g) => s + g.p.cost * g.share, 0);
const pricedOf = (ev: GroupEvaluation): Priced => ({
  gpu: ev.function?.kind === 'gpu',
  cost: ev.costPerRequest,
  rate: ev.rate,
  ev,
  fn: null,
  batch: ev.batchSize,
});

/** Run Harmony on a prepared context; returns the groups and a trace of the knees and merges. */
export function runHarmony(ctx: PlanContext): { groups: PlannedGroup[]; trace: HarmonyTrace } {
  const { predictor, grid, apps } = ctx;
  const proto = predictor.compat === 'prototype';
  const R = apps.reduce((s, a) => s + a.rps, 0);
  const trace: HarmonyTrace = { knees: new Map(), costTrajectory: [], stages: [] };
  if (apps.length === 0) return { groups: [], trace };

  const provision = (members: App[], kinds: readonly FunctionKind[], known?: GroupSums) =>
    provisionInput(predictor, grid, groupInput(members), kinds, known);

  const fastTables = !proto && predictor.costModel === 'full-batch';
  /** The cheapest configuration of the run apps[first..end) with sums `sums`, or null when none. */
  const price = (first: number, end: number, kinds: readonly FunctionKind[], sums: GroupSums) => {
    if (fastTables) {
      const pick = cheapestOf(predictor, grid, apps[first].slo, sums, kinds);
      if (!pick) return null;
      if (surelyFillsPaper(sums.rate, sums.teq, pick.lmax, pick.batch, end - first, apps[end - 1].slo)) {
        const fn: FunctionChoice =
          pick.kind === 'cpu' ? { kind: 'cpu', vcpu: pick.size } : { kind: 'gpu', gpuMemoryGb: pick.size };
        return {
          gpu: pick.kind === 'gpu',
          cost: pick.cost,
          rate: sums.rate,
          ev: null,
          fn,
          batch: pick.batch,
        };
      }
    }
    const ev = provision(apps.slice(first, end), kinds, sums);
    return ev ? pricedOf(ev) : null;
  };
  const evaluationOf = (g: WorkGroup): GroupEvaluation =>
    g.p.ev ?? predictor.evaluate(groupInput(apps.slice(g.first, g.end)), g.p.fn!, g.p.batch);
  // Knee r* per SLO: bisection on the rate of a lone app (design §6.3 / §13).
  const kneeHigh = proto ? 40 : Math.max(40, 2 * R);
  // The knee depends on the model, the grid and the bisection's bracket only: computed once per
  // profile (plan-cache.ts), not per plan.
  const kneeCache = planCache(predictor, grid).knees;
  const kneeKeyPrefix = `${predictor.compat}|${predictor.costModel}|${kneeHigh}|`;
  const knee = (slo: number): number => {
    const hit = trace.knees.get(slo);
    if (hit !== undefined) return hit;
    const key = kneeKeyPrefix + slo;
    const cached = kneeCache.get(key);
    if (cached !== undefined) {
      trace.knees.set(slo, cached);
      return cached;
    }
    const goesGpu = fastTables
      ? (rps: number) =>
          cheapestByTables(predictor, grid, { slos: [slo], rates: [rps] }, BOTH)?.kind === 'gpu'
      : (rps: number) => provision([{ name: '', slo, rps }], BOTH)?.function?.kind === 'gpu';
    let lo = 0.01;
    let hi = kneeHigh;
    let value: number;
    if (!proto && !goesGpu(hi)) value = Infinity;
    else {
      while (hi - lo > 0.001) {
        const mid = (lo + hi) / 2;
        if (goesGpu(mid)) hi = mid;
        else lo = mid;
      }
      value = hi;
    }
    trace.knees.set(slo, value);
    kneeCache.set(key, value);
    return value;
  };
  for (const a of apps) knee(a.slo);

  // Initial provisioning: every app alone, CPU or GPU.
  const L: WorkGroup[] = apps.map((a, i) => {
    const sums = { rate: a.rps, teq: a.slo };
    const p = price(i, i + 1, BOTH, sums);
    if (!p) {
      throw new HetserveError(
        'E_SLO_UNREACHABLE',
        `app ${JSON.stringify(a.name)}: no ${ctx.profile.name} configuration meets its SLO ${a.slo} s at ${a.rps} req/s`,
        { field: 'slo', value: a.slo, app: a.name },
      );
    }
    return { first: i, end: i + 1, sums, p, share: a.rps / R };
  });
  const record = (stage: number) => {
    trace.costTrajectory.push(total(L));
    trace.stages.push(stage);
  };
  record(0);

  const mergedKinds: readonly FunctionKind[] = proto ? ['gpu'] : ['cpu', 'gpu'];
  // A merged group's configuration depends on its apps only, i.e. on the run apps[first..end):
  // priced once per run (the final pass prices the same windows again after every merge).
  const merged = new Map<number, { sums: GroupSums; p: Priced | null }>();
  /** The merged group L[lo..hi) and how much it lowers the weighted cost (≤ 0: no gain), or null. */
  const candidate = (lo: number, hi: number) => {
    const first = L[lo].first;
    const end = L[hi - 1].end;
    const key = first * (apps.length + 1) + end;
    let run = merged.get(key);
    if (!run) {
      // Continue L[lo]'s fold: the additions and Eq. 5 steps equivalentTimeout would make.
      let { rate, teq } = L[lo].sums;
      for (let k = L[lo].end; k < end; k++) {
        teq = equivalentTimeoutPair(teq, rate, apps[k].slo, apps[k].rps);
        rate += apps[k].rps;
      }
      const sums = { rate, teq };
      run = { sums, p: price(first, end, mergedKinds, sums) };
      merged.set(key, run);
    }
    const p = run.p;
    if (!p) return null;
    let share = 0;
    let before = 0;
    for (let k = lo; k < hi; k++) {
      const g = L[k];
      share += g.share;
      before += g.p.cost * g.share;
    }
    const after = p.cost * share;
    return {
      group: { first, end, sums: run.sums, p, share },
      better: after < before,
      gain: before - after,
    };
  };
  /** Merge L[lo..hi) if that lowers the weighted cost (strictly); returns whether it did. */
  const merge = (lo: number, hi: number, stage: number): boolean => {
    const c = candidate(lo, hi);
    if (!c || !c.better) return false;
    L.splice(lo, hi - lo, c.group);
    record(stage);
    return true;
  };

  // Stage 1: pool a run of CPU groups whose accumulated rate passes the window's knee.
  if (proto) {
    let start = 0;
    while (start < L.length) {
      while (start < L.length && isGpu(L[start])) start++;
      if (start >= L.length) break;
      const thr = knee(apps[L[start].first].slo);
      let r = 0;
      let end = -1;
      for (let i = start; i < L.length; i++) {
        if (isGpu(L[i])) {
          end = i; // a GPU group ends the run: the prototype still tries the run so far
          break;
        }
        r += rateOf(L[i]);
        if (r > thr) {
          end = i + 1;
          break;
        }
      }
      if (end < 0) {
        start++;
        continue;
      }
      if (merge(start, end, 1)) start++;
      else start = end;
    }
  } else {
    let j = 0;
    let r = 0;
    for (let i = 0; i < L.length; i++) {
      if (!isGpu(L[i])) {
        r += rateOf(L[i]);
        if (r > knee(apps[L[j].first].slo)) {
          merge(j, i + 1, 1);
          i = j;
          j = j + 1;
          r = 0;
        }
      } else {
        j = i + 1;
        r = 0;
      }
    }
  }

  // Stage 2: grow GPU groups into their right neighbours; after a success retry the same spot.
  const stage2 = (stage: number) => {
    let i = 0;
    while (i < L.length - 1) {
      if ((isGpu(L[i]) || isGpu(L[i + 1])) && merge(i, i + 2, stage)) continue;
      i++;
    }
  };
  stage2(2);

  // Final pass (paper mode, fixes design §6.4): windows of consecutive CPU groups whose total
  // rate passes the smallest knee among their SLOs (per start, the first such window and up to
  // FINAL_PASS_WINDOWS − 1 longer ones) are priced as one group; the best gain over all windows
  // is merged, and this repeats until no window gains. Then stage 2 runs again from the new GPU
  // seeds. Taking the best window (not the first) keeps a tight-SLO app from blocking the pool.
  if (!proto) {
    let changed = false;
    for (;;) {
      let best: { lo: number; hi: number; gain: number } | null = null;
      for (let i = 0; i < L.length; i++) {
        if (isGpu(L[i])) continue;
        let r = 0;
        let minKnee = Infinity;
        let tried = 0;
        for (let j = i; j < L.length && !isGpu(L[j]) && tried < FINAL_PASS_WINDOWS; j++) {
          r += rateOf(L[j]);
          for (let k = L[j].first; k < L[j].end; k++) minKnee = Math.min(minKnee, knee(apps[k].slo));
          if (j > i && r > minKnee) {
            tried++;
            const c = candidate(i, j + 1);
            if (c && c.better && (!best || c.gain > best.gain)) best = { lo: i, hi: j + 1, gain: c.gain };
          }
        }
      }
      if (!best || !merge(best.lo, best.hi, 3)) break;
      changed = true;
    }
    if (changed) stage2(3);
  }

  return {
    groups: L.map((g) => ({ apps: apps.slice(g.first, g.end), evaluation: evaluationOf(g) })),
    trace,
  };
}

export const harmonyPlanner: ServerlessPlanner = {
  name: 'harmony',
  description: 'HarmonyBatch: per-app provisioning, then two-stage merge of SLO-adjacent groups',
  plan(apps: readonly App[], profile: ServerlessProfile, options: ServerlessPlanOptions = {}): Plan {
    const ctx = preparePlanning(apps, profile, options);
    return finishPlan(ctx, 'harmony', runHarmony(ctx).groups);
  },
};

registerPlanner(harmonyPlanner);
