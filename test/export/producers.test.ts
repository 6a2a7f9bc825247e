/**
 * Contract test against the real producers: what `hetserve plan --json` and `hetserve allocate
 * --json` write today must export to every target that accepts it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EXPORTERS, exportDocument } from '../../src/export/index.ts';
import { HetserveError } from '../../src/model/errors.ts';
import type { Plan } from '../../src/model/plan.ts';
import type { Allocation } from '../../src/model/cluster.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

function produce(args: string[]): unknown {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ROOT + 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const docs: [string, unknown][] = [
  ['plan', produce(['plan', '--model', 'VGG19', '--apps', 'data/examples/readme-apps.json', '--json'])],
  ['allocation', produce(['allocate', '--model', 'rm2', '--budget', '2.5', '--qos', '350', '--json'])],
];

/** The units a document has: plan groups, or instance types with a non-zero count. */
function units(kind: string, doc: unknown): string[] {
  if (kind === 'plan') return (doc as Plan).groups.map((_, i) => `group-${i}`);
  const counts = (doc as Allocation).chosen.counts;
  return Object.keys(counts)
    .filter((t) => counts[t]! > 0)
    .map((t) => `type:${t}`);
}

/** Plan groups a target cannot run (Lambda has no GPUs); a target refuses a document of only those. */
const cannotRun = (target: string, kind: string, doc: unknown): boolean[] =>
  kind === 'plan'
    ? (doc as Plan).groups.map((g) => target === 'lambda' && g.function.kind === 'gpu')
    : units(kind, doc).map(() => false);

for (const [kind, doc] of docs) {
  for (const e of Object.values(EXPORTERS)) {
    if (e.accepts !== 'both' && e.accepts !== kind) continue;
    test(`hetserve ${kind === 'plan' ? 'plan' : 'allocate'} --json exports to ${e.target}`, () => {
      const unrunnable = cannotRun(e.target, kind, doc);
      if (unrunnable.every(Boolean)) {
        // Only a document the target can run no part of may be refused, with the coded error.
        assert.throws(
          () => exportDocument(doc, e.target),
          (err: unknown) => err instanceof HetserveError && err.code === 'E_TARGET_UNSUPPORTED',
        );
        return;
      }
      const r = exportDocument(doc, e.target);
      assert.ok(r.files.length > 0);
      assert.deepEqual(
        r.units.map((u) => u.ref),
        units(kind, doc),
        'every unit of the document, in order',
      );
      r.units.forEach((u, i) => {
        assert.equal(Boolean(u.unsupported), unrunnable[i], `${u.ref}: unsupported only where it cannot run`);
        if (!u.unsupported) assert.ok(u.name, `${u.ref} is emitted under a name`);
      });
    });
  }
}
