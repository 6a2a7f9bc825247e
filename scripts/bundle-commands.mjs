// One file per CLI command whose cold start matters (`hetserve plan`, `hetserve allocate`): the
// command, commander and every module its action imports, bundled by esbuild into
// dist/cli/bundles/<command>.cjs, plus a V8 code cache of it (<command>.cjs.cache) made by one
// representative run. Loading one pre-compiled file instead of ~150 ES modules is what brings the
// start close to a bare `node -e 0` (bench/plan.ts and bench/allocate.ts measure both).
// bin/run-bundle.js loads them; a missing bundle or a rejected cache only costs speed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** The bundled commands and the run that fills each one's code cache (output discarded). */
export const BUNDLED_COMMANDS = {
  plan: ['plan', '--model', 'VGG19', '--apps', 'data/examples/readme-apps.json'],
  allocate: ['allocate', '--model', 'rm2'],
};
/** Loaded at run time from node_modules: native or WebAssembly files found relative to the package. */
const EXTERNAL = ['onnxruntime-node', '@resvg/resvg-js'];

/** `import(spec)` for a CommonJS package, as a require: { default: module.exports, ...its keys }. */
const requireAsImport = (spec) =>
  `Promise.resolve().then(() => { const m = require(${JSON.stringify(spec)}); return { ...m, default: m }; })`;

const bundleDir = (distDir) => join(distDir, 'cli', 'bundles');

/** Write <distDir>/cli/bundles/<command>.cjs for each bundled command. */
export async function bundleCommands(root, distDir) {
  const { build } = await import('esbuild');
  const srcDir = join(root, 'src');
  const outDir = bundleDir(distDir);
  try {
    for (const command of Object.keys(BUNDLED_COMMANDS)) {
      await build({
        stdin: {
          contents:
            `import 'hetserve:zod-jitless';\n` +
            `import { createProgram, runProgram } from './program.ts';\n` +
            `import { register } from './commands/${command}.ts';\n` +
            `export function run(argv) { const p = createProgram(); register(p); return runProgram(p, argv); }\n`,
          resolveDir: join(srcDir, 'cli'),
          sourcefile: `bundle-${command}.ts`,
          loader: 'ts',
        },
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        outfile: join(outDir, `${command}.cjs`),
        external: EXTERNAL,
        logLevel: 'error',
        // Only in the (unreachable) from-source branch of src/simulate/oracle.ts.
        define: { 'import.meta.resolve': '__hetserveImportMetaResolve' },
        banner: {
          js: "const __hetserveImportMetaResolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;",
        },
        plugins: [sourceRewrites(srcDir, distDir, outDir), zodJitless, lazyChildProcessForCommander],
      });
      asciiOnly(join(outDir, `${command}.cjs`));
    }
  } catch (e) {
    rmSync(outDir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Escape the non-ASCII characters esbuild leaves in a bundle: only comments hold any (its default
 * `charset: 'ascii'` escapes them in code). An ASCII file is read and held as a one-byte string;
 * one such comment character made reading the allocate bundle take ~5 ms longer at every start.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  if (ascii !== text) writeFileSync(file, ascii);
}

/**
 * Imported first by each bundle: zod then validates without compiling a `new Function` per object
 * schema, a one-off cost a short-lived process never earns back and V8's code cache cannot hold.
 * Validation results are the same.
 */
const zodJitless = {
  name: 'hetserve-zod-jitless',
  setup(b) {
    b.onResolve({ filter: /^hetserve:zod-jitless$/ }, (args) => ({ path: args.path, namespace: 'hetserve' }));
    b.onLoad({ filter: /^hetserve:zod-jitless$/, namespace: 'hetserve' }, () => ({
      contents: "import { config } from 'zod/v4';\nconfig({ jitless: true });\n",
      loader: 'js',
      resolveDir: process.cwd(),
    }));
  },
};

/**
 * commander loads node:child_process (and with it net, dgram and the streams) at start-up for
 * executable subcommands, which hetserve has none of: in a bundle it gets a stand-in that loads
 * the module on first use.
 */
const lazyChildProcessForCommander = {
  name: 'hetserve-lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[/\\]node_modules[/\\]commander[/\\]/.test(args.importer)
        ? { path: 'lazy-child-process', namespace: 'hetserve' }
        : undefined,
    );
    b.onLoad({ filter: /^lazy-child-process$/, namespace: 'hetserve' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });\n",
      loader: 'js',
    }));
  },
};

/**
 * Two rewrites of each source file as it enters a bundle:
 * - `import.meta.url` becomes the URL of the file's compiled twin in dist/ (data files, worker
 *   scripts and `.js`-means-compiled checks resolve exactly as they do from dist/);
 * - `import('<external package>')` becomes a `require` wrapped as a module namespace: a vm.Script
 *   (how bin/run-bundle.js runs a bundle with its code cache) has no dynamic-import hook that
 *   survives the cache on Node 20;
 * - `import { z } from 'zod'` becomes a namespace import of zod's classic API, which esbuild can
 *   tree-shake (the named `z` namespace pulls in every locale: twice the bundle size).
 */
function sourceRewrites(srcDir, distDir, outDir) {
  return {
    name: 'hetserve-source-rewrites',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.startsWith(srcDir + sep)) return undefined;
        const twin = join(distDir, relative(srcDir, args.path)).replace(/\.ts$/, '.js');
        const rel = relative(outDir, twin).split(sep).join('/');
        const url = `(require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(rel)})).href)`;
        const contents = readFileSync(args.path, 'utf8')
          .replace(/\bimport\.meta\.url\b/g, url)
          .replace(/\bimport\((['"])([^'"]+)\1\)/g, (call, _q, spec) =>
            EXTERNAL.includes(spec) ? requireAsImport(spec) : call,
          )
          .replace(/^import \{ z \} from 'zod';$/m, "import * as z from 'zod/v4';");
        return { contents, loader: 'ts' };
      });
    },
  };
}

/**
 * Run each bundled command once through bin/hetserve.js with HETSERVE_WRITE_CODE_CACHE=1, which
 * makes bin/run-bundle.js save V8's code cache of the bundle at exit. Failures are reported and
 * ignored: the bundle then compiles from source at each start.
 */
export function writeCodeCaches(root) {
  const bin = join(root, 'bin', 'hetserve.js');
  for (const [command, args] of Object.entries(BUNDLED_COMMANDS)) {
    if (!existsSync(join(bundleDir(join(root, 'dist')), `${command}.cjs`))) continue;
    const r = spawnSync(process.execPath, [bin, ...args], {
      cwd: root,
      env: { ...process.env, HETSERVE_WRITE_CODE_CACHE: '1', HETSERVE_FROM_SOURCE: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (r.status !== 0) {
      console.error(
        `hetserve build: no code cache for ${command} (exit ${r.status}): ${String(r.stderr).trim()}`,
      );
    }
  }
}
