import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PlanSchema, type Plan } from '../../../src/model/plan.ts';
import type { ServerlessProfile } from '../../../src/model/profile.ts';
import { Predictor, bundledProfile, bundledProfiles } from '../../../src/predict/index.ts';
import { plan, type AutoPlanOptions, type MbsPlanOptions } from '../../../src/plan/serverless/index.ts';
import { formatPlanReport } from '../../../src/plan/serverless/report.ts';
import { Coverage } from '../../helpers/plan-check.ts';

const README_APPS = [
  { name: 'app0', slo: 0.5, rps: 5 },
  { name: 'app1', slo: 0.6, rps: 5 },
  { name: 'app2', slo: 0.8, rps: 5 },
  { name: 'app3', slo: 1.0, rps: 15 },
];

function withFitRange(p: ServerlessProfile, range: [number, number]): ServerlessProfile {
  return { ...p, cpu: { ...p.cpu!, fitRange: range } };
}

/** The plan without what legitimately differs between two runs (wall time) or is under test. */
function planned(p: Plan): Omit<Plan, 'planningMs' | 'warnings'> {
  const { planningMs, warnings, ...rest } = p;
  void planningMs;
  void warnings;
  return rest;
}

// Deterministic option sets: auto's budget and mbs's k range are fixed so that two runs of the
// same input plan the same groups even on a loaded machine.
const ALGORITHMS: Record<string, MbsPlanOptions & AutoPlanOptions> = {
  harmony: { algorithm: 'harmony' },
  batch: { algorithm: 'batch' },
  optimal: { algorithm: 'optimal' },
  auto: { algorithm: 'auto', timeBudgetMs: 600_000 },
  mbs: { algorithm: 'mbs', maxGroups: 2, iterations: 3 },
};

test('W_EXTRAPOLATED names each CPU group whose vCPU is outside cpu.fitRange (extrapolate), in JSON and in the report', () => {
  const vgg = bundledProfile('VGG19');
  const narrow = withFitRange(vgg, [0.5, 1]);
  const base = plan(README_APPS, vgg, { algorithm: 'harmony' });
  const p = plan(README_APPS, narrow, { algorithm: 'harmony', extrapolate: true });
  PlanSchema.parse(p);
  // What is planned does not change; only the caveat is added.
  assert.deepEqual(planned(p), planned(base));
  assert.equal(base.warnings, undefined);
  const cpuGroups = p.groups.flatMap((g, i) => (g.function.kind === 'cpu' ? [i] : []));
  assert.ok(cpuGroups.length > 0, 'the README case puts some app on a CPU function');
  assert.deepEqual(
    p.warnings?.map((w) => [w.code, w.group, w.field, w.value, w.range]),
    cpuGroups.map((i) => {
      const f = p.groups[i].function;
      return ['W_EXTRAPOLATED', i, 'function.vcpu', f.kind === 'cpu' ? f.vcpu : NaN, [0.5, 1]];
    }),
  );
  const report = formatPlanReport(p, README_APPS, new Predictor(narrow));
  const lines = report.split('\n').filter((l) => l.startsWith('warning: '));
  assert.equal(lines.length, cpuGroups.length);
  assert.match(lines[0], /group 0 \(app0\): 1\.55 vCPU is outside .*0\.5\.\.1 vCPU/);
  // A range that covers the chosen vCPUs (ends included) gives none.
  const vcpus = cpuGroups.map((i) => (p.groups[i].function as { vcpu: number }).vcpu);
  const covering = plan(README_APPS, withFitRange(vgg, [Math.min(...vcpus), Math.max(...vcpus)]), {
    algorithm: 'harmony',
    extrapolate: true,
  });
  assert.equal(covering.warnings, undefined);
  assert.doesNotMatch(formatPlanReport(covering, README_APPS, new Predictor(vgg)), /warning:/);
});

