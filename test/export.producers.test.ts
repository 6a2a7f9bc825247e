/**
 * Contract test against the real producers: what `hetserve plan --json` and `hetserve allocate
 * --json` write today must export to every target that accepts it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EXPORTERS, exportDocument } from '../src/export/index.ts';
import { HetserveError } from '../src/model/errors.ts';

const ROOT = new URL('../', import.meta.url).pathname;

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

for (const [kind, doc] of docs) {
  for (const e of Object.values(EXPORTERS)) {
    if (e.accepts !== 'both' && e.accepts !== kind) continue;
    test(`hetserve ${kind === 'plan' ? 'plan' : 'allocate'} --json exports to ${e.target}`, () => {
      try {
        const r = exportDocument(doc, e.target);
        assert.ok(r.files.length > 0 && r.units.length > 0);
        assert.ok(r.units.some((u) => u.name));
      } catch (err) {
        // Only a whole-plan refusal (e.g. Lambda for an all-GPU plan) is acceptable, never a bug.
        assert.ok(err instanceof HetserveError, String(err));
        assert.equal(err.code, 'E_TARGET_UNSUPPORTED', err.message);
      }
    });
  }
}
