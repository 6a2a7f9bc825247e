/** The conformance suite every exporter runs: one contract, many targets. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPORTERS, exportDocument } from '../src/export/index.ts';
import { HetserveError } from '../src/model/errors.ts';
import type { Plan } from '../src/model/plan.ts';
import type { Allocation } from '../src/model/cluster.ts';
import { fixtures, parseFile } from './export.helpers.ts';

const DOCS = fixtures();
const kindOf = (d: unknown) => ((d as { kind: string }).kind === 'serverless-plan' ? 'plan' : 'allocation');

/** The units a document has: plan groups, or instance types with a non-zero count. */
function expectedRefs(doc: unknown): string[] {
  if (kindOf(doc) === 'plan') return (doc as Plan).groups.map((_, i) => `group-${i}`);
  const counts = (doc as Allocation).chosen.counts;
  return Object.keys(counts)
    .filter((t) => counts[t] > 0)
    .map((t) => `type:${t}`);
}

function throwsCode(fn: () => unknown, code: string, field?: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HetserveError, `expected HetserveError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (field) assert.match(String(e.details['field']), field);
    return true;
  });
}

for (const exporter of Object.values(EXPORTERS)) {
  describe(`exporter conformance: ${exporter.target}`, () => {
    const accepted = Object.entries(DOCS).filter(
      ([, d]) => exporter.accepts === 'both' || exporter.accepts === kindOf(d),
    );
    const rejected = Object.entries(DOCS).filter(([, d]) => !accepted.some(([, a]) => a === d));

    test('accepts at least one fixture document', () => assert.ok(accepted.length > 0));

    for (const [name, doc] of accepted) {
      test(`${name}: files, units and warnings are well formed`, (t) => {
        let r;
        try {
          r = exportDocument(structuredClone(doc), exporter.target);
        } catch (e) {
          // A target may be unable to express a whole document; it must say so with the coded error.
          assert.ok(e instanceof HetserveError && e.code === 'E_TARGET_UNSUPPORTED', String(e));
          t.diagnostic(`${exporter.target} cannot express ${name}: ${e.message}`);
          return;
        }
        assert.equal(r.target, exporter.target);
        assert.ok(r.files.length > 0);
        const paths = r.files.map((f) => f.path);
        assert.equal(new Set(paths).size, paths.length, 'file paths are unique');
        for (const f of r.files) {
          assert.ok(!f.path.startsWith('/') && !f.path.includes('..'), f.path);
          assert.ok(f.content.length > 0 && f.content.endsWith('\n'), `${f.path} is non-empty text`);
          const docs = parseFile(f);
          assert.ok(docs.length > 0);
          if (f.objects) assert.deepEqual(docs, f.objects, `${f.path}: YAML round-trips to its objects`);
        }
        // Every unit of the input appears exactly once.
        assert.deepEqual(r.units.map((u) => u.ref).sort(), expectedRefs(doc).sort());
        for (const u of r.units)
          assert.ok(Boolean(u.name) !== Boolean(u.unsupported), `${u.ref}: emitted xor unsupported`);
        for (const w of r.warnings) assert.equal(typeof w, 'string');
      });

      test(`${name}: deterministic and does not mutate its input`, () => {
        const input = structuredClone(doc);
        let a, b;
        try {
          a = exportDocument(input, exporter.target);
          b = exportDocument(structuredClone(doc), exporter.target);
        } catch (e) {
          assert.ok(e instanceof HetserveError && e.code === 'E_TARGET_UNSUPPORTED');
          return;
        }
        assert.deepEqual(a, b);
        assert.deepEqual(input, doc);
      });

      test(`${name}: Kubernetes objects carry the namespace and instance label`, () => {
        if (!exporter.kubernetes) return;
        const r = exportDocument(structuredClone(doc), exporter.target, {
          namespace: 'ml-prod',
          name: 'custom',
        });
        for (const f of r.files) {
          assert.ok(f.objects && f.objects.length > 0, `${f.path} lists its objects`);
          for (const o of f.objects) {
            const md = o['metadata'] as Record<string, unknown>;
            assert.equal(md['namespace'], 'ml-prod');
            assert.match(String(md['name']), /^custom(-|$)/);
            assert.equal((md['labels'] as Record<string, string>)['app.kubernetes.io/instance'], 'custom');
          }
        }
      });
    }

    for (const [name, doc] of rejected) {
      test(`${name}: the wrong document kind is a coded input error`, () => {
        throwsCode(() => exportDocument(doc, exporter.target), 'E_INVALID_INPUT', /^kind$/);
      });
    }

    test('bad options are coded errors naming the option', () => {
      const [, doc] = accepted[0];
      throwsCode(
        () => exportDocument(doc, exporter.target, { namespace: 'Not_DNS' }),
        'E_INVALID_OPTION',
        /namespace/,
      );
      throwsCode(
        () => exportDocument(doc, exporter.target, { headroom: 0.5 }),
        'E_INVALID_OPTION',
        /headroom/,
      );
    });

    test('a malformed document is a coded error naming the field', () => {
      const [, doc] = accepted[0];
      const broken = structuredClone(doc) as Record<string, unknown>;
      delete broken['model'];
      const code = kindOf(doc) === 'plan' ? 'E_PLAN_INVALID' : 'E_ALLOCATION_INVALID';
      throwsCode(() => exportDocument(broken, exporter.target), code, /\.model$/);
    });
  });
}
