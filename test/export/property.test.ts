/**
 * Property tests: for every generated plan or allocation, every group or instance type appears
 * exactly once, and no constraint of the target is broken (memory:vCPU ratios, memory and GPU
 * granularity, concurrency >= batch size, replica bounds, the budget).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Coverage } from '../helpers/plan-check.ts';
import { exportDocument, type ExportResult } from '../../src/export/index.ts';
import { HetserveError } from '../../src/model/errors.ts';
import type { Plan, PlanGroup } from '../../src/model/plan.ts';
import { parseServeConfig } from '../../src/model/serve-config.ts';
import { arbAllocation, arbPlan, parseFile } from '../helpers/export.ts';

const RUNS = 60;
const EPS = 1e-6;
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function allDocs(r: ExportResult, path?: string): Obj[] {
  return r.files.filter((f) => !path || f.path === path).flatMap((f) => parseFile(f) as Obj[]);
}

/** Names of engine objects must be exactly the emitted units' names, each once. */
function assertOncePerUnit(r: ExportResult, plan: Plan, names: string[]) {
  assert.deepEqual(
    r.units.map((u) => u.ref),
    plan.groups.map((_, i) => `group-${i}`),
  );
  const emitted = r.units.filter((u) => u.name).map((u) => u.name!);
  assert.deepEqual([...names].sort(), [...emitted].sort());
  assert.equal(new Set(names).size, names.length);
}

/** Run `fn`; an E_TARGET_UNSUPPORTED is accepted only when `allUnsupported` says so. */
function exportOrUnsupported(
  plan: Plan,
  target: string,
  opts: Obj,
  allUnsupported: boolean,
): ExportResult | null {
  try {
    const r = exportDocument(plan, target, opts);
    assert.ok(!allUnsupported, `${target} should have refused the whole plan`);
    return r;
  } catch (e) {
    if (e instanceof HetserveError && e.code === 'E_TARGET_UNSUPPORTED' && allUnsupported) return null;
    throw e;
  }
}

const mi = (q: string) => Number(q.replace(/Mi$/, ''));
const milli = (q: string) => Number(q.replace(/m$/, '')) / 1000;
const group = (plan: Plan, labelled: Obj) => plan.groups[Number(labelled['hetserve.dev/group'])];

test('knative: one Service per group, concurrency >= batch size, resources cover the plan', () => {
  fc.assert(
    fc.property(arbPlan, (plan) => {
      const r = exportDocument(plan, 'knative');
      const svcs = allDocs(r).filter((o) => o.kind === 'Service');
      for (const cm of allDocs(r).filter((o) => o.kind === 'ConfigMap')) {
        const g = group(plan, cm.metadata.labels);
        const cfg = parseServeConfig(JSON.parse(cm.data['config.json']));
        assert.deepEqual(cfg.applications.map((a) => a.name).sort(), [...g.apps].sort());
      }
      assertOncePerUnit(
        r,
        plan,
        svcs.map((s) => s.metadata.name),
      );
      for (const s of svcs) {
        const g: PlanGroup = group(plan, s.metadata.labels);
        const spec = s.spec.template.spec;
        const ann = s.spec.template.metadata.annotations;
        assert.ok(spec.containerConcurrency >= g.batchSize);
        assert.equal(Number(ann['autoscaling.knative.dev/target']), g.batchSize);
        assert.ok(
          Number(ann['autoscaling.knative.dev/min-scale']) <=
            Number(ann['autoscaling.knative.dev/max-scale']),
        );
        const res = spec.containers[0].resources;
        assert.equal(spec.volumes[0].configMap.name, `${s.metadata.name}-config`);
        assert.ok(milli(res.requests.cpu) >= g.function.vcpu - EPS);
        assert.ok(mi(res.requests.memory) >= g.function.memoryGb * 1024 - EPS);
        assert.equal(g.function.kind === 'gpu', 'nvidia.com/gpu' in res.limits);
        assert.ok(spec.timeoutSeconds >= g.latency.max);
        assert.ok(spec.timeoutSeconds <= 600);
      }
    }),
    { numRuns: RUNS },
  );
});

