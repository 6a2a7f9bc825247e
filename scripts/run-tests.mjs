// Node 20's test runner takes no glob patterns, so collect the files here and hand them over.
// Usage: node scripts/run-tests.mjs <dir> [filter-substring]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const [dir = 'test', filter = ''] = process.argv.slice(2);
const files = readdirSync(dir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts') && f.includes(filter))
  .map((f) => join(dir, f))
  .sort();
if (files.length === 0) {
  console.error(`no test files under ${dir} matching '${filter}'`);
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
