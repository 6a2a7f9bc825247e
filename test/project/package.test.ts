/**
 * The published package works for a user: `npm pack` (which builds dist/ with declarations through
 * `prepare`, here in a copy of the sources), the tarball unpacked into a scratch project's node_modules as `npm install` would
 * (its dependencies linked from this checkout's node_modules: no network), then every subpath
 * imported from plain Node ESM and type-checked from a TypeScript consumer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsFresh } from '../../bin/fresh-build.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  version: string;
};
const SUBPATHS = Object.keys(pkg.exports)
  .filter((k) => k !== './package.json')
  .map((k) => (k === '.' ? 'hetserve' : `hetserve/${k.slice(2)}`));

/** What each entry point must offer (a sample of what a user reaches for first). */
const EXPECTED: Record<string, string[]> = {
  hetserve: ['HetserveError', 'AppSchema', 'PlanSchema', 'ServeConfigSchema', 'parseWith'],
  'hetserve/predict': ['Predictor', 'bundledProfile', 'LatencyTable'],
  'hetserve/plan': ['plan', 'allocate', 'listPlanners'],
  'hetserve/dispatch': ['createBatchManager', 'createKairosDistributor', 'VirtualTimeSource'],
  'hetserve/workload': ['Rng', 'poissonArrivals', 'deepRecSysSizes'],
  'hetserve/simulate': ['simulateServerless', 'simulateCluster', 'runLoop'],
  'hetserve/experiments': ['reproduceHarmonyBatch', 'reproduceKairos'],
  'hetserve/profile': ['profileOnnx', 'profileHttp', 'buildMlp'],
  'hetserve/serve': ['Gateway', 'runLoad'],
  'hetserve/export': ['exportDocument', 'EXPORTERS'],
};

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