test('kserve: batcher = batch size, containerConcurrency >= it, wait never above any app timeout', () => {
  fc.assert(
    fc.property(arbPlan, (plan) => {
      const r = exportDocument(plan, 'kserve', { gpuResource: 'aliyun.com/gpu-mem' });
      const isvcs = allDocs(r);
      assertOncePerUnit(
        r,
        plan,
        isvcs.map((s) => s.metadata.name),
      );
      for (const s of isvcs) {
        const g = group(plan, s.metadata.labels);
        const p = s.spec.predictor;
        assert.ok(p.containerConcurrency >= g.batchSize);
        if (g.function.kind === 'gpu') {
          assert.equal(p.model.resources.limits['aliyun.com/gpu-mem'], String(g.function.gpuMemoryGb));
        }
        if (g.batchSize === 1) {
          assert.equal(p.batcher, undefined);
          continue;
        }
        assert.equal(p.batcher.maxBatchSize, g.batchSize);
        const tMin = Math.min(...g.apps.map((a) => g.timeouts[a]));
        assert.ok(p.batcher.maxLatency === 1 || p.batcher.maxLatency <= tMin * 1000 + EPS);
        assert.ok(p.batcher.maxLatency >= 1);
      }
    }),
    { numRuns: RUNS },
  );
});

test('lambda: memory in 128..10240 MB gives the planned vCPU (or is capped with a warning); GPU groups refused', () => {
  const coverage = new Coverage();
  fc.assert(
    fc.property(arbPlan, (plan) => {
      coverage.generate();
      const allGpu = plan.groups.every((g) => g.function.kind === 'gpu');
      const r = exportOrUnsupported(plan, 'lambda', {}, allGpu);
      if (!r) {
        // exportOrUnsupported has checked the refusal (E_TARGET_UNSUPPORTED, and only when expected)
        coverage.reach();
        return;
      }
      const [tpl] = allDocs(r, 'template.yaml');
      const fns = Object.values(tpl.Resources as Obj).filter((x) => x.Type === 'AWS::Serverless::Function');
      assertOncePerUnit(
        r,
        plan,
        fns.map((f) => f.Properties.FunctionName),
      );
      r.units.forEach((u, i) => assert.equal(Boolean(u.unsupported), plan.groups[i].function.kind === 'gpu'));
      for (const f of fns) {
        const i = Number(f.Properties.Environment.Variables.HETSERVE_GROUP);
        const g = plan.groups[i];
        const mb = f.Properties.MemorySize;
        assert.ok(Number.isInteger(mb) && mb >= 128 && mb <= 10240);
        const capped = g.function.vcpu * 1769 > 10240 || g.function.memoryGb * 1024 > 10240;
        if (capped) {
          assert.equal(mb, 10240);
          assert.ok(r.warnings.some((w) => w.startsWith(`group-${i}:`)));
        } else {
          assert.ok(mb / 1769 >= g.function.vcpu - EPS && mb >= g.function.memoryGb * 1024 - EPS);
        }
        assert.ok(f.Properties.Timeout >= 1 && f.Properties.Timeout <= 900);
      }
      const routes = allDocs(r, 'routes.json')[0];
      assert.equal(routes.routes.length, fns.length);
      coverage.reach();
      coverage.reach('files');
    }),
    { numRuns: RUNS },
  );
  // An all-GPU plan is refused (checked by exportOrUnsupported); most cases must reach the files.
  coverage.assertReached(0.9);
  coverage.assertReached(0.5, 'files');
});