test('property: with extrapolate, a plan has a warning iff some CPU group is outside fitRange, for every algorithm; without, every CPU group is inside', () => {
  const appsArb = fc
    .array(
      fc.record({
        slo: fc.integer({ min: 30, max: 250 }).map((x) => x / 100),
        rps: fc.integer({ min: 1, max: 300 }).map((x) => x / 10),
      }),
      { minLength: 1, maxLength: 5 },
    )
    .map((xs) => xs.map((a, i) => ({ name: `app${i}`, ...a })));
  // Ends on the two-decimal vCPU grid (so a planned vCPU can equal an end exactly) or off it.
  const endArb = fc.oneof(
    fc.integer({ min: 1, max: 340 }).map((k) => k * 0.05),
    fc.integer({ min: 1, max: 1700 }).map((k) => k / 100),
    fc.double({ min: 0.01, max: 17, noNaN: true }),
  );
  const rangeArb = fc
    .tuple(endArb, endArb)
    .map(([a, b]): [number, number] => [Math.min(a, b), Math.max(a, b)]);
  const coverage = new Coverage();
  fc.assert(
    fc.property(
      appsArb,
      rangeArb,
      fc.constantFrom('VGG19', 'Bert', 'VideoMAE'),
      fc.constantFrom(...Object.keys(ALGORITHMS)),
      fc.constantFrom('paper', 'prototype') as fc.Arbitrary<'paper' | 'prototype'>,
      (apps, range, model, algorithm, compat) => {
        coverage.generate();
        const profile = bundledProfile(model);
        const options = { ...ALGORITHMS[algorithm], compat };
        let base: Plan;
        try {
          base = plan(apps, profile, options);
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'E_SLO_UNREACHABLE');
          return;
        }
        let inside: Plan | undefined;
        try {
          inside = plan(apps, withFitRange(profile, range), { ...options });
        } catch (e) {
          // A range with no usable vCPU leaves nothing to plan on (batch: no CPU function at all).
          assert.ok(
            ['E_SLO_UNREACHABLE', 'E_INVALID_OPTION'].includes((e as { code?: string }).code!),
            String(e),
          );
        }
        if (inside) {
          PlanSchema.parse(inside);
          assert.equal(inside.warnings, undefined, 'the default plan stays inside the fit range');
          for (const g of inside.groups)
            if (g.function.kind === 'cpu')
              assert.ok(
                g.function.vcpu >= range[0] * (1 - 1e-9) && g.function.vcpu <= range[1] * (1 + 1e-9),
                `${g.function.vcpu} vCPU inside ${String(range)}`,
              );
        }
        const p = plan(apps, withFitRange(profile, range), { ...options, extrapolate: true });
        PlanSchema.parse(p);
        assert.deepEqual(planned(p), planned(base), 'the fit range never changes the plan');
        // Ends included up to float noise (relative 1e-9), as documented for W_EXTRAPOLATED: a
        // generated end such as 115 / 100 = 1.1500000000000001 holds a planned 1.15 vCPU.
        const outside = p.groups.flatMap((g, i) =>
          g.function.kind === 'cpu' &&
          (g.function.vcpu < range[0] * (1 - 1e-9) || g.function.vcpu > range[1] * (1 + 1e-9))
            ? [i]
            : [],
        );
        assert.equal(p.warnings !== undefined, outside.length > 0);
        assert.deepEqual(
          (p.warnings ?? []).map((w) => w.group),
          outside,
        );
        for (const w of p.warnings ?? []) {
          const f = p.groups[w.group].function;
          assert.equal(w.code, 'W_EXTRAPOLATED');
          assert.equal(f.kind === 'cpu' && f.vcpu, w.value);
          assert.deepEqual(w.range, range);
        }
        coverage.reach();
      },
    ),
    { numRuns: 40 },
  );
  // An unreachable SLO returns early (after checking the code): most cases must reach the checks.
  coverage.assertReached(0.9);
});

test('bundled models carry no fitRange (or one covering the grid) and their plans have no warnings', () => {
  for (const [name, profile] of bundledProfiles()) {
    const range = profile.cpu?.fitRange;
    if (range) assert.ok(range[0] <= 0.05 && range[1] >= 16.95, `${name}: fitRange ${String(range)}`);
    for (const algorithm of ['harmony', 'batch', 'auto']) {
      if (algorithm === 'batch' && !profile.cpu) continue;
      let p: Plan;
      try {
        p = plan(README_APPS, profile, { algorithm, timeBudgetMs: 600_000 });
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'E_SLO_UNREACHABLE', `${name} ${algorithm}`);
        continue;
      }
      assert.equal(p.warnings, undefined, `${name} ${algorithm}`);
    }
  }
});
