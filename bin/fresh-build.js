'use strict';
// Whether the compiled build in <root>/dist is up to date with <root>/src. Kept apart from
// hetserve.js so that tests can check the rule on a scratch directory. CommonJS (bin/package.json):
// an ES-module entry point costs every start Node's ES module loader.
const { readFileSync, readdirSync, statSync } = require('node:fs');
const { sep } = require('node:path');
const { fileURLToPath } = require('node:url');

/**
 * True when dist/build-stamp.json exists (scripts/build.mjs writes it last) and no file or
 * directory under src/ was modified after the instant the build read the sources. A directory's
 * mtime changes when an entry is added, removed or renamed, so new and deleted files count too
 * (commands are discovered by listing a directory). Costs one stat per source file (~2 ms).
 */
function buildIsFresh(root) {
  const dir = (p) => fileURLToPath(new URL(p, root));
  let asOf;
  try {
    asOf = JSON.parse(readFileSync(dir('dist/build-stamp.json'), 'utf8')).sourcesAsOf;
  } catch {
    return false;
  }
  if (typeof asOf !== 'number') return false;
  // An installed package (npm unpacks it under node_modules/, directories dated at unpacking) is
  // never edited in place: its dist/ is the build it was published with.
  if (fileURLToPath(root).split(/[\\/]/).includes('node_modules')) return true;
  // Paths joined by hand: path.join's normalisation was a third of this walk.
  const newer = (path) => {
    if (statSync(path).mtimeMs > asOf) return true;
    for (const e of readdirSync(path, { withFileTypes: true })) {
      const p = path + sep + e.name;
      if (e.isDirectory() ? newer(p) : statSync(p).mtimeMs > asOf) return true;
    }
    return false;
  };
  try {
    return !newer(dir('src'));
  } catch {
    return false;
  }
}

module.exports = { buildIsFresh };
