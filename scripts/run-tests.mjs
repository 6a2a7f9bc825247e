// Node 20's test runner takes no glob patterns, so collect the files here and hand them over.
// Usage: node scripts/run-tests.mjs [--timeout=<s>] <dir> [filter-substring]
//   --timeout  a bound on the whole run: past it every process of the run is killed and the
//              exit status is 124 (a hung browser or server must not hold CI until its own limit).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const opt = args.find((a) => a.startsWith('--timeout='));
const timeoutS = opt ? Number(opt.slice('--timeout='.length)) : 0;
if (opt && !(timeoutS > 0)) {
  console.error(`--timeout: give a positive number of seconds (got ${JSON.stringify(opt)})`);
  process.exit(2);
}
const [dir = 'test', filter = ''] = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(dir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts') && f.includes(filter))
  .map((f) => join(dir, f))
  .sort();
if (files.length === 0) {
  console.error(`no test files under ${dir} matching '${filter}'`);
  process.exit(1);
}
// --test-force-exit: a file whose test left a handle open (a server, a timer) still ends.
// Its own process group, so a timeout can end the runner and every test process it started.
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=2',
    '--test-force-exit',
    ...files,
  ],
  { stdio: 'inherit', detached: true },
);
let timedOut = false;
const timer =
  timeoutS > 0
    ? setTimeout(() => {
        timedOut = true;
        console.error(`\nrun-tests: ${dir} still running after ${timeoutS} s; killing it`);
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, timeoutS * 1000)
    : undefined;
const forward = (sig) => () => {
  try {
    process.kill(-child.pid, sig);
  } catch {
    // already gone
  }
};
process.on('SIGINT', forward('SIGINT'));
process.on('SIGTERM', forward('SIGTERM'));
child.on('exit', (code, signal) => {
  if (timer) clearTimeout(timer);
  process.exit(timedOut ? 124 : (code ?? (signal ? 1 : 0)));
});
