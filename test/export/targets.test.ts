/** Target-specific rules checked against hand-worked examples, and input validation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  EXPORTERS,
  exportDocument,
  fcResources,
  lambdaMemoryMb,
  parseExportOptions,
} from '../../src/export/index.ts';
import { typeNames } from '../../src/export/keda.ts';
import { HetserveError } from '../../src/model/errors.ts';
import type { Plan } from '../../src/model/plan.ts';
import { fixture, gpuOnlyPlan, parseFile } from '../helpers/export.ts';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const mixed = () => fixture('plan-mixed.json') as Plan;

function rejects(fn: () => unknown, code: string, field: string | RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HetserveError, String(e));
    assert.equal(e.code, code, e.message);
    if (typeof field === 'string') assert.equal(e.details['field'], field, e.message);
    else assert.match(String(e.details['field']), field);
    return true;
  });
}

test('lambda memory: 1769 MB per vCPU, at least the planned RAM, 128..10240 MB', () => {
  assert.deepEqual(lambdaMemoryMb(1, 0.5), { mb: 1769, capped: false });
  assert.deepEqual(lambdaMemoryMb(1.6, 1.625), { mb: 2831, capped: false }); // ceil(1.6 × 1769)
  assert.deepEqual(lambdaMemoryMb(0.5, 3), { mb: 3072, capped: false }); // RAM dominates
  assert.deepEqual(lambdaMemoryMb(0.05, 0.1), { mb: 128, capped: false }); // floor
  assert.deepEqual(lambdaMemoryMb(8, 8), { mb: 10240, capped: true }); // 8 × 1769 > 10240
});

test('fc resources: 0.05 vCPU steps, 64 MB steps, memory between 1x and 4x the vCPU', () => {
  assert.deepEqual(fcResources(1.6, 1.625).cpu, 1.6);
  assert.equal(fcResources(1.6, 1.625).memoryMb, 1664);
  // Memory at least 1 GB per vCPU: 2 vCPU with 0.5 GB planned gets 2048 MB.
  assert.equal(fcResources(2, 0.5).memoryMb, 2048);
  // m/3 vCPU of a GPU function rounds up to the step.
  assert.equal(fcResources(2 / 3, 1).cpu, 0.7);
  // 8 GB on 0.5 vCPU breaks 1:4, so the vCPU rises to 2.
  const r = fcResources(0.5, 8);
  assert.deepEqual([r.cpu, r.memoryMb], [2, 8192]);
  assert.ok(r.notes.some((n) => /ratio/.test(n)));
});

test('knative: GPU share as aliyun.com/gpu-mem on request, whole GPU with a warning by default', () => {
  const whole = exportDocument(mixed(), 'knative');
  const g1 = (r: typeof whole) =>
    (parseFile(r.files[0])[3] as Obj).spec.template.spec.containers[0].resources;
  assert.equal(g1(whole).limits['nvidia.com/gpu'], '1');
  assert.ok(whole.warnings.some((w) => w.startsWith('group-1:') && /whole GPU/.test(w)));
  const shared = exportDocument(mixed(), 'knative', { gpuResource: 'aliyun.com/gpu-mem' });
  assert.equal(g1(shared).limits['aliyun.com/gpu-mem'], '2');
  assert.ok(!shared.warnings.some((w) => /whole GPU/.test(w)));
});

test('knative env carries batch size, per-app timeouts and SLOs of the group', () => {
  const r = exportDocument(mixed(), 'knative');
  const env = Object.fromEntries(
    ((parseFile(r.files[0])[3] as Obj).spec.template.spec.containers[0].env as Obj[]).map((e) => [
      e.name,
      e.value,
    ]),
  );
  assert.equal(env['HETSERVE_BATCH_SIZE'], '12');
  assert.deepEqual(JSON.parse(env['HETSERVE_TIMEOUTS_S']), { app2: 0.213, app3: 0.413 });
  assert.deepEqual(JSON.parse(env['HETSERVE_SLOS_S']), { app2: 0.8, app3: 1.0 });
});

test('lambda: a GPU group is reported unsupported with the reason; a GPU-only plan is refused', () => {
  const r = exportDocument(mixed(), 'lambda');
  assert.equal(r.units[1].ref, 'group-1');
  assert.match(r.units[1].unsupported ?? '', /no GPUs/);
  rejects(() => exportDocument(gpuOnlyPlan(), 'lambda'), 'E_TARGET_UNSUPPORTED', 'groups');
});

test('fc: a GPU group larger than the GPU type is unsupported; a bigger type takes it', () => {
  const plan = mixed();
  const f = plan.groups[1].function;
  if (f.kind === 'gpu') f.gpuMemoryGb = 20;
  const tesla = exportDocument(plan, 'fc', { fcGpuType: 'fc.gpu.tesla.1' });
  assert.match(tesla.units[1].unsupported ?? '', /16 GB/);
  const ampere = exportDocument(plan, 'fc', { fcGpuType: 'fc.gpu.ampere.1' });
  assert.equal(ampere.units[1].unsupported, undefined);
});

test('keda: type names stay unique and DNS-safe when two types slug alike', () => {
  const names = typeNames(['a.b', 'a-b', 'A_B'], parseExportOptions({}, 'rm2'));
  assert.deepEqual([...names.values()], ['rm2-a-b', 'rm2-a-b-2', 'rm2-a-b-3']);
});

test('keda: thresholds split the load in proportion to the allocated counts', () => {
  const r = exportDocument(fixture('alloc.json'), 'keda', { kedaThreshold: 2 });
  const sos = r.files[1].objects!.filter((o) => o['kind'] === 'ScaledObject') as Obj[];
  const th = Object.fromEntries(
    sos.map((s) => [
      s.metadata.labels['hetserve.dev/instance-type'],
      Number(s.spec.triggers[0].metadata.threshold),
    ]),
  );
  // 9 instances in all: g4dn 2, c5n 1, r5n 6.
  assert.deepEqual(th, { 'g4dn.xlarge': 9, 'c5n.2xlarge': 18, 'r5n.large': 3 });
  assert.match(sos[0].spec.triggers[0].metadata.query, /model="rm2"/);
});

test('bad plans get coded errors naming the field', () => {
  rejects(() => exportDocument({ kind: 'serverless-plan' }, 'knative'), 'E_PLAN_INVALID', /^plan\./);
  const noGroups = { ...mixed(), groups: [] };
  rejects(() => exportDocument(noGroups, 'knative'), 'E_PLAN_INVALID', 'plan.groups');
  const unknownApp = mixed();
  unknownApp.groups[0].apps = ['ghost'];
  rejects(() => exportDocument(unknownApp, 'ray'), 'E_PLAN_INVALID', 'plan.groups.0.apps');
  const noTimeout = mixed();
  delete noTimeout.groups[1].timeouts['app3'];
  rejects(() => exportDocument(noTimeout, 'fc'), 'E_PLAN_INVALID', 'plan.groups.1.timeouts');
  const twice = mixed();
  twice.groups[1].apps = ['app2', 'app1'];
  twice.groups[1].timeouts = { app2: 0.1, app1: 0 };
  rejects(() => exportDocument(twice, 'kserve'), 'E_PLAN_INVALID', 'plan.groups.1.apps');
  const badBatch = mixed() as Obj;
  badBatch.groups[0].batchSize = 0;
  rejects(() => exportDocument(badBatch, 'lambda'), 'E_PLAN_INVALID', 'plan.groups.0.batchSize');
  rejects(() => exportDocument(42, 'knative'), 'E_PLAN_INVALID', /^plan/);
});

test('bad allocations, unknown targets and wrong documents get coded errors', () => {
  const alloc = fixture('alloc.json') as Obj;
  rejects(
    () => exportDocument({ ...alloc, chosen: { ...alloc.chosen, counts: { 'x9.huge': 1 } } }, 'keda'),
    'E_ALLOCATION_INVALID',
    'allocation.chosen.counts',
  );
  rejects(
    () => exportDocument({ ...alloc, chosen: { ...alloc.chosen, counts: { 'r5n.large': 0 } } }, 'keda'),
    'E_ALLOCATION_INVALID',
    'allocation.chosen.counts',
  );
  rejects(() => exportDocument({ ...alloc, qosMs: -1 }, 'keda'), 'E_ALLOCATION_INVALID', 'allocation.qosMs');
  // No kind: a KEDA export reads it as an allocation and says so.
  rejects(() => exportDocument({ model: 'x' }, 'keda'), 'E_ALLOCATION_INVALID', /^allocation\./);
  rejects(() => exportDocument(alloc, 'helm'), 'E_UNKNOWN_TARGET', 'target');
  rejects(() => exportDocument(alloc, 'knative'), 'E_INVALID_INPUT', 'kind');
  rejects(() => exportDocument(mixed(), 'keda'), 'E_INVALID_INPUT', 'kind');
});

test('an app name the gateway cannot serve is refused with the gateway field', () => {
  const plan = mixed();
  plan.apps[0].name = 'app 1';
  plan.groups[0].apps = ['app 1'];
  plan.groups[0].timeouts = { 'app 1': 0 };
  rejects(() => exportDocument(plan, 'gateway'), 'E_TARGET_UNSUPPORTED', /applications\.0\.name/);
});

test("knative: a request timeout above Knative's 600 s maximum is capped with a warning", () => {
  const plan = mixed();
  plan.apps[2].slo = 1000;
  const r = exportDocument(plan, 'knative');
  assert.equal((parseFile(r.files[0])[3] as Obj).spec.template.spec.timeoutSeconds, 600);
  assert.ok(r.warnings.some((w) => w.startsWith('group-1:') && /1000 s capped/.test(w)));
  assert.equal((parseFile(r.files[0])[1] as Obj).spec.template.spec.timeoutSeconds, 1);
});

test('lambda refuses in-function batching: one request per environment', () => {
  rejects(
    () => exportDocument(mixed(), 'lambda', { batching: 'function' }),
    'E_INVALID_OPTION',
    'options.batching',
  );
});

test('every registered target has its test file running the exporter conformance suite', () => {
  // The suite is called once per target (exporter.case.ts), so a new exporter needs its own file.
  for (const target of Object.keys(EXPORTERS)) {
    let text = '';
    try {
      text = readFileSync(new URL(`./${target}.test.ts`, import.meta.url), 'utf8');
    } catch {
      assert.fail(`test/export/${target}.test.ts is missing`);
    }
    assert.match(text, new RegExp(`runExporterConformance\\('${target}', `), `test/export/${target}.test.ts`);
  }
});
