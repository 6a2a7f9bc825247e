/**
 * Checks exported files against the schemas the engines publish (test/fixtures/schemas, see its
 * README): ajv for what the schema says, plus a walk that counts every field the schema does not
 * know as an error (Kubernetes prunes unknown fields silently, SAM and fc3 ignore them).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import type { ExportFile } from '../../src/export/index.ts';

type Schema = Record<string, unknown>;

const DIR = new URL('../fixtures/schemas/', import.meta.url);
const load = (name: string): Schema => JSON.parse(readFileSync(new URL(name, DIR), 'utf8')) as Schema;

interface Engine {
  readonly schema: Schema;
  readonly validate: ValidateFunction;
}

let engines: Record<string, Engine> | undefined;

function compiled(): Record<string, Engine> {
  if (engines) return engines;
  // The schemas use OpenAPI and vendor keywords (x-kubernetes-*, nullable) and formats ajv does
  // not know: strict off, formats not checked.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const make = (file: string): Engine => {
    const schema = load(file);
    delete schema['$schema']; // SAM declares draft-04 but uses nothing draft-07 reads differently
    return { schema, validate: ajv.compile(schema) };
  };
  engines = {
    knative: make('knative-service-v1.schema.json'),
    kserve: make('kserve-inferenceservice-v1beta1.schema.json'),
    keda: make('keda-scaledobject-v1alpha1.schema.json'),
    sam: make('aws-sam-function.schema.json'),
    fc3: make('fc3-function.schema.json'),
  };
  return engines;
}

function deref(s: unknown, root: Schema): Schema {
  let cur = (s ?? {}) as Schema;
  for (let i = 0; i < 32 && typeof cur['$ref'] === 'string'; i++) {
    const path = (cur['$ref'] as string).replace(/^#\//, '').split('/');
    cur = path.reduce<unknown>((o, k) => (o as Schema)[k], root) as Schema;
  }
  return cur;
}

/** Paths of the fields of `doc` that `schema` does not describe. */
export function unknownFields(doc: unknown, schema: unknown, root: Schema, path = ''): string[] {
  const s = deref(schema, root);
  if (s['x-kubernetes-preserve-unknown-fields'] === true) return [];
  const alternatives = [...((s['anyOf'] as unknown[]) ?? []), ...((s['oneOf'] as unknown[]) ?? [])];
  if (alternatives.length > 0) {
    // Fine when one alternative knows every field (ajv checks that the value matches one).
    let best: string[] | undefined;
    for (const alt of alternatives) {
      const errs = unknownFields(
        doc,
        { ...s, anyOf: undefined, oneOf: undefined, ...deref(alt, root) },
        root,
        path,
      );
      if (!best || errs.length < best.length) best = errs;
      if (errs.length === 0) return [];
    }
    return best!;
  }
  const parts = [s, ...((s['allOf'] as unknown[]) ?? []).map((x) => deref(x, root))];
  if (Array.isArray(doc)) {
    const items = parts.map((p) => p['items']).find((x) => x !== undefined);
    return items === undefined ? [] : doc.flatMap((d, i) => unknownFields(d, items, root, `${path}[${i}]`));
  }
  if (doc === null || typeof doc !== 'object') return [];
  const props: Record<string, unknown> = {};
  let additional: unknown;
  let constrained = false;
  for (const p of parts) {
    if (p['properties']) {
      Object.assign(props, p['properties']);
      constrained = true;
    }
    if (p['additionalProperties'] !== undefined) {
      additional = p['additionalProperties'];
      constrained = true;
    }
  }
  if (!constrained) return []; // a free-form object (e.g. metadata, labels)
  const out: string[] = [];
  for (const [k, v] of Object.entries(doc)) {
    const at = path ? `${path}.${k}` : k;
    if (k in props) out.push(...unknownFields(v, props[k], root, at));
    else if (additional && typeof additional === 'object')
      out.push(...unknownFields(v, additional, root, at));
    else if (additional !== true) out.push(at);
  }
  return out;
}

function check(engine: Engine, doc: unknown, where: string): string[] {
  const errs: string[] = [];
  if (!engine.validate(doc))
    for (const e of engine.validate.errors ?? []) errs.push(`${where}${e.instancePath}: ${e.message}`);
  for (const f of unknownFields(doc, engine.schema, engine.schema)) errs.push(`${where}: unknown field ${f}`);
  return errs;
}

/**
 * Errors of one exported file against its engine's schema (empty: valid). Returns which schema was
 * used for each document, so a caller can tell that something was checked.
 */
export function engineSchemaErrors(file: ExportFile): { checked: string[]; errors: string[] } {
  const e = compiled();
  const checked: string[] = [];
  const errors: string[] = [];
  if (!/\.ya?ml$/.test(file.path)) return { checked, errors };
  const docs =
    file.objects ?? parseAllDocuments(file.content, { version: '1.1' }).map((d) => d.toJS() as unknown);
  docs.forEach((raw, i) => {
    const doc = raw as Record<string, unknown>;
    const where = `${file.path}#${i}`;
    const api = String(doc['apiVersion'] ?? '');
    if (doc['kind'] === 'Service' && api === 'serving.knative.dev/v1') {
      checked.push('knative');
      errors.push(...check(e.knative!, doc, where));
    } else if (doc['kind'] === 'InferenceService') {
      checked.push('kserve');
      errors.push(...check(e.kserve!, doc, where));
    } else if (doc['kind'] === 'ScaledObject') {
      checked.push('keda');
      errors.push(...check(e.keda!, doc, where));
    } else if (doc['Transform'] === 'AWS::Serverless-2016-10-31') {
      // SAM's schema describes SAM's own resources; the template's CloudFormation parts (top-level
      // sections, the IAM policy) pass through it unchecked, so only functions are walked.
      checked.push('sam');
      const sam = e.sam!;
      if (!sam.validate(doc))
        for (const x of sam.validate.errors ?? []) errors.push(`${where}${x.instancePath}: ${x.message}`);
      const fn = {
        $ref: '#/definitions/samtranslator__internal__schema_source__aws_serverless_function__Resource',
      };
      for (const [id, r] of Object.entries(doc['Resources'] as Record<string, { Type: string }>))
        if (r.Type === 'AWS::Serverless::Function')
          for (const f of unknownFields(r, fn, sam.schema))
            errors.push(`${where}: unknown field Resources.${id}.${f}`);
    } else if (doc['edition'] === '3.0.0' && doc['resources']) {
      for (const [name, r] of Object.entries(doc['resources'] as Record<string, { props: unknown }>)) {
        checked.push('fc3');
        errors.push(...check(e.fc3!, r.props, `${where}.resources.${name}.props`));
      }
    }
  });
  return { checked, errors };
}
