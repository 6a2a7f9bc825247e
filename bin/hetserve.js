#!/usr/bin/env node
// Starts the CLI from the compiled build (dist/, made by `npm run build`, which `npm ci` runs
// through `prepare`) when no file under src/ is newer than that build; otherwise from the
// TypeScript sources through tsx's loader, so an edited checkout never runs stale code.
// HETSERVE_FROM_SOURCE=1 forces the sources.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);

function buildIsFresh() {
  if (process.env.HETSERVE_FROM_SOURCE === '1') return false;
  let asOf;
  try {
    asOf = JSON.parse(readFileSync(new URL('dist/build-stamp.json', root), 'utf8')).sourcesAsOf;
  } catch {
    return false;
  }
  if (typeof asOf !== 'number') return false;
  // A directory's mtime changes when an entry is added, removed or renamed, so this also notices
  // deleted and new files (commands are discovered by listing a directory).
  const newer = (dir) => {
    if (statSync(dir).mtimeMs > asOf) return true;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory() ? newer(p) : statSync(p).mtimeMs > asOf) return true;
    }
    return false;
  };
  return !newer(fileURLToPath(new URL('src', root)));
}

if (buildIsFresh()) {
  const { main } = await import('../dist/cli/main.js');
  await main();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  await main();
}
