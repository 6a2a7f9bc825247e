// The unit suite twice at once, as on a loaded CI machine: both runs must pass.
// Usage: node scripts/stress.mjs [runs=2] [filter-substring]
// Each run's output is kept apart and printed whole only when that run fails (interleaved
// output of two runs could not be read); a passing run prints its summary lines.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 2);
const filter = process.argv[3] ?? '';
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`runs: give a positive integer (got ${JSON.stringify(process.argv[2])})`);
  process.exit(2);
}
const runner = fileURLToPath(new URL('./run-tests.mjs', import.meta.url));
const t0 = performance.now();
const results = await Promise.all(
  Array.from(
    { length: runs },
    (_, i) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [runner, '--timeout=1200', 'test', filter], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('close', (code) => resolve({ run: i + 1, code, out }));
      }),
  ),
);
let failed = 0;
for (const r of results) {
  const summary = r.out.split('\n').filter((l) => /^ℹ (tests|pass|fail|cancelled|duration_ms)/.test(l));
  console.log(`run ${r.run}: exit ${r.code}\n  ${summary.join('\n  ')}`);
  if (r.code !== 0) {
    failed++;
    console.log(`----- run ${r.run} output -----\n${r.out}\n----- end of run ${r.run} -----`);
  }
}
console.log(`${runs} concurrent runs in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
