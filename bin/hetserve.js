#!/usr/bin/env node
'use strict';
// Starts the CLI from the compiled build (dist/, made by `npm run build`, which `npm ci` runs
// through `prepare`) when it is up to date with src/ (see fresh-build.js): from the command's
// bundle when the build made one (see run-bundle.js), else from the compiled modules; otherwise
// from the TypeScript sources through tsx's loader, so an edited checkout never runs stale code.
// HETSERVE_FROM_SOURCE=1 forces the sources, HETSERVE_NO_BUNDLE=1 the compiled modules;
// HETSERVE_DEBUG_START=1 says on stderr which ran. CommonJS (bin/package.json): an ES-module
// entry point costs every start Node's ES module loader, which a bundled command never needs.
const { pathToFileURL } = require('node:url');
const { buildIsFresh } = require('./fresh-build.js');

const root = pathToFileURL(`${__dirname}/../`);
const compiled = process.env.HETSERVE_FROM_SOURCE !== '1' && buildIsFresh(root);
const debug = process.env.HETSERVE_DEBUG_START === '1';
if (debug) {
  process.stderr.write(`hetserve: running ${compiled ? 'dist/ (compiled)' : 'src/ (tsx)'}\n`);
}

async function start() {
  if (compiled) {
    const bundled =
      process.env.HETSERVE_NO_BUNDLE !== '1' &&
      (await require('./run-bundle.js').runBundle(root, process.argv[2], process.argv, debug));
    if (!bundled) {
      const { main } = await import('../dist/cli/main.js');
      await main();
    }
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    const { main } = await import('../src/cli/main.ts');
    await main();
  }
}

start();
