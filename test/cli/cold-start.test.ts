// bin/hetserve.js runs the compiled build (dist/) when it is up to date and the TypeScript sources
// through tsx otherwise. Both paths must keep working: the fallback is what a developer who edits
// src/ runs, the compiled path what a fresh clone runs after `npm ci`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { z } from 'zod';
import { buildIsFresh } from '../../bin/fresh-build.js';
import { HANG_GUARD_MS, guardNote } from '../helpers/cli.ts';
import { AllocationSchema } from '../../src/model/cluster.ts';

const ROOT = new URL('../../', import.meta.url);
const rootPath = fileURLToPath(ROOT);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { timeout: HANG_GUARD_MS, env: { ...process.env, HETSERVE_DEBUG_START: '1', ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr: stderr + guardNote(err) });
      },
    );
  });
}

const BIN = join(rootPath, 'bin', 'hetserve.js');
const FROM_SOURCE = { HETSERVE_FROM_SOURCE: '1' };
const allocationJsonSchema = JSON.stringify(
  z.toJSONSchema(AllocationSchema, { io: 'input', unrepresentable: 'any' }),
);

test('without dist/ the CLI runs the sources through tsx', async () => {
  // A checkout with no build at all: bin/ copied, everything else linked to this repository.
  const root = mkdtempSync(join(tmpdir(), 'hetserve-nodist-'));
  try {
    mkdirSync(join(root, 'bin'));
    for (const f of ['hetserve.js', 'fresh-build.js', 'package.json'])
      copyFileSync(join(rootPath, 'bin', f), join(root, 'bin', f));
    copyFileSync(join(rootPath, 'package.json'), join(root, 'package.json'));
    for (const d of ['src', 'data', 'node_modules']) symlinkSync(join(rootPath, d), join(root, d), 'dir');
    const bin = join(root, 'bin', 'hetserve.js');

    const version = await run(bin, ['--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stderr, /running src\/ \(tsx\)/);
    const pkg = JSON.parse(readFileSync(join(rootPath, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), pkg.version);

    const schema = await run(bin, ['schema', 'allocation']);
    assert.equal(schema.code, 0, schema.stderr);
    assert.equal(JSON.stringify(JSON.parse(schema.stdout)), allocationJsonSchema);

    // Bad input still gets the coded error and exit 2, not a loader stack trace.
    const bad = await run(bin, ['allocate', '--model', 'nosuchmodel']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /E_UNKNOWN_MODEL/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the default start and the forced fallback give the same allocation', async () => {
  // top1 with the LP: both start paths load the planner and the LP solver; the verified rule's
  // simulation (the default) has its own start-path test below and would only add seconds here.
  const args = [
    'allocate',
    '--model',
    'rm2',
    '--budget',
    '2.5',
    '--qos',
    '350',
    '--select',
    'top1',
    '--json',
  ];
  const before = buildIsFresh(ROOT);
  const [dflt, fallback] = await Promise.all([run(BIN, args), run(BIN, args, FROM_SOURCE)]);
  const after = buildIsFresh(ROOT);
  assert.equal(dflt.code, 0, dflt.stderr);
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.match(fallback.stderr, /running src\/ \(tsx\)/);
  // The build's state decides the path. Someone editing src/ during the run can flip it; then
  // either path is right, but one of the two is always reported.
  const expected =
    before === after
      ? before
        ? /running dist\/ \(compiled\)/
        : /running src\/ \(tsx\)/
      : /running (dist\/ \(compiled\)|src\/ \(tsx\))/;
  assert.match(dflt.stderr, expected);
  const a = AllocationSchema.parse(JSON.parse(dflt.stdout));
  const b = AllocationSchema.parse(JSON.parse(fallback.stdout));
  assert.deepEqual(a, b);
  assert.ok(a.chosen.lpBoundQps !== undefined, 'the LP estimate is on by default');
});

test('plan: the command bundle, the compiled modules and the sources print the same plan', async () => {
  const args = ['plan', '--model', 'VGG19', '--apps', 'data/examples/readme-apps.json', '--json'];
  const before = buildIsFresh(ROOT);
  const [bundle, modules, source] = await Promise.all([
    run(BIN, args),
    run(BIN, args, { HETSERVE_NO_BUNDLE: '1' }),
    run(BIN, args, FROM_SOURCE),
  ]);
  const after = buildIsFresh(ROOT);
  for (const r of [bundle, modules, source]) assert.equal(r.code, 0, r.stderr);
  if (before && after) {
    // `npm ci` builds dist/ with the bundles and their code caches (scripts/bundle-commands.mjs).
    assert.match(bundle.stderr, /bundle dist\/cli\/bundles\/plan\.cjs, code cache used/);
    assert.doesNotMatch(modules.stderr, /bundle dist/);
  }
  // planningMs is a wall-clock measurement: everything else must be identical.
  const strip = (out: string) => ({ ...(JSON.parse(out) as object), planningMs: 0 });
  assert.deepEqual(strip(bundle.stdout), strip(source.stdout));
  assert.deepEqual(strip(modules.stdout), strip(source.stdout));
  // A bad input is reported the same way from the bundle: coded error, exit 2, no stack.
  const bad = await run(BIN, ['plan', '--model', 'VGG19', '--app', 'a:fast:1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /E_APP_INVALID/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});

test('the simulation oracle starts its worker threads from the build and from the sources alike', async () => {
  // Its workers load the compiled worker module next to dist/simulate/oracle.js, or register tsx first.
  const args = ['allocate', '--model', 'rm2', '--budget', '2.5', '--qos', '350', '--json', '--no-lp'];
  const oracle = ['--oracle', 'kairos', '--oracle-candidates', '3', '--oracle-queries', '500'];
  const [dflt, fallback] = await Promise.all([
    run(BIN, [...args, ...oracle]),
    run(BIN, [...args, ...oracle], FROM_SOURCE),
  ]);
  assert.equal(dflt.code, 0, dflt.stderr);
  assert.equal(fallback.code, 0, fallback.stderr);
  const a = JSON.parse(dflt.stdout) as { oracle?: { ranked: unknown[] } };
  AllocationSchema.parse(a);
  assert.equal(a.oracle?.ranked.length, 3, 'three configurations simulated');
  assert.deepEqual(a, JSON.parse(fallback.stdout));
});

test('buildIsFresh: fresh exactly when nothing under src/ is newer than the build', () => {
  const root = mkdtempSync(join(tmpdir(), 'hetserve-fresh-'));
  const url = pathToFileURL(`${root}/`);
  const t0 = Math.floor(Date.now() / 1000) - 3600; // whole seconds (exact mtimes), an hour ago
  const paths = ['src', 'src/a.ts', 'src/sub', 'src/sub/b.ts', 'src/sub/deep', 'src/sub/deep/c.mjs'];
  const setTimes = (offsets: number[]): void => {
    // Children first: writing a file does not touch its directory's mtime, but be safe anyway.
    paths
      .map((p, i) => [p, offsets[i]] as const)
      .reverse()
      .forEach(([p, dt]) => utimesSync(join(root, p), t0 + dt, t0 + dt));
  };
  const stamp = (asOfSeconds: number | string): void =>
    writeFileSync(join(root, 'dist', 'build-stamp.json'), JSON.stringify({ sourcesAsOf: asOfSeconds }));
  try {
    mkdirSync(join(root, 'src', 'sub', 'deep'), { recursive: true });
    mkdirSync(join(root, 'dist'));
    for (const p of paths) if (p.includes('.')) writeFileSync(join(root, p), '//\n');
    assert.equal(buildIsFresh(url), false, 'no stamp: not fresh');

    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: paths.length, maxLength: paths.length }),
        fc.integer({ min: 0, max: 100 }),
        (offsets, asOf) => {
          setTimes(offsets);
          stamp((t0 + asOf) * 1000);
          return buildIsFresh(url) === Math.max(...offsets) <= asOf;
        },
      ),
      { numRuns: 60 },
    );

    setTimes(paths.map(() => 0));
    stamp((t0 + 10) * 1000);
    assert.equal(buildIsFresh(url), true);
    unlinkSync(join(root, 'src/sub/deep/c.mjs')); // a deleted source touches its directory
    assert.equal(buildIsFresh(url), false);
    writeFileSync(join(root, 'src/sub/deep/c.mjs'), '//\n');
    setTimes(paths.map(() => 0));
    stamp('yesterday');
    assert.equal(buildIsFresh(url), false, 'a malformed stamp is not fresh');
    stamp((t0 + 10) * 1000);
    rmSync(join(root, 'src'), { recursive: true });
    assert.equal(buildIsFresh(url), false, 'no sources: not fresh');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
