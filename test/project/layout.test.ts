/**
 * The layout of test/ (DEVELOPERS.md, "Tests"): every test file sits in the folder of the src/
 * area it tests (or cli, contract, project), named in kebab-case without the area prefix; shared
 * conformance suites live in `.case.ts` files that export `run…Conformance`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

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

/**
 * Top-level statements of `source` that await after a statement registering tests. Under
 * --test-force-exit node's runner ends a file's process once every test registered so far has
 * finished: a file that registers a test, then awaits at top level, can end before the tests after
 * the await register, and they silently never run (fewer tests counted, nothing failed). The suite
 * runs without that flag (scripts/run-tests.mjs says why); this keeps the files safe under it.
 */
function awaitsAfterRegistration(fileName: string, source: string): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const inFunction = (n: ts.Node): boolean => ts.isFunctionLike(n) || ts.isClassLike(n);
  const find = (node: ts.Node, hit: (n: ts.Node) => boolean): boolean => {
    if (inFunction(node)) return false;
    let found = false;
    const visit = (n: ts.Node): void => {
      if (found || inFunction(n)) return;
      if (hit(n)) found = true;
      else ts.forEachChild(n, visit);
    };
    ts.forEachChild(node, visit);
    return found || hit(node);
  };
  const registers = (n: ts.Node): boolean =>
    ts.isCallExpression(n) &&
    ts.isIdentifier(n.expression) &&
    /^(test|describe|it|suite|run\w+Conformance)$/.test(n.expression.text);
  const awaits = (n: ts.Node): boolean =>
    ts.isAwaitExpression(n) || (ts.isForOfStatement(n) && n.awaitModifier !== undefined);
  const bad: string[] = [];
  let registered = false;
  for (const st of sf.statements) {
    if (registered && find(st, awaits))
      bad.push(`${fileName}:${sf.getLineAndCharacterOfPosition(st.getStart()).line + 1}`);
    // A registration inside a function body runs when it is called: count the call site instead.
    if (find(st, registers)) registered = true;
  }
  return bad;
}

test('no test file awaits at top level after registering a test (such tests could silently not run)', () => {
  // The check itself: it flags the await after a registration, and only that one.
  assert.deepEqual(
    awaitsAfterRegistration(
      'x.ts',
      "const a = await f();\ntest('a', async () => { await g(); });\nasync function k() { await g(); }\nconst b = await h();\nfor (const c of [1]) test(`c${c}`, () => {});\n",
    ),
    ['x.ts:4'],
  );
  const bad = files
    .filter((f) => f.endsWith('.test.ts') || f.endsWith('.case.ts'))
    .flatMap((f) => awaitsAfterRegistration(f, readFileSync(`${TEST}/${f}`, 'utf8')));
  assert.deepEqual(bad, [], 'move these awaits before the first test, or into a before() hook');
});
