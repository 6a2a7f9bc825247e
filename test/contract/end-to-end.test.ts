/**
 * One contract end to end (issue 13): what one part writes, every other part reads and runs.
 * Driven by the registries, so a new planner or export target is covered without edits here:
 * - every registered planner × every bundled serverless model × three app sets: plan → parse →
 *   simulate → serve the plan (replay backend, one request per app) → every export target (files
 *   checked against the engines' own schemas, or a coded refusal) → the config an export wrote
 *   boots the gateway and answers;
 * - a cluster allocation: allocate → simulate → serve in cluster mode → every allocation target →
 *   the configs it wrote boot and answer;
 * - a measured profile: synthetic model → profile → plan → simulate on its samples → serve with
 *   replay on those samples.
 * Combinations run concurrently: a gateway mostly waits on batching timers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { HetserveError } from '../../src/model/errors.ts';
import { parsePlan, type Plan } from '../../src/model/plan.ts';
import type { ServerlessProfile } from '../../src/model/profile.ts';
import { createBatchManager } from '../../src/dispatch/batch-manager.ts';
import { Predictor, bundledProfiles } from '../../src/predict/index.ts';
import { getPlanner, listPlanners, plan } from '../../src/plan/serverless/index.ts';
import { allocate } from '../../src/plan/cluster/allocate.ts';
import { LatencyTable } from '../../src/predict/latency-table.ts';
import { deepRecSysSizes } from '../../src/workload/query-sizes.ts';
import {
  distributorFactory,
  expandCounts,
  poissonArrivals,
  predictorModel,
  Rng,
  simulateCluster,
  simulateServerless,
} from '../../src/simulate/index.ts';
import { EXPORTERS, exportDocument, parseAllocation, type ExportResult } from '../../src/export/index.ts';
import { buildSynthetic } from '../../src/onnx/synthetic-models.ts';
import { profileOnnx } from '../../src/profile/onnx-runner.ts';
import { buildCpuProfile } from '../../src/profile/build.ts';
import { sampleLookup } from '../../src/profile/samples.ts';
import { parseServeConfig, type ServeConfig, type ServeConfigInput } from '../../src/model/serve-config.ts';
import { Gateway } from '../../src/serve/gateway.ts';
import { engineSchemaErrors, unknownFields } from './engine-schemas.ts';

const README_APPS = JSON.parse(
  readFileSync(new URL('../../data/examples/readme-apps.json', import.meta.url), 'utf8'),
) as { name: string; slo: number; rps: number }[];

/** Three app sets: the README case, 6 apps whose plans mix CPU and GPU groups, 12 apps. */
const APP_SETS: Record<string, { name: string; slo: number; rps: number }[]> = {
  readme: README_APPS,
  six: [
    { name: 'chat', slo: 0.4, rps: 40 },
    { name: 'search', slo: 0.5, rps: 8 },
    { name: 'ads', slo: 0.8, rps: 30 },
    { name: 'feed', slo: 1.2, rps: 2 },
    { name: 'nightly', slo: 2.0, rps: 60 },
    { name: 'tag', slo: 1.0, rps: 0.5 },
  ],
  twelve: Array.from({ length: 12 }, (_, i) => ({
    name: `s${i}`,
    slo: 0.4 + 0.15 * i,
    rps: [1, 5, 20, 50][i % 4]!,
  })),
};

/** Options that keep the anytime planners short; a planner not listed plans with its defaults. */
const FAST: Record<string, Record<string, unknown>> = {
  mbs: { maxGroups: 3 },
  auto: { timeBudgetMs: 300 },
};
/** Planners whose default settings plan in well under a second (their exported configs re-plan for real). */
const QUICK_DEFAULTS = new Set(['harmony', 'batch', 'optimal']);

const INPUTS = [{ name: 'x', datatype: 'FP32' as const, shape: [4] }];
const silent = pino({ level: 'silent' });

/** The config as written, made runnable here: replay backends, no model files, an ephemeral port. */
function runnable(cfg: ServeConfig): ServeConfigInput {
  const c = structuredClone(cfg) as ServeConfigInput & Record<string, unknown>;
  c.listen = { host: '127.0.0.1', port: 0 };
  c.logLevel = 'silent';
  c.replan = { intervalS: 0, windowS: 60 };
  c.models = c.models.map((m) => {
    const { source: _source, ...rest } = m as typeof m & { source?: unknown };
    void _source;
    return { ...rest, inputs: INPUTS };
  });
  if (c.serving.mode === 'serverless') c.serving = { ...c.serving, backend: { type: 'replay', latency: 0 } };
  else
    c.serving = {
      ...c.serving,
      instances: c.serving.instances.map((i) => ({ ...i, backend: { type: 'replay' as const, latency: 1 } })),
    };
  return c;
}