for (const batching of ['gateway', 'function'] as const) {
  test(`fc (${batching} batching): cpu/memory steps, 1..4 GB per vCPU, GPU memory in 1024 MB units`, () => {
    const coverage = new Coverage();
    fc.assert(
      fc.property(arbPlan, (plan) => {
        coverage.generate();
        const tooBig = (g: PlanGroup) =>
          (g.function.kind === 'gpu' && g.function.gpuMemoryGb > 24) ||
          (batching === 'function' && g.batchSize > 200);
        const r = exportOrUnsupported(plan, 'fc', { batching }, plan.groups.every(tooBig));
        if (!r) {
          // exportOrUnsupported has checked the refusal (E_TARGET_UNSUPPORTED, and only when expected)
          coverage.reach();
          return;
        }
        const [project] = allDocs(r, 's.yaml');
        const props = Object.values(project.resources as Obj).map((x) => x.props);
        assertOncePerUnit(
          r,
          plan,
          props.map((p) => p.functionName),
        );
        for (const p of props) {
          const g = plan.groups[Number(p.environmentVariables.HETSERVE_GROUP)];
          assert.ok(!tooBig(g));
          assert.ok(p.cpu >= 0.05 && p.cpu <= 16);
          assert.ok(Math.abs(p.cpu / 0.05 - Math.round(p.cpu / 0.05)) < 1e-6, `cpu ${p.cpu}`);
          assert.ok(p.memorySize % 64 === 0 && p.memorySize >= 128 && p.memorySize <= 32768);
          const ratio = p.memorySize / 1024 / p.cpu;
          assert.ok(ratio >= 1 - EPS && ratio <= 4 + EPS, `ratio ${ratio}`);
          if (g.function.vcpu <= 16) assert.ok(p.cpu >= g.function.vcpu - EPS);
          if (g.function.memoryGb * 1024 <= 32768)
            assert.ok(p.memorySize >= g.function.memoryGb * 1024 - EPS);
          if (g.function.kind === 'gpu') {
            assert.equal(p.gpuConfig.gpuMemorySize, g.function.gpuMemoryGb * 1024);
            assert.equal(p.gpuConfig.gpuMemorySize % 1024, 0);
          } else assert.equal(p.gpuConfig, undefined);
          assert.ok(p.instanceConcurrency >= (batching === 'function' ? g.batchSize : 1));
        }
        coverage.reach();
        coverage.reach('files');
      }),
      { numRuns: RUNS },
    );
    // A plan of only too-big groups is refused (checked); most cases must reach the files.
    coverage.assertReached(0.9);
    coverage.assertReached(0.5, 'files');
  });
}

test('ray: max_ongoing_requests >= batch size, fractional num_gpus in (0, 1], wait <= every timeout', () => {
  fc.assert(
    fc.property(arbPlan, (plan) => {
      const r = exportDocument(plan, 'ray');
      const [cfg] = allDocs(r);
      assertOncePerUnit(
        r,
        plan,
        cfg.applications.map((a: Obj) => a.name),
      );
      for (const app of cfg.applications as Obj[]) {
        const g = plan.groups[Number(app.runtime_env.env_vars.HETSERVE_GROUP)];
        const d = app.deployments[0];
        assert.ok(d.max_ongoing_requests >= g.batchSize);
        assert.equal(d.user_config.max_batch_size, g.batchSize);
        for (const a of g.apps) assert.ok(d.user_config.batch_wait_timeout_s <= g.timeouts[a]);
        assert.equal(d.ray_actor_options.num_cpus, g.function.vcpu);
        if (g.function.kind === 'gpu') {
          const n = d.ray_actor_options.num_gpus;
          assert.ok(n > 0 && n <= 1);
          if (g.function.gpuMemoryGb <= 24) assert.ok(Math.abs(n - g.function.gpuMemoryGb / 24) < 1e-5);
        } else assert.equal(d.ray_actor_options.num_gpus, undefined);
        assert.ok(d.autoscaling_config.min_replicas <= d.autoscaling_config.max_replicas);
      }
    }),
    { numRuns: RUNS },
  );
});

