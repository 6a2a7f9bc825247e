/**
 * `hetserve schema <document>` publishes a JSON Schema per document, for users to validate files in
 * their own pipelines. Every document hetserve writes or ships must validate against it under a
 * validator written elsewhere (ajv, JSON Schema 2020-12), and a broken copy of each must not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { SCHEMAS, documentJsonSchema } from '../../src/model/schemas.ts';
import { bundledProfile, bundledProfiles } from '../../src/predict/index.ts';
import { listPlanners, plan } from '../../src/plan/serverless/index.ts';
import { allocate, defaultPool } from '../../src/plan/cluster/allocate.ts';
import { KAIROS_MODELS } from '../../src/predict/latency-table.ts';
import { exportDocument } from '../../src/export/index.ts';
import { defaultServeConfig } from '../../src/serve/defaults.ts';
import type { App } from '../../src/model/app.ts';

const root = new URL('../../', import.meta.url);
const json = (path: string): unknown => JSON.parse(readFileSync(new URL(path, root), 'utf8'));
/** Written then read: what a file on disk holds (no undefined, no class instances). */
const onDisk = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

const README_APPS = json('data/examples/readme-apps.json') as App[];

/** The gateway config (`serving` …) an export's ConfigMaps carry. */
function exportedConfig(doc: unknown, target: 'gateway' | 'keda'): unknown {
  const r = exportDocument(doc as never, target);
  const found = r.files
    .flatMap((f) => f.objects ?? [])
    .filter((o) => o['kind'] === 'ConfigMap')
    .flatMap((o) => Object.values(o['data'] as Record<string, string>))
    .map((text) => {
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        return parseYaml(text) as Record<string, unknown>;
      }
    })
    .find((c) => c && typeof c === 'object' && 'serving' in c);
  assert.ok(found, `${target}: a ConfigMap holds the gateway config`);
  return found;
}

async function documents(): Promise<Record<string, [string, unknown][]>> {
  const vgg = bundledProfile('VGG19');
  const plans: [string, unknown][] = [];
  for (const p of listPlanners())
    plans.push([`${p.name} plan`, onDisk(plan(README_APPS, vgg, { algorithm: p.name }))]);
  plans.push(['auto plan, prototype mode', onDisk(plan(README_APPS, vgg, { compat: 'prototype' }))]);
  for (const f of readdirSync(new URL('test/fixtures/export/', root)).filter((n) => n.startsWith('plan')))
    plans.push([`fixture ${f}`, json(`test/fixtures/export/${f}`)]);
  const allocations: [string, unknown][] = [
    ['top1 allocation', onDisk(await allocate({ model: 'rm2', select: 'top1' }))],
    ['prototype allocation', onDisk(await allocate({ model: 'dien', compat: 'prototype' }))],
  ];
  const configs: [string, unknown][] = [
    ['default config', onDisk(defaultServeConfig())],
    ['exported serverless config (gateway)', exportedConfig(plans[0]![1], 'gateway')],
    ['exported cluster config (keda)', exportedConfig(allocations[0]![1], 'keda')],
  ];
  for (const f of readdirSync(new URL('examples/', root)).filter((n) => n.endsWith('.yaml')))
    configs.push([`examples/${f}`, parseYaml(readFileSync(new URL(`examples/${f}`, root), 'utf8'))]);
  const k8s = parseAllDocuments(readFileSync(new URL('deploy/k8s/gateway.yaml', root), 'utf8'))
    .map((d) => d.toJS() as Record<string, unknown>)
    .find((o) => o?.['kind'] === 'ConfigMap')!;
  configs.push([
    'deploy/k8s/gateway.yaml',
    JSON.parse(Object.values(k8s['data'] as Record<string, string>)[0]!),
  ]);
  return {
    apps: [['data/examples/readme-apps.json', README_APPS]],
    plan: plans,
    profile: [
      ...[...bundledProfiles()].map(([n, p]): [string, unknown] => [`bundled ${n}`, onDisk(p)]),
      ['data/profiles/demo-mlp.profile.json', json('data/profiles/demo-mlp.profile.json')],
    ],
    'cluster-profile': KAIROS_MODELS.map((m): [string, unknown] => [
      `data/kairos/${m}.json.gz`,
      JSON.parse(gunzipSync(readFileSync(new URL(`data/kairos/${m}.json.gz`, root))).toString('utf8')),
    ]),
    pool: [['default pool', onDisk(defaultPool())]],
    allocation: allocations,
    prices: readdirSync(new URL('data/prices/', root)).map((f): [string, unknown] => [
      `data/prices/${f}`,
      json(`data/prices/${f}`),
    ]),
    config: configs,
  };
}

/** A copy the schema must refuse: a required top-level field removed. */
function broken(schema: Record<string, unknown>, doc: unknown): unknown {
  if (Array.isArray(doc)) return [{ ...(doc[0] as object), slo: 'soon' }];
  const required = (schema['required'] as string[] | undefined) ?? [];
  assert.ok(required.length > 0, 'the schema requires some field');
  const copy = { ...(doc as Record<string, unknown>) };
  delete copy[required[0]!];
  return copy;
}

test('every document hetserve writes or ships validates against `hetserve schema <document>` (ajv), and a broken copy does not', async () => {
  const docs = await documents();
  assert.deepEqual(
    Object.keys(docs).sort(),
    Object.keys(SCHEMAS).sort(),
    'every published schema is exercised',
  );
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  let checked = 0;
  for (const [name, list] of Object.entries(docs)) {
    const schema = (await documentJsonSchema(name))!;
    const validate = ajv.compile(schema);
    assert.ok(list.length > 0, name);
    for (const [label, doc] of list) {
      assert.ok(validate(doc), `${name}: ${label}: ${ajv.errorsText(validate.errors)}`);
      checked++;
    }
    assert.equal(validate(broken(schema, list[0]![1])), false, `${name}: a broken ${list[0]![0]} is refused`);
  }
  assert.ok(checked >= 30, `${checked} documents`);
  assert.equal(await documentJsonSchema('__proto__'), undefined);
});
