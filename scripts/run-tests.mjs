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
// No --test-force-exit: with it, node 20 exits a file's process once its reporter closes, which can
// be before the last events reached the parent (nodejs/node#54327): a stress run lost the last 8
// tests of one file, counted as neither passed nor failed. Test files close what they open; a file
// that does not ends at the run's --timeout (exit 124) instead of silently losing tests.
// Its own process group, so a timeout can end the runner and every test process it started.
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
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
