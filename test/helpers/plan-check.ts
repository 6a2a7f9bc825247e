/**
 * Test helpers shared by the optimal / mbs / auto tests: an independent checker of the design §3
 * constraints, a deliberately naive per-group evaluator (the brute-force oracle), and generators
 * of random app sets. They use only the predictor's primitives (latency, memory rules, equivalent
 * timeout, price arithmetic), never `Predictor.evaluate` or the planners' search code.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { App } from '../../src/model/app.ts';
import type { Plan } from '../../src/model/plan.ts';
import {
  Predictor,
  bundledProfile,
  costPerRequest,
  equivalentTimeout,
  gpuMinMemoryGb,
  type Compat,
  type FunctionChoice,
} from '../../src/predict/index.ts';
import { lowestLatency, defaultGrid } from '../../src/plan/serverless/context.ts';
import type { ConfigGrid } from '../../src/plan/serverless/types.ts';

export const MODELS = ['VGG19', 'Bert', 'GPT-2', 'VideoMAE'] as const;

/** Relative closeness for costs. */
export function close(a: number, b: number, rel = 1e-9): boolean {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

/**
 * Cost per request of `apps` (any order) on (fn, b) under the §3 constraints with the paper's
 * timeout rule (t = s − L_max; 0 at b = 1), or null when a constraint fails. Naive on purpose.
 */
export function naiveGroupCost(
  predictor: Predictor,
  apps: readonly App[],
  fn: FunctionChoice,
  b: number,
): number | null {
  const res = predictor.resources(fn, b); // constraint (8) and the RAM rules
  if (!res) return null;
  const lat = predictor.latency(fn, b);
  const sorted = [...apps].sort((x, y) => x.slo - y.slo);
  const timeouts = sorted.map((a) => a.slo - lat.max);
  if (timeouts.some((t) => t < 0)) return null; // constraint (10)
  if (b > 1) {
    const rate = sorted.reduce((s, a) => s + a.rps, 0);
    const teq = equivalentTimeout(
      timeouts,
      sorted.map((a) => a.rps),
      predictor.compat,
    );
    const ok = predictor.compat === 'prototype' ? 1 + rate * teq > b : b <= Math.floor(rate * teq + 1e-9) + 1;
    if (!ok) return null; // constraint (9)
  }
  return costPerRequest(predictor.prices, res, lat.avg, b);
}

/** Every (function, batch) of a grid. */
export function allConfigs(predictor: Predictor, grid: ConfigGrid): Array<[FunctionChoice, number]> {
  const out: Array<[FunctionChoice, number]> = [];
  const p = predictor.profile;
  if (p.cpu) {
    for (const vcpu of grid.cpuVcpus) {
      for (let b = 1; b <= Math.min(grid.cpuBatchMax, p.cpu.avg.length); b++)
        out.push([{ kind: 'cpu', vcpu }, b]);
    }
  }
  if (p.gpu) {
    for (const m of grid.gpuMemoriesGb) {
      for (let b = 1; b <= grid.gpuBatchMax; b++) out.push([{ kind: 'gpu', gpuMemoryGb: m }, b]);
    }
  }
  return out;
}

/** Cheapest cost per request of a group over the whole grid (Infinity if none is feasible). */
export function naiveGroupMin(
  predictor: Predictor,
  configs: ReadonlyArray<[FunctionChoice, number]>,
  apps: readonly App[],
): number {
  let best = Infinity;
  for (const [fn, b] of configs) {
    const c = naiveGroupCost(predictor, apps, fn, b);
    if (c !== null && c < best) best = c;
  }
  return best;
}

/**
 * Assert that `plan` meets design §3 under `predictor` for `apps`: memory rules (8), Eq. 9 with the
 * plan's own timeouts, t + L_max ≤ s (10), every app's traffic served exactly once, and that the
 * reported costs are the model's. Split apps (MBS) are read from `appRps`.
 */
export function assertPlanMeetsConstraints(plan: Plan, apps: readonly App[], predictor: Predictor): void {
  const byName = new Map(apps.filter((a) => a.rps > 0).map((a) => [a.name, a]));
  const totalRate = [...byName.values()].reduce((s, a) => s + a.rps, 0);
  const served = new Map<string, number>();
  let total = 0;
  for (const g of plan.groups) {
    const fn: FunctionChoice =
      g.function.kind === 'cpu'
        ? { kind: 'cpu', vcpu: g.function.vcpu }
        : { kind: 'gpu', gpuMemoryGb: g.function.gpuMemoryGb };
    const b = g.batchSize;
    const res = predictor.resources(fn, b);
    assert.ok(res, `group ${g.apps}: memory rules fail for ${JSON.stringify(g.function)} b=${b}`);
    if (fn.kind === 'gpu')
      assert.ok(fn.gpuMemoryGb >= gpuMinMemoryGb(predictor.profile, b), 'constraint (8)');
    const lat = predictor.latency(fn, b);
    const members = g.apps
      .map((n) => {
        const a = byName.get(n);
        assert.ok(a, `unknown app ${n}`);
        return { ...a, rps: g.appRps?.[n] ?? a.rps };
      })
      .sort((x, y) => x.slo - y.slo);
    const rate = members.reduce((s, a) => s + a.rps, 0);
    for (const a of members) {
      const t = g.timeouts[a.name];
      assert.ok(t >= 0, `timeout of ${a.name} is ${t}`);
      assert.ok(
        t + lat.max <= a.slo + 1e-9,
        `constraint (10) fails for ${a.name}: ${t} + ${lat.max} > ${a.slo}`,
      );
      served.set(a.name, (served.get(a.name) ?? 0) + a.rps);
    }
    if (b > 1) {
      const teq = equivalentTimeout(
        members.map((a) => g.timeouts[a.name]),
        members.map((a) => a.rps),
        predictor.compat,
      );
      const ok =
        predictor.compat === 'prototype' ? 1 + rate * teq > b : b <= Math.floor(rate * teq + 1e-9) + 1;
      assert.ok(ok, `constraint (9) fails for group ${g.apps}: b=${b}, R=${rate}, T=${teq}`);
    }
    const cost = costPerRequest(predictor.prices, res!, lat.avg, b);
    assert.ok(close(cost, g.costPerRequest), `group ${g.apps}: cost ${g.costPerRequest} vs model ${cost}`);
    assert.ok(close(g.trafficShare, rate / totalRate), 'traffic share');
    total += cost * (rate / totalRate);
  }
  for (const [name, a] of byName) {
    assert.ok(
      close(served.get(name) ?? 0, a.rps, 1e-9),
      `app ${name} served ${served.get(name)} of ${a.rps} req/s`,
    );
  }
  assert.ok(close(total, plan.totalCostPerRequest), `total ${plan.totalCostPerRequest} vs ${total}`);
}

/** Every set partition of 0..n−1, as arrays of index arrays. */
export function setPartitions(n: number): number[][][] {
  const out: number[][][] = [];
  const rec = (i: number, groups: number[][]) => {
    if (i === n) {
      out.push(groups.map((g) => [...g]));
      return;
    }
    for (const g of groups) {
      g.push(i);
      rec(i + 1, groups);
      g.pop();
    }
    groups.push([i]);
    rec(i + 1, groups);
    groups.pop();
  };
  rec(0, []);
  return out;
}

export interface Scenario {
  model: (typeof MODELS)[number];
  compat: Compat;
  apps: App[];
}

/**
 * Random scenarios: one bundled model, a compat mode, n apps whose SLOs lie between the model's
 * fastest latency plus `minSlackS` (default 1 ms) and 2.5 s above that (so some are tight, some
 * loose) and rates 0.1..40 req/s. A larger `minSlackS` keeps a property in the region where the
 * planner under test finds a plan (fast-check favours the edge u = 0, the tightest SLO).
 */
export function scenarioArb(
  minApps: number,
  maxApps: number,
  compat?: Compat,
  minSlackS = 1e-3,
): fc.Arbitrary<Scenario> {
  return fc
    .record({
      model: fc.constantFrom(...MODELS),
      compat: compat ? fc.constant(compat) : fc.constantFrom<Compat>('paper', 'prototype'),
      raw: fc.array(
        fc.record({
          u: fc.double({ min: 0, max: 1, noNaN: true }),
          rps: fc.double({ min: 0.1, max: 40, noNaN: true }),
        }),
        { minLength: minApps, maxLength: maxApps },
      ),
    })
    .map(({ model, compat, raw }) => {
      const lowest = lowestLatency(new Predictor(bundledProfile(model), { compat }), defaultGrid());
      const apps = raw.map((r, i) => ({
        name: `app${i}`,
        slo: Math.round((lowest + minSlackS + r.u * 2.5) * 1000) / 1000,
        rps: Math.round(r.rps * 100) / 100,
      }));
      return { model, compat, apps };
    });
}

/**
 * How many generated cases of a property reached its assertions. A property whose cases mostly
 * return early checks nothing; `assertReached` fails the test when fewer than `share` did.
 */
export class Coverage {
  generated = 0;
  readonly #reached = new Map<string, number>();

  /** Call first thing in the property (cases fast-check discards with fc.pre count too). */
  generate(): void {
    this.generated++;
  }

  /** Call once the case's assertions under `what` have run. */
  reach(what = 'assertions'): void {
    this.#reached.set(what, (this.#reached.get(what) ?? 0) + 1);
  }

  reached(what = 'assertions'): number {
    return this.#reached.get(what) ?? 0;
  }

  assertReached(share = 0.9, what = 'assertions'): void {
    const n = this.reached(what);
    assert.ok(
      this.generated > 0 && n >= share * this.generated,
      `${what} reached in ${n} of ${this.generated} generated cases (want >= ${share * 100} %)`,
    );
  }
}
