/**
 * docs/reference/errors.md must document every error code: each code of the catalogue, and every
 * `E_…` string literal in src/ (a code thrown somewhere must be in the catalogue and on the page),
 * each with the exit code and HTTP status the catalogue gives it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOGUE } from '../../src/model/errors.ts';

const PAGE = readFileSync('docs/reference/errors.md', 'utf8');

/** `code -> [exit, http]` from the page's table rows: | `E_X` | 2 | 400 | … */
function documented(): Map<string, [number, number]> {
  const rows = new Map<string, [number, number]>();
  for (const m of PAGE.matchAll(/^\|\s*`(E_[A-Z0-9_]+)`\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|/gm))
    rows.set(m[1]!, [Number(m[2]), Number(m[3])]);
  return rows;
}

function codesInSource(dir: string): Set<string> {
  const codes = new Set<string>();
  for (const f of readdirSync(dir, { recursive: true }).map(String)) {
    if (!/\.(ts|mjs|js)$/.test(f)) continue;
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/['"`](E_[A-Z0-9_]+)['"`]/g))
      codes.add(m[1]!);
  }
  return codes;
}

test('every catalogue code is on docs/reference/errors.md with its exit code and HTTP status', () => {
  const rows = documented();
  const missing = Object.keys(ERROR_CATALOGUE).filter((c) => !rows.has(c));
  assert.deepEqual(missing, [], `codes missing from docs/reference/errors.md: ${missing.join(', ')}`);
  for (const [code, spec] of Object.entries(ERROR_CATALOGUE))
    assert.deepEqual(rows.get(code), [spec.exitCode, spec.httpStatus], `${code}: exit/HTTP on the page`);
});

test('every E_… code named in src/ is in the catalogue and documented', () => {
  const rows = documented();
  const used = [...codesInSource('src')].sort();
  assert.ok(used.length >= Object.keys(ERROR_CATALOGUE).length / 2, 'the scan finds the codes src/ throws');
  const undocumented = used.filter((c) => !rows.has(c));
  const uncatalogued = used.filter((c) => !(c in ERROR_CATALOGUE));
  assert.deepEqual(undocumented, [], `codes used in src/ but missing from docs/reference/errors.md`);
  assert.deepEqual(uncatalogued, [], `codes used in src/ but missing from src/model/errors.ts`);
});

test('the page documents no code the catalogue lacks (no stale rows)', () => {
  const stale = [...documented().keys()].filter((c) => !(c in ERROR_CATALOGUE));
  assert.deepEqual(stale, []);
});