test("gateway: the ConfigMap's config passes the gateway's own parser and keeps every app", () => {
  fc.assert(
    fc.property(arbPlan, (plan) => {
      const r = exportDocument(plan, 'gateway');
      const cm = allDocs(r).find((o) => o.kind === 'ConfigMap')!;
      const cfg = parseServeConfig(JSON.parse(cm.data['config.json']));
      assert.deepEqual(
        cfg.applications.map((a) => [a.name, a.slo, a.rps]),
        plan.apps.map((a) => [a.name, a.slo, a.rps]),
      );
    }),
    { numRuns: 20 },
  );
});

test('keda: one StatefulSet/Service/ScaledObject per allocated type, capped at its count, within the budget', () => {
  fc.assert(
    fc.property(arbAllocation, fc.integer({ min: 0, max: 3 }), (alloc, minReplicas) => {
      const r = exportDocument(alloc, 'keda', { minReplicas });
      const counted = Object.entries(alloc.chosen.counts).filter(([, c]) => c > 0);
      assert.deepEqual(r.units.map((u) => u.ref).sort(), counted.map(([t]) => `type:${t}`).sort());
      const workers = allDocs(r, 'workers.yaml');
      const byKind = (k: string) => workers.filter((o) => o.kind === k);
      let hourly = 0;
      for (const kind of ['StatefulSet', 'Service', 'ScaledObject']) {
        const objs = byKind(kind);
        assert.deepEqual(
          objs.map((o) => o.metadata.labels['hetserve.dev/instance-type']).sort(),
          counted.map(([t]) => t).sort(),
          `${kind} per type, once`,
        );
      }
      for (const so of byKind('ScaledObject')) {
        const type = so.metadata.labels['hetserve.dev/instance-type'];
        const count = alloc.chosen.counts[type];
        assert.equal(so.spec.maxReplicaCount, count);
        assert.ok(so.spec.minReplicaCount <= so.spec.maxReplicaCount);
        const sts = byKind('StatefulSet').find((s) => s.metadata.name === so.spec.scaleTargetRef.name)!;
        assert.equal(sts.spec.replicas, count);
        assert.equal(sts.spec.template.spec.nodeSelector['node.kubernetes.io/instance-type'], type);
        assert.ok(so.metadata.name.length <= 63);
        hourly += so.spec.maxReplicaCount * alloc.pool.find((p) => p.name === type)!.priceUsdPerHour;
      }
      assert.ok(hourly <= alloc.chosen.costUsdPerHour + 1e-9, 'scaling never exceeds the allocated cost');
      const cm = allDocs(r, 'gateway.yaml').find((o) => o.kind === 'ConfigMap')!;
      const cfg = parseServeConfig(JSON.parse(cm.data['config.json']));
      assert.equal(cfg.serving.mode, 'cluster');
      if (cfg.serving.mode === 'cluster') {
        const total = counted.reduce((s, [, c]) => s + c, 0);
        assert.equal(cfg.serving.instances.length, total);
        assert.equal(new Set(cfg.serving.instances.map((i) => i.name)).size, total);
      }
    }),
    { numRuns: RUNS },
  );
});

test('any model name gives valid object names on every plan target (never an internal error)', () => {
  fc.assert(
    fc.property(arbPlan, fc.string({ minLength: 1, maxLength: 80 }), (plan, model) => {
      // The gateway inside Knative pods accepts letters, digits, '_', '.' and '-' in model names.
      const servable = /^[A-Za-z0-9_.-]+$/.test(model);
      for (const target of ['knative', 'kserve', 'fc', 'ray']) {
        if (target === 'knative' && !servable) {
          assert.throws(
            () => exportDocument({ ...plan, model }, target),
            (e: unknown) => e instanceof HetserveError && e.code === 'E_TARGET_UNSUPPORTED',
          );
          continue;
        }
        const r = exportOrUnsupported(
          { ...plan, model },
          target,
          {},
          target === 'fc' &&
            plan.groups.every((g) => g.function.kind === 'gpu' && g.function.gpuMemoryGb > 24),
        );
        if (!r) continue;
        for (const u of r.units) if (u.name) assert.match(u.name, /^[a-z]([-a-z0-9]*[a-z0-9])?$/);
      }
    }),
    { numRuns: 30 },
  );
});
