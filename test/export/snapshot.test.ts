/**
 * Snapshot tests: the exact files each target writes for the fixture documents. A change in the
 * output fails here; after reviewing the diff, refresh with
 *   HETSERVE_UPDATE_SNAPSHOTS=1 node scripts/run-tests.mjs test export.snapshot
 * Snapshots are `.snap` text (not YAML) so that formatters leave them byte-exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { EXPORTERS, exportDocument } from '../../src/export/index.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { FIXTURE_DIR, fixtures } from '../helpers/export.ts';

const UPDATE = process.env['HETSERVE_UPDATE_SNAPSHOTS'] === '1';
const SNAP_DIR = FIXTURE_DIR + 'snapshots/';

/** The whole export as one text: every file with a header, then units and warnings. */
function render(input: unknown, target: string): string {
  try {
    const r = exportDocument(input, target);
    // Shipped sources are compared with the repository's copy, not repeated in every snapshot.
    const parts = r.files.map((f) =>
      f.path.endsWith('.py') &&
      f.content === readFileSync(new URL(`../../deploy/ray/${f.path}`, import.meta.url), 'utf8')
        ? `=== ${f.path} ===\n(deploy/ray/${f.path})\n`
        : `=== ${f.path} ===\n${f.content}`,
    );
    parts.push(
      `=== units ===\n${r.units.map((u) => `${u.ref} -> ${u.name ?? `UNSUPPORTED: ${u.unsupported}`}`).join('\n')}\n`,
    );
    parts.push(`=== warnings ===\n${r.warnings.join('\n')}\n`);
    return parts.join('');
  } catch (e) {
    if (!(e instanceof HetserveError)) throw e;
    return `=== error ===\n${e.code}: ${e.message}\n`;
  }
}

const docs = fixtures();
const kindOf = (d: unknown) => ((d as { kind: string }).kind === 'serverless-plan' ? 'plan' : 'allocation');

for (const [name, doc] of Object.entries(docs)) {
  for (const e of Object.values(EXPORTERS)) {
    if (e.accepts !== 'both' && e.accepts !== kindOf(doc)) continue;
    test(`snapshot ${name} -> ${e.target}`, () => {
      const file = `${SNAP_DIR}${name}.${e.target}.snap`;
      const actual = render(structuredClone(doc), e.target);
      if (UPDATE || !existsSync(file)) {
        assert.ok(UPDATE, `missing snapshot ${file}; run with HETSERVE_UPDATE_SNAPSHOTS=1`);
        mkdirSync(SNAP_DIR, { recursive: true });
        writeFileSync(file, actual);
        return;
      }
      assert.equal(
        actual,
        readFileSync(file, 'utf8'),
        `${file} differs (HETSERVE_UPDATE_SNAPSHOTS=1 to refresh)`,
      );
    });
  }
}
