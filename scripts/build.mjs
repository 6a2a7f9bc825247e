// Compiles src/ to dist/ for a fast CLI start (bin/hetserve.js runs dist/ when it is up to date).
// Runs on `npm ci` / `npm install` through the `prepare` script, and as `npm run build`.
// Emit only (`noCheck`): type checking is `npm run typecheck`'s job, so the build takes seconds.
// It emits declarations too (the package's `exports` point at dist/ with types).
// Without the `typescript` package (an install without dev dependencies) it skips: bin/ then
// runs the sources through tsx.
// Then the commands whose cold start matters most are bundled, one file each, with a V8 code
// cache (scripts/bundle-commands.mjs; bin/run-bundle.js loads them).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleCommands, writeCodeCaches } from './bundle-commands.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
// Staged where no linter or formatter looks, then swapped in whole.
const staging = `${root}node_modules/.cache/hetserve-dist-${process.pid}`;

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error('hetserve build: typescript is not installed; skipped (the CLI runs the sources via tsx)');
  process.exit(0);
}

// Sources changed after this instant make the build stale (bin/hetserve.js compares mtimes with it).
const sourcesAsOf = Date.now();
rmSync(staging, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`, '--outDir', staging], {
  stdio: 'inherit',
});
if (r.status !== 0) {
  rmSync(staging, { recursive: true, force: true });
  console.error('hetserve build: tsc failed');
  process.exit(r.status ?? 1);
}
mkdirSync(staging, { recursive: true });
// tsc rewrites './x.ts' to './x.js' in the JS it emits but not in declarations; a consumer without
// allowImportingTsExtensions needs the .js form there too.
for (const f of readdirSync(staging, { recursive: true }).map(String)) {
  if (!/\.d\.m?ts$/.test(f)) continue;
  const p = `${staging}/${f}`;
  const text = readFileSync(p, 'utf8');
  const fixed = text.replace(/((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.(m?)ts(['"])/g, '$1.$2js$3');
  if (fixed !== text) writeFileSync(p, fixed);
}
try {
  await bundleCommands(root, staging);
} catch (e) {
  // The bundles only speed the start up: without them bin/ runs the compiled modules.
  console.error(`hetserve build: command bundles skipped (${e.message})`);
}
writeFileSync(`${staging}/build-stamp.json`, `${JSON.stringify({ sourcesAsOf })}\n`);
// A CLI started meanwhile sees the old dist/ or none (then it runs the sources), never half of one.
// Renames only (atomic), retried: a concurrent build (two `npm install`s) may put its dist/ in
// place between our two renames.
for (let attempt = 1; ; attempt++) {
  const old = `${staging}-old${attempt}`;
  try {
    renameSync(dist, old);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  rmSync(old, { recursive: true, force: true });
  try {
    renameSync(staging, dist);
    break;
  } catch (e) {
    if (attempt >= 5) throw e;
  }
}
// After the swap (the tables resolve data/ relative to dist/), before the code caches (whose
// allocate run then reads them): binary copies of the bundled Kairos latency tables.
try {
  const { LatencyTable } = await import(`${pathToFileURL(dist).href}/predict/latency-table.js`);
  LatencyTable.writeBundledCaches();
} catch (e) {
  // They only speed the start up: without them the gzip JSON is read.
  console.error(`hetserve build: latency table caches skipped (${e.message})`);
}
// After the swap: the bundles resolve data files relative to dist/.
writeCodeCaches(root);
