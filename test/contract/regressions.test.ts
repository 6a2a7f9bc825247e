/**
 * Issue 13's hand-off failures, one test each: every test here failed on the code before the fix
 * (plans, profiles and configs one part wrote that another part refused or misread).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { AppListSchema } from '../../src/model/app.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { PlanSchema, parsePlan, type Plan } from '../../src/model/plan.ts';
import type { ServerlessProfile } from '../../src/model/profile.ts';
import { createBatchManager } from '../../src/dispatch/batch-manager.ts';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import { Predictor, bundledProfile, resolvePriceTable } from '../../src/predict/index.ts';
import { expLatency, fitExponential } from '../../src/profile/fit.ts';
import { getPlanner, plan, planOptimal } from '../../src/plan/serverless/index.ts';
import { planServerless } from '../../src/serve/planning.ts';
import { parseServeConfig } from '../../src/model/serve-config.ts';
import { exportDocument } from '../../src/export/index.ts';
import { fixture } from '../helpers/export.ts';

const README_APPS = JSON.parse(
  readFileSync(new URL('../../data/examples/readme-apps.json', import.meta.url), 'utf8'),
) as { name: string; slo: number; rps: number }[];

const coded =
  (code: string, field?: string | RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof HetserveError, String(e));
    assert.equal(e.code, code, e.message);
    if (typeof field === 'string') assert.equal(e.details['field'], field, e.message);
    else if (field) assert.match(String(e.details['field']), field, e.message);
    return true;
  };

const VCPUS = Array.from({ length: 320 }, (_, k) => 0.05 + k * 0.05);

test('a CPU curve fitted to latencies falling about linearly stays positive and non-increasing up to 16 vCPU', () => {
  // Measured at 0.5..1.25 vCPU: an unconstrained fit takes γ < 0 and predicts negative latency at 4 vCPU.
  const points = [
    { x: 0.5, y: 0.05 },
    { x: 0.75, y: 0.041 },
    { x: 1, y: 0.0335 },
    { x: 1.25, y: 0.025 },
  ];
  const coef = fitExponential(points);
  let prev = Infinity;
  for (const c of VCPUS) {
    const l = expLatency(coef, c);
    assert.ok(l > 0 && Number.isFinite(l), `latency ${l} at ${c} vCPU`);
    assert.ok(l <= prev + 1e-15, `non-increasing at ${c} vCPU`);
    prev = l;
  }
  // Still a fit: within 10% of every measured point.
  for (const p of points) assert.ok(Math.abs(expLatency(coef, p.x) / p.y - 1) < 0.1, `${p.x} vCPU`);
});

test('the predictor refuses a profile predicting a non-positive latency, naming model, batch and vCPU', () => {
  const vgg = bundledProfile('VGG19');
  const avg = vgg.cpu!.avg.map((k) => [...k] as [number, number, number]);
  avg[1] = [0.3, 8, -0.2]; // batch 2: negative beyond about 3.3 vCPU
  const bad: ServerlessProfile = { ...vgg, name: 'bent', cpu: { ...vgg.cpu!, avg } };
  assert.throws(
    () => new Predictor(bad),
    (e: unknown) => {
      coded('E_PROFILE_INVALID')(e);
      const d = (e as HetserveError).details;
      assert.equal(d['model'], 'bent');
      assert.equal(d['batch'], 2);
      assert.equal(typeof d['vcpu'], 'number');
      assert.ok(expLatency(avg[1]!, d['vcpu'] as number) <= 0);
      return true;
    },
  );
  assert.throws(() => plan(README_APPS, bad, { algorithm: 'harmony' }), coded('E_PROFILE_INVALID'));
  // The bundled profiles are physical everywhere on the grid.
  for (const m of ['VGG19', 'Bert', 'GPT-2', 'VideoMAE']) new Predictor(bundledProfile(m));
});

test('the plan schema forbids negative latency and cost', () => {
  const p = plan(README_APPS, bundledProfile('VGG19'), { algorithm: 'harmony' });
  const negLatency = structuredClone(p);
  negLatency.groups[0]!.latency.avg = -0.005;
  assert.throws(() => parsePlan(negLatency), coded('E_PLAN_INVALID', 'plan.groups.0.latency.avg'));
  const negCost = structuredClone(p);
  negCost.totalCostPerRequest = -7e-6;
  assert.throws(() => parsePlan(negCost), coded('E_PLAN_INVALID', 'plan.totalCostPerRequest'));
});

test('planners stay inside a measured profile fit range unless told to extrapolate', () => {
  const vgg = bundledProfile('VGG19');
  const measured: ServerlessProfile = { ...vgg, name: 'measured', cpu: { ...vgg.cpu!, fitRange: [0.5, 1] } };
  for (const algorithm of ['harmony', 'optimal', 'batch']) {
    const p = plan(README_APPS, measured, { algorithm });
    assert.equal(p.warnings, undefined, algorithm);
    for (const g of p.groups)
      if (g.function.kind === 'cpu')
        assert.ok(g.function.vcpu >= 0.5 && g.function.vcpu <= 1, `${algorithm}: ${g.function.vcpu} vCPU`);
  }
  const out = plan(README_APPS, measured, { algorithm: 'batch', extrapolate: true });
  assert.ok(out.warnings && out.warnings.every((w) => w.code === 'W_EXTRAPOLATED'));
});

test("a plan's auto:<choice> algorithm name is accepted wherever an algorithm is read", async () => {
  assert.equal(getPlanner('auto:harmony').name, 'auto');
  assert.equal(getPlanner('auto:optimal-contiguous').name, 'auto');
  const apps = README_APPS.map((a) => ({ ...a }));
  const p = await planServerless(apps, bundledProfile('VGG19'), { algorithm: 'auto:harmony' });
  assert.match(p.algorithm, /^auto:/);
  // The gateway config an export writes carries that name and parses.
  const r = exportDocument(p, 'gateway');
  const cm = r.files.flatMap((f) => f.objects ?? []).find((o) => o['kind'] === 'ConfigMap')!;
  const cfg = parseServeConfig(JSON.parse((cm['data'] as Record<string, string>)['config.json']!));
  assert.equal(cfg.serving.mode === 'serverless' && cfg.serving.algorithm, p.algorithm);
  assert.throws(() => getPlanner('nope'), coded('E_UNKNOWN_ALGORITHM', 'algorithm'));
  // Only what auto can pick: a typo after "auto:" is refused, not planned as auto.
  for (const bad of ['auto:bogus', 'auto:', 'auto:mbs'])
    assert.throws(() => getPlanner(bad), coded('E_UNKNOWN_ALGORITHM', 'algorithm'), bad);
});

test('an optimal plan over contiguous groups names a planner that reads it back and re-plans the same', async () => {
  const apps = README_APPS.map((a) => ({ ...a }));
  const p = planOptimal(apps, bundledProfile('VGG19'), { partitions: 'contiguous' });
  assert.equal(p.algorithm, 'optimal-contiguous');
  // A gateway config exported from it names the same algorithm, and serving plans with it.
  const r = exportDocument(p, 'gateway');
  const cm = r.files.flatMap((f) => f.objects ?? []).find((o) => o['kind'] === 'ConfigMap')!;
  const cfg = parseServeConfig(JSON.parse((cm['data'] as Record<string, string>)['config.json']!));
  assert.equal(cfg.serving.mode === 'serverless' && cfg.serving.algorithm, 'optimal-contiguous');
  // The gateway's planner, as serving runs it from that config.
  const again = await planServerless(apps, bundledProfile('VGG19'), { algorithm: p.algorithm });
  assert.equal(again.algorithm, p.algorithm);
  assert.equal(again.totalCostPerRequest, p.totalCostPerRequest);
  assert.deepEqual(
    again.groups.map((g) => g.apps),
    p.groups.map((g) => g.apps),
  );
});

test('shipped plans and configs name price tables that exist; export refuses unknown ones', () => {
  for (const name of ['plan-mixed.json', 'plan-cpu.json']) {
    const p = fixture(name) as Plan;
    assert.equal(resolvePriceTable(p.priceTable).name, p.priceTable, name);
  }
  const docs = parseAllDocuments(
    readFileSync(new URL('../../deploy/k8s/gateway.yaml', import.meta.url), 'utf8'),
  );
  const cm = docs.map((d) => d.toJS() as Record<string, unknown>).find((o) => o?.['kind'] === 'ConfigMap')!;
  const data = cm['data'] as Record<string, string>;
  const cfg = parseServeConfig(JSON.parse(Object.values(data)[0]!));
  if (cfg.serving.mode === 'serverless' && cfg.serving.prices) resolvePriceTable(cfg.serving.prices);
  const bad = { ...(fixture('plan-mixed.json') as Plan), priceTable: 'alibaba-2023' };
  assert.throws(() => exportDocument(bad, 'knative'), coded('E_UNKNOWN_PRICE_TABLE', 'plan.priceTable'));
});

test('app lists and plans refuse duplicate app names', () => {
  const r = AppListSchema.safeParse([
    { name: 'a', slo: 1, rps: 1 },
    { name: 'a', slo: 2, rps: 1 },
  ]);
  assert.equal(r.success, false);
  const p = plan(README_APPS, bundledProfile('VGG19'), { algorithm: 'harmony' });
  const dup = structuredClone(p);
  dup.apps.push({ ...dup.apps[0]! });
  assert.throws(() => parsePlan(dup), coded('E_PLAN_INVALID', 'plan.apps.4.name'));
});

test('a split app (MBS) is one plan every reader accepts: parser, batch manager, exporters', () => {
  const p = plan(README_APPS, bundledProfile('VGG19'), { algorithm: 'mbs', seed: 1 });
  const homes = p.groups.filter((g) => g.apps.includes('app3'));
  assert.equal(homes.length, 2, 'VGG19 + README apps, seed 1: mbs splits app3');
  PlanSchema.parse(p);
  createBatchManager({ plan: p, timers: new VirtualTimeSource(), onBatch: () => {} });
  // Shares that do not add up to the app's rate are refused by the one parser.
  const off = structuredClone(p);
  const g = off.groups.find((x) => x.apps.includes('app3') && x.appRps?.['app3'])!;
  g.appRps!['app3']! += 1;
  assert.throws(() => parsePlan(off), coded('E_PLAN_INVALID', /^plan\.groups\.\d+\.appRps\.app3$/));
  // Weighted routes where the target has them; a coded refusal saying why elsewhere.
  const routes = JSON.parse(exportDocument(p, 'fc').files.find((f) => f.path === 'routes.json')!.content) as {
    routes: { apps: string[]; appRps?: Record<string, number> }[];
  };
  const shares = routes.routes.filter((r) => r.apps.includes('app3')).map((r) => r.appRps?.['app3']);
  assert.deepEqual(
    shares,
    homes.map((h) => h.appRps!['app3']),
  );
  for (const target of ['knative', 'kserve', 'ray'])
    assert.throws(
      () => exportDocument(p, target),
      (e: unknown) => coded('E_TARGET_UNSUPPORTED')(e) && /app3.*split/.test((e as Error).message),
    );
});

test('exports that run: KServe speaks v2, KEDA GPU types get a GPU, min replicas reach Lambda and FC', () => {
  const mixed = fixture('plan-mixed.json') as Plan;
  const isvc = exportDocument(mixed, 'kserve').files[0]!.objects!;
  for (const o of isvc)
    assert.equal(
      (o['spec'] as Record<string, Record<string, Record<string, unknown>>>)['predictor']!['model']![
        'protocolVersion'
      ],
      'v2',
    );
  const workers = exportDocument(fixture('alloc.json'), 'keda').files.find((f) => f.path === 'workers.yaml')!;
  const sts = workers.objects!.filter((o) => o['kind'] === 'StatefulSet');
  const gpuOf = (o: Record<string, unknown>) => {
    const spec = (
      o['spec'] as {
        template: { spec: { containers: { resources?: { limits?: Record<string, string> } }[] } };
      }
    ).template.spec;
    return spec.containers[0]!.resources?.limits?.['nvidia.com/gpu'];
  };
  const byType = Object.fromEntries(
    sts.map((o) => [
      (o['metadata'] as { labels: Record<string, string> }).labels['hetserve.dev/instance-type'],
      gpuOf(o),
    ]),
  );
  assert.deepEqual(byType, { 'g4dn.xlarge': '1', 'c5n.2xlarge': undefined, 'r5n.large': undefined });

  const cpuPlan = fixture('plan-cpu.json') as Plan;
  const sam = (min: number) =>
    Object.values(
      (
        parseAllDocuments(
          exportDocument(cpuPlan, 'lambda', { minReplicas: min }).files[0]!.content,
        )[0]!.toJS() as {
          Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
        }
      ).Resources,
    ).filter((r) => r.Type === 'AWS::Serverless::Function');
  for (const f of sam(2)) {
    assert.equal(f.Properties['AutoPublishAlias'], 'live');
    assert.deepEqual(f.Properties['ProvisionedConcurrencyConfig'], { ProvisionedConcurrentExecutions: 2 });
  }
  for (const f of sam(0)) assert.equal(f.Properties['ProvisionedConcurrencyConfig'], undefined);
  const fc = (opts: Record<string, unknown>) => exportDocument(mixed, 'fc', opts);
  const props = (r: ReturnType<typeof fc>) =>
    Object.values(
      (
        parseAllDocuments(r.files[0]!.content)[0]!.toJS() as {
          resources: Record<string, { props: Record<string, unknown> }>;
        }
      ).resources,
    ).map((x) => x.props);
  for (const pr of props(fc({ minReplicas: 3 }))) assert.deepEqual(pr['scalingConfig'], { minInstances: 3 });
  for (const pr of props(fc({ minReplicas: 0 }))) assert.equal(pr['scalingConfig'], undefined);
  assert.ok(fc({ fcGpuType: 'fc.gpu.ada.1' }).warnings.some((w) => /fc\.gpu\.ada\.1.*fc3/.test(w)));
  assert.ok(!fc({}).warnings.some((w) => /fc3/.test(w)));
  // Ray: the application the default import path names is shipped with the config.
  const ray = exportDocument(mixed, 'ray');
  assert.ok(
    ray.files.some((f) => f.path === 'hetserve_ray.py' && /^app = HetserveModel\.bind\(\)$/m.test(f.content)),
  );
});
