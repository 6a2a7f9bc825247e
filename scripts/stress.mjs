// The unit suite twice at once, as on a loaded CI machine: both runs must pass.
// Usage: node scripts/stress.mjs [runs=2] [filter-substring]
// Each run's output is kept apart and printed whole only when that run fails (interleaved
// output of two runs could not be read); a passing run prints its summary lines.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
// The tests each run reported, by name (the spec reporter's ✔/✖ lines), so that a run which
// silently ran fewer tests than another fails too: a test that does not run protects nothing.
const ran = (out) => {
  const names = new Map();
  for (const line of out.split('\n')) {
    // The reporter lists failed tests a second time after this line: count each test once.
    if (line.includes('failing tests:')) break;
    const m = /^\s*[✔✖] (.*?)(?: \([\d.]+m?s\))?(?: # .*)?$/.exec(line);
    if (m) names.set(m[1], (names.get(m[1]) ?? 0) + 1);
  }
  return names;
};
const keep = mkdtempSync(join(tmpdir(), 'hetserve-stress-'));
for (const r of results) {
  writeFileSync(join(keep, `run-${r.run}.log`), r.out);
  const summary = r.out.split('\n').filter((l) => /^ℹ (tests|pass|fail|cancelled|duration_ms)/.test(l));
  console.log(`run ${r.run}: exit ${r.code}\n  ${summary.join('\n  ')}`);
  if (r.code !== 0) {
    failed++;
    console.log(`----- run ${r.run} output -----\n${r.out}\n----- end of run ${r.run} -----`);
  }
}
const sets = results.map((r) => ran(r.out));
const union = new Set(sets.flatMap((s) => [...s.keys()]));
for (const [i, s] of sets.entries()) {
  const missing = [...union].filter((n) => (s.get(n) ?? 0) < Math.max(...sets.map((o) => o.get(n) ?? 0)));
  if (missing.length > 0) {
    failed++;
    console.log(
      `run ${i + 1} did not run ${missing.length} test(s) another run ran:\n  ${missing.join('\n  ')}`,
    );
  }
}
console.log(`outputs kept in ${keep}`);
console.log(`${runs} concurrent runs in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