/** Start a gateway on `cfg`, send one request per application, close it. Returns the statuses. */
async function serveOnePerApp(cfg: ServeConfigInput, planFn?: () => Plan): Promise<Record<string, number>> {
  const config = parseServeConfig(cfg);
  const gw = new Gateway({ config, logger: silent, ...(planFn ? { planFn } : {}) });
  const { url } = await gw.start();
  try {
    const out: Record<string, number> = {};
    await Promise.all(
      config.applications.map(async (a) => {
        const model = a.model ?? config.models[0]!.name;
        const r = await fetch(`${url}/v2/models/${encodeURIComponent(model)}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            parameters: { app: a.name },
            inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
          }),
        });
        await r.arrayBuffer();
        out[a.name] = r.status;
      }),
    );
    return out;
  } finally {
    await gw.close();
  }
}

const allOk = (statuses: Record<string, number>, names: string[]): void =>
  assert.deepEqual(statuses, Object.fromEntries(names.map((n) => [n, 200])));

/** Every hetserve config an export embeds (gateway ConfigMaps, per-group and worker configs). */
function embeddedConfigs(r: ExportResult): { where: string; config: ServeConfig }[] {
  const out: { where: string; config: ServeConfig }[] = [];
  for (const f of r.files)
    for (const o of f.objects ?? []) {
      if (o['kind'] !== 'ConfigMap') continue;
      const data = (o['data'] ?? {}) as Record<string, string>;
      for (const [key, text] of Object.entries(data)) {
        if (!key.endsWith('.json')) continue;
        const where = `${r.target}: ${f.path} ${(o['metadata'] as { name: string }).name}/${key}`;
        out.push({ where, config: parseServeConfig(JSON.parse(text), where) });
      }
    }
  return out;
}

/** Export `doc` to every target that takes it: files valid under the engine's schema, or a coded refusal. */
function exportEverywhere(doc: unknown, kind: 'plan' | 'allocation'): ExportResult[] {
  const results: ExportResult[] = [];
  for (const e of Object.values(EXPORTERS)) {
    if (e.accepts !== 'both' && e.accepts !== kind) continue;
    let r: ExportResult;
    try {
      r = exportDocument(structuredClone(doc), e.target);
    } catch (err) {
      assert.ok(err instanceof HetserveError, `${e.target}: ${String(err)}`);
      assert.equal(err.code, 'E_TARGET_UNSUPPORTED', `${e.target}: ${err.message}`);
      assert.ok(err.message.length > 20, 'the refusal says why');
      continue;
    }
    assert.ok(r.files.length > 0, e.target);
    for (const f of r.files) {
      const { errors } = engineSchemaErrors(f);
      assert.deepEqual(errors, [], `${e.target} ${f.path} against the engine's schema`);
    }
    results.push(r);
  }
  return results;
}

interface Outcome {
  plan: Plan;
  targets: string[];
  checkedSchemas: string[];
}

async function serverlessRoundTrip(
  algorithm: string,
  profile: ServerlessProfile,
  apps: { name: string; slo: number; rps: number }[],
): Promise<Outcome> {
  const written = plan(apps, profile, { algorithm, ...FAST[algorithm] });
  // What a reader gets is the JSON a planner wrote, through the one parser.
  const p = parsePlan(JSON.parse(JSON.stringify(written)));
  assert.ok(p.groups.length > 0);

  const sim = simulateServerless({
    apps,
    arrivals: poissonArrivals(
      apps.map((a) => a.rps),
      new Rng(7),
      { end: 20 },
    ),
    plan: p,
    model: predictorModel(new Predictor(profile)),
    createBatchManager,
    durationS: 20,
  });
  assert.ok(sim.requests > 0);
  assert.ok(Number.isFinite(sim.sloViolationRate) && sim.sloViolationRate >= 0 && sim.sloViolationRate <= 1);

  const names = apps.map((a) => a.name);
  const direct = runnable(
    parseServeConfig({
      models: [{ name: p.model, profile: p.model }],
      applications: p.apps,
      serving: {
        mode: 'serverless',
        algorithm: p.algorithm,
        prices: p.priceTable,
        compat: p.compat,
        backend: { type: 'onnx' },
      },
    }),
  );
  allOk(await serveOnePerApp(direct, () => p), names);

  const results = exportEverywhere(p, 'plan');
  const checkedSchemas = results.flatMap((r) => r.files.flatMap((f) => engineSchemaErrors(f).checked));
  for (const r of results) {
    const configs = embeddedConfigs(r);
    if (configs.length === 0) continue;
    // The first embedded config of each target boots (Knative's per-group configs share one shape).
    const { where, config } = configs[0]!;
    if (config.serving.mode === 'serverless' && config.serving.algorithm)
      getPlanner(config.serving.algorithm); // the name it carries is one `serve` plans with
    const ownPlanner = QUICK_DEFAULTS.has(algorithm);
    const statuses = await serveOnePerApp(runnable(config), ownPlanner ? undefined : () => p).catch(
      (e: unknown) => {
        throw new Error(`${where}: ${String(e)}`);
      },
    );
    allOk(
      statuses,
      config.applications.map((a) => a.name),
    );
  }
  return { plan: p, targets: results.map((r) => r.target), checkedSchemas };
}

test(
  'every planner × every bundled model × three app sets: plan, parse, simulate, serve, export, boot',
  { concurrency: 12 },
  async (t) => {
    const outcomes: Outcome[] = [];
    const planners = listPlanners().map((p) => p.name);
    assert.ok(planners.length >= 5, `planners: ${planners.join(', ')}`);
    const jobs: Promise<unknown>[] = [];
    for (const algorithm of planners)
      for (const [model, profile] of bundledProfiles())
        for (const [set, apps] of Object.entries(APP_SETS)) {
          if (algorithm === 'batch' && !profile.cpu) continue; // BATCH plans CPU functions only
          jobs.push(
            t.test(`${algorithm} × ${model} × ${set}`, async () => {
              outcomes.push(await serverlessRoundTrip(algorithm, profile, apps));
            }),
          );
        }
    await Promise.all(jobs);
    // The suite saw what it claims to cover.
    const kinds = (p: Plan) => new Set(p.groups.map((g) => g.function.kind));
    assert.ok(
      outcomes.some((o) => o.plan.apps.length === 6 && kinds(o.plan).size === 2),
      'a 6-app plan mixes CPU and GPU',
    );
    assert.ok(
      outcomes.some((o) => o.plan.groups.some((g) => g.appRps)),
      'some plan splits an app',
    );
    assert.ok(
      outcomes.some((o) => o.plan.algorithm.startsWith('auto:')),
      'auto plans carry auto:<choice>',
    );
    const targets = new Set(outcomes.flatMap((o) => o.targets));
    for (const e of Object.values(EXPORTERS))
      if (e.accepts !== 'allocation') assert.ok(targets.has(e.target), e.target);
    const schemas = new Set(outcomes.flatMap((o) => o.checkedSchemas));
    for (const s of ['knative', 'kserve', 'sam', 'fc3']) assert.ok(schemas.has(s), `${s} schema applied`);
  },
);

test('allocation: allocate, simulate the cluster, serve in cluster mode, export, boot', async () => {
  const written = await allocate({ model: 'rm2' });
  const alloc = parseAllocation(JSON.parse(JSON.stringify(written)));
  const table = LatencyTable.bundled('rm2');
  const order = alloc.pool.map((t) => t.name);
  const instances = expandCounts(alloc.chosen.counts, order);
  const base = alloc.pool.find((t) => t.base)!.name;
  const sim = simulateCluster({
    table,
    instances,
    createDistributor: distributorFactory({ name: 'kairos', baseType: base, compat: 'paper' }, table),
    qosMs: alloc.qosMs,
    rateQps: alloc.chosen.upperBoundQps / 2,
    queries: 2000,
    sizes: deepRecSysSizes(),
  });
  assert.ok(sim.queries > 0);

  const served = runnable(
    parseServeConfig({
      models: [{ name: alloc.model }],
      applications: [{ name: 'default', slo: alloc.qosMs / 1000, rps: alloc.chosen.upperBoundQps }],
      serving: {
        mode: 'cluster',
        qosMs: alloc.qosMs,
        baseType: base,
        instances: instances.map((type, i) => ({
          name: `i${i}`,
          type,
          backend: { type: 'replay', latency: 1 },
        })),
      },
    }),
  );
  allOk(await serveOnePerApp(served), ['default']);

  const results = exportEverywhere(alloc, 'allocation');
  assert.ok(results.some((r) => r.target === 'keda'));
  const booted: string[] = [];
  for (const r of results)
    for (const { where, config } of embeddedConfigs(r)) {
      allOk(
        await serveOnePerApp(runnable(config)),
        config.applications.map((a) => a.name),
      );
      booted.push(`${where} (${config.serving.mode})`);
    }
  assert.ok(
    booted.some((b) => b.endsWith('(cluster)')),
    `the gateway config booted: ${booted.join('; ')}`,
  );
});

test('measured profile: synthetic model, profile, plan, simulate on its samples, serve with replay on them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-contract-'));
  try {
    const model = buildSynthetic('mlp', { inputs: 16, hidden: 32, seed: 3 });
    const sweep = await profileOnnx(model.bytes, {
      vcpus: [0.5, 0.75, 1],
      batches: [1, 2],
      runs: 6,
      warmup: 1,
    });
    const { profile } = buildCpuProfile(sweep, { name: 'synthetic-mlp' });
    assert.ok(profile.samples && profile.samples.length === 6);
    const file = join(dir, 'synthetic-mlp.profile.json');
    writeFileSync(file, JSON.stringify(profile));
    const low = Math.max(...profile.samples.map((s) => Math.max(...s.latencyMs))) / 1000;
    // SLOs a few times the slowest sample, but never below what a live gateway's own overhead
    // needs on a loaded machine (an SLO of a millisecond would time out on a scheduler hiccup).
    const apps = [
      { name: 'fast', slo: Math.max(4 * low, 0.25), rps: 50 },
      { name: 'slow', slo: Math.max(10 * low, 0.6), rps: 20 },
    ];
    const p = parsePlan(JSON.parse(JSON.stringify(plan(apps, profile, { algorithm: 'harmony' }))));
    const [lo, hi] = profile.cpu!.fitRange!;
    for (const g of p.groups)
      if (g.function.kind === 'cpu') assert.ok(g.function.vcpu >= lo && g.function.vcpu <= hi);
    assert.equal(p.warnings, undefined);

    const predictor = new Predictor(profile);
    const samples = sampleLookup(profile, (fn, b) => predictor.latency(fn, b).avg, 'samples');
    assert.ok(samples);
    const sim = simulateServerless({
      apps,
      arrivals: poissonArrivals(
        apps.map((a) => a.rps),
        new Rng(3),
        { end: 10 },
      ),
      plan: p,
      model: { ...predictorModel(predictor), samples },
      createBatchManager,
      durationS: 10,
    });
    for (const g of sim.groups)
      assert.equal(g.batchesBySource.model, 0, 'every batch latency is a measured sample');
    assert.ok(Number.isFinite(sim.sloViolationRate));

    const cfg = runnable(
      parseServeConfig({
        models: [{ name: 'mlp', profile: file }],
        applications: apps,
        serving: { mode: 'serverless', backend: { type: 'onnx' } },
      }),
    );
    if (cfg.serving.mode === 'serverless')
      cfg.serving.backend = { type: 'replay', latency: { profile: true, samples: 'auto' } };
    allOk(await serveOnePerApp(cfg), ['fast', 'slow']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the engine schema check counts unknown fields and schema violations', () => {
  const p = plan(README_APPS, bundledProfiles().get('VGG19')!, { algorithm: 'harmony' });
  const r = exportDocument(p, 'knative');
  const f = r.files[0]!;
  assert.deepEqual(engineSchemaErrors(f).errors, []);
  const objects = structuredClone(f.objects!) as Record<string, unknown>[];
  const svc = objects.find((o) => o['kind'] === 'Service')! as {
    spec: { template: { spec: Record<string, unknown> } };
  };
  (svc.spec as unknown as Record<string, unknown>)['replicas'] = 3; // not a Knative Service field
  svc.spec.template.spec['containerConcurrency'] = 'many';
  const { errors } = engineSchemaErrors({ ...f, objects });
  assert.ok(
    errors.some((e) => /unknown field spec\.replicas/.test(e)),
    errors.join('\n'),
  );
  assert.ok(
    errors.some((e) => /containerConcurrency: must be integer/.test(e)),
    errors.join('\n'),
  );
  // additionalProperties: false is honoured and free-form maps are not flagged.
  const schema = {
    type: 'object',
    properties: { a: { type: 'object', additionalProperties: { type: 'string' } } },
  };
  assert.deepEqual(unknownFields({ a: { any: 'x' }, b: 1 }, schema, schema), ['b']);
});
