'use strict';
// Runs a command from its bundle, dist/cli/bundles/<command>.cjs (made by scripts/build.mjs), with
// V8's code cache of it when there is one: one file compiled ahead of time instead of ~150 ES
// modules resolved and compiled at every start. Kept apart from hetserve.js so that the rule can
// be tested on its own.
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const { fileURLToPath } = require('node:url');
const { Script } = require('node:vm');

/**
 * Run `argv` (process.argv layout) with the bundle of `command` under <root>/dist, if one exists.
 * Resolves to false, having run nothing, when there is no such bundle.
 * HETSERVE_WRITE_CODE_CACHE=1 saves the code cache at exit (the build does this once).
 */
async function runBundle(root, command, argv, debug = false) {
  if (typeof command !== 'string' || !/^[a-z][a-z-]*$/.test(command)) return false;
  const file = fileURLToPath(new URL(`dist/cli/bundles/${command}.cjs`, root));
  let source;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const cacheFile = `${file}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // The CommonJS module wrapper; the bundle has no dynamic import() (scripts/bundle-commands.mjs).
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  if (debug) {
    const cache = cachedData ? (script.cachedDataRejected ? 'rejected' : 'used') : 'absent';
    process.stderr.write(`hetserve: bundle dist/cli/bundles/${command}.cjs, code cache ${cache}\n`);
  }
  if (process.env.HETSERVE_WRITE_CODE_CACHE === '1') {
    // At exit the cache holds every function this run compiled, not only the top level.
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    });
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  await module.exports.run(argv);
  return true;
}

module.exports = { runBundle };