test('npm pack → scratch project: every subpath imports from Node ESM and type-checks from TypeScript', async () => {
  assert.deepEqual(SUBPATHS.sort(), Object.keys(EXPECTED).sort(), 'each exported subpath is checked here');
  const tmp = mkdtempSync(join(tmpdir(), 'hetserve-pack-'));
  try {
    // Packed from a copy of the sources, so that the build `npm pack` runs (`prepare`) makes a
    // fresh dist/ there and never swaps this checkout's dist/ under a test that is using it.
    const src = join(tmp, 'package-src');
    for (const p of [
      'package.json',
      'README.md',
      'tsconfig.json',
      'tsconfig.build.json',
      'bin',
      'src',
      'data',
      'web',
      'scripts',
    ])
      cpSync(join(ROOT, p), join(src, p), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'), 'dir');
    // A fresh build of this checkout is what `prepare` would make again (scripts/build.mjs, the
    // same step `npm ci` has just run): copy it and pack without rebuilding, 10 s of CPU less.
    // A stale or missing one is rebuilt by `npm pack` itself.
    const fresh = buildIsFresh(new URL('../../', import.meta.url));
    if (fresh) cpSync(join(ROOT, 'dist'), join(src, 'dist'), { recursive: true });
    const packArgs = ['pack', '--silent', '--pack-destination', tmp, ...(fresh ? ['--ignore-scripts'] : [])];
    const out = sh('npm', packArgs, src).trim().split('\n').at(-1)!;
    const tarball = join(tmp, out);
    const app = join(tmp, 'consumer');
    const installed = join(app, 'node_modules', 'hetserve');
    mkdirSync(installed, { recursive: true });
    sh('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], tmp);
    // The package's dependencies and the consumer's @types come from this checkout.
    symlinkSync(join(ROOT, 'node_modules'), join(installed, 'node_modules'), 'dir');
    symlinkSync(join(ROOT, 'node_modules', '@types'), join(app, 'node_modules', '@types'), 'dir');
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'consumer', type: 'module', private: true }),
    );

    const files = sh('tar', ['-tzf', tarball], tmp).split('\n');
    assert.ok(files.includes('package/dist/index.d.ts'), 'declarations are packed');
    assert.ok(!files.some((f) => f.startsWith('package/test/')), 'tests are not packed');

    // Plain Node 20 ESM: each subpath resolves to compiled JS; internals stay private.
    writeFileSync(
      join(app, 'check.mjs'),
      `const expected = ${JSON.stringify(EXPECTED)};
const report = {};
for (const [spec, names] of Object.entries(expected)) {
  const m = await import(spec);
  report[spec] = { count: Object.keys(m).length, missing: names.filter((n) => m[n] === undefined) };
}
const { HetserveError } = await import('hetserve');
report.problem = new HetserveError('E_APP_INVALID', 'apps[0].slo: must be > 0 (got -1)', { field: 'apps[0].slo' }).toProblem();
const { plan } = await import('hetserve/plan');
const { bundledProfile } = await import('hetserve/predict');
const p = plan([{ name: 'a', slo: 0.5, rps: 20 }], bundledProfile('VGG19'), { algorithm: 'harmony' });
report.groups = p.groups.length;
try { await import('hetserve/src/index.ts'); report.internal = 'importable'; } catch (e) { report.internal = e.code; }
console.log(JSON.stringify(report));
`,
    );
    const r = spawnSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Record<string, { count: number; missing: string[] }> & {
      problem: { status: number; code: string };
      groups: number;
      internal: string;
    };
    for (const spec of SUBPATHS) assert.deepEqual(report[spec]!.missing, [], `${spec} exports`);
    assert.ok(
      report['hetserve']!.count < 120,
      `the root export stays lean (${report['hetserve']!.count} names)`,
    );
    assert.equal(report.problem.status, 400);
    assert.equal(report.problem.code, 'E_APP_INVALID');
    assert.ok(report.groups >= 1, 'the packaged planner plans with the packaged data');
    assert.equal(report.internal, 'ERR_PACKAGE_PATH_NOT_EXPORTED');

    // The packaged CLI runs from the compiled build.
    const v = spawnSync(process.execPath, [join(installed, 'bin', 'hetserve.js'), '--version'], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, HETSERVE_DEBUG_START: '1' },
    });
    assert.equal(v.stdout.trim(), pkg.version);
    assert.match(v.stderr, /dist\/ \(compiled\)/);

    // A TypeScript consumer type-checks against the shipped .d.ts; a wrong use is a type error.
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['*.ts'],
      }),
    );
    writeFileSync(
      join(app, 'ok.ts'),
      `import { HetserveError, type Plan, type ErrorCode } from 'hetserve';
import { plan } from 'hetserve/plan';
import { bundledProfile } from 'hetserve/predict';
import { VirtualTimeSource, createBatchManager } from 'hetserve/dispatch';
import { Rng } from 'hetserve/workload';
import { simulateServerless } from 'hetserve/simulate';
import { reproduceKairos } from 'hetserve/experiments';
import { Gateway } from 'hetserve/serve';
import { exportDocument } from 'hetserve/export';
import { profileOnnx } from 'hetserve/profile';
const p: Plan = plan([{ name: 'a', slo: 0.5, rps: 20 }], bundledProfile('VGG19'));
const code: ErrorCode = new HetserveError('E_APP_INVALID', 'x').code;
const clock = new VirtualTimeSource();
const t: number = clock.now() + new Rng(1).next();
export const used = [p.groups.length, code, t, createBatchManager, simulateServerless, reproduceKairos, Gateway, exportDocument, profileOnnx];
`,
    );
    writeFileSync(
      join(app, 'bad.ts'),
      `import { HetserveError } from 'hetserve';\nexport const n: number = new HetserveError('E_APP_INVALID', 'x').code;\n`,
    );
    // One type check of both files: ok.ts has no error, bad.ts exactly its wrong use.
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: app, encoding: 'utf8' });
    const errors = checked.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    assert.notEqual(checked.status, 0, 'the declarations carry real types (not any)');
    assert.deepEqual(
      errors.map((l) => /^(\S+?)\(/.exec(l)?.[1]),
      ['bad.ts'],
      `only bad.ts fails to type-check:\n${checked.stdout}${checked.stderr}`,
    );
    assert.match(errors[0]!, /TS2322/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
