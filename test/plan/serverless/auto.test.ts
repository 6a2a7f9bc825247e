import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { App } from '../../../src/model/app.ts';
import { HetserveError } from '../../../src/model/errors.ts';
import { Predictor, bundledProfile } from '../../../src/predict/index.ts';
import {
  autoOnContext,
  getPlanner,
  plan,
  planAuto,
  planOptimal,
  preparePlanning,
} from '../../../src/plan/serverless/index.ts';
import { assertPlanMeetsConstraints, close, scenarioArb } from '../../helpers/plan-check.ts';

test('auto is never worse than harmony, equals the exact optimum up to 12 apps, and meets §3', () => {
  fc.assert(
    fc.property(scenarioArb(1, 8), ({ model, compat, apps }) => {
      const profile = bundledProfile(model);
      const auto = planAuto(apps, profile, { compat });
      const harmony = plan(apps, profile, { compat, algorithm: 'harmony' });
      const optimal = planOptimal(apps, profile, { compat });
      assert.ok(auto.totalCostPerRequest <= harmony.totalCostPerRequest * (1 + 1e-12));
      assert.ok(close(auto.totalCostPerRequest, optimal.totalCostPerRequest));
      assert.match(auto.algorithm, /^auto:(harmony|optimal|optimal-contiguous)$/);
      // Whatever auto records is read back as auto (re-planning from a plan file).
      assert.equal(getPlanner(auto.algorithm).name, 'auto');
      assertPlanMeetsConstraints(auto, apps, new Predictor(profile, { compat }));
    }),
    { numRuns: 20 },
  );
});

test('above the exact limit auto uses the contiguous optimum and still beats harmony', () => {
  fc.assert(
    fc.property(scenarioArb(13, 40), ({ model, compat, apps }) => {
      const profile = bundledProfile(model);
      const r = autoOnContext(preparePlanning(apps, profile, { compat }), { timeBudgetMs: 60_000 });
      assert.deepEqual(
        r.candidates.map((c) => [c.algorithm, c.status]),
        [
          ['harmony', 'done'],
          ['optimal-contiguous', 'done'],
        ],
      );
      const harmony = r.candidates[0].totalCostPerRequest!;
      assert.ok(r.plan.totalCostPerRequest <= harmony * (1 + 1e-12));
      assert.ok(
        close(r.plan.totalCostPerRequest, Math.min(...r.candidates.map((c) => c.totalCostPerRequest!))),
      );
      assertPlanMeetsConstraints(r.plan, apps, new Predictor(profile, { compat }));
    }),
    { numRuns: 8 },
  );
});

test('an exhausted budget drops the exact search and keeps harmony', () => {
  const apps: App[] = Array.from({ length: 15 }, (_, i) => ({
    name: `a${i}`,
    slo: 0.4 + 0.05 * i,
    rps: 1 + (i % 4),
  }));
  const profile = bundledProfile('VGG19');
  const r = autoOnContext(preparePlanning(apps, profile), { timeBudgetMs: 1e-6 });
  assert.deepEqual(
    r.candidates.map((c) => c.status),
    ['done', 'timed-out'],
  );
  assert.equal(r.plan.algorithm, 'auto:harmony');
  const harmony = plan(apps, profile, { algorithm: 'harmony' });
  assert.ok(close(r.plan.totalCostPerRequest, harmony.totalCostPerRequest));
});

test('auto is the default algorithm of plan()', () => {
  const apps: App[] = [
    { name: 'a', slo: 0.5, rps: 5 },
    { name: 'b', slo: 1.0, rps: 15 },
  ];
  assert.match(plan(apps, bundledProfile('VGG19')).algorithm, /^auto:/);
});

test('a bad time budget is a coded error naming the value', () => {
  const apps: App[] = [{ name: 'a', slo: 0.5, rps: 5 }];
  for (const v of [0, -1, Number.NaN]) {
    assert.throws(
      () => planAuto(apps, bundledProfile('VGG19'), { timeBudgetMs: v }),
      (e) =>
        e instanceof HetserveError && e.code === 'E_INVALID_OPTION' && e.details.field === 'timeBudgetMs',
    );
  }
});
