/**
 * The layout of test/ (DEVELOPERS.md, "Tests"): every test file sits in the folder of the src/
 * area it tests (or cli, contract, project), named in kebab-case without the area prefix; shared
 * conformance suites live in `.case.ts` files that export `run…Conformance`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TEST = fileURLToPath(new URL('..', import.meta.url));
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const files = readdirSync(TEST, { recursive: true })
  .map((f) => String(f).replaceAll('\\', '/'))
  .filter((f) => !f.startsWith('fixtures/'));

test('every test file is in an area folder with a kebab-case name', () => {
  const srcAreas = readdirSync(SRC, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const areas = new Set([...srcAreas, 'contract', 'project']);
  const bad = files
    .filter((f) => f.endsWith('.test.ts'))
    .filter((f) => {
      const parts = f.split('/');
      return (
        parts.length < 2 ||
        !areas.has(parts[0]!) ||
        !parts.every((p) => /^[a-z0-9]+(-[a-z0-9]+)*(\.test\.ts)?$/.test(p))
      );
    });
  assert.deepEqual(bad, [], 'move these to test/<area>/<kebab-name>.test.ts (area = a folder of src/)');
});

test('every .case.ts file exports one run…Conformance suite and is called by a test file', () => {
  const cases = files.filter((f) => f.endsWith('.case.ts'));
  assert.ok(cases.length >= 4, cases.join(', '));
  for (const c of cases) {
    const text = readFileSync(`${TEST}/${c}`, 'utf8');
    const names = [...text.matchAll(/export function (run\w+Conformance)\(/g)].map((m) => m[1]!);
    assert.equal(names.length, 1, `${c} exports exactly one run…Conformance function`);
    const callers = files.filter(
      (f) => f.endsWith('.test.ts') && readFileSync(`${TEST}/${f}`, 'utf8').includes(`${names[0]}(`),
    );
    assert.ok(callers.length > 0, `no test file calls ${names[0]} from ${c}`);
  }
});
