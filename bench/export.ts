/**
 * Exporter speed: median wall time of exportDocument per target (validation included) on plans
 * of 12 and 100 groups and on an allocation, plus the cold start of `hetserve export` next to
 * `hetserve schema plan` (the CLI's floor), measured side by side in one run.
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { EXPORTERS, exportDocument } from '../src/export/index.ts';
import { fixture, manyGroupPlan } from '../test/helpers/export.ts';
import { figure, finish, median } from './lib.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const docs: [string, unknown][] = [
  ['plan12', manyGroupPlan(12)],
  ['plan100', manyGroupPlan(100)],
  ['alloc', fixture('alloc.json')],
];

function timeIt(fn: () => void, reps: number): number {
  fn(); // warm-up: first call loads the schema validators
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

for (const [name, doc] of docs) {
  const kind = (doc as { kind: string }).kind === 'serverless-plan' ? 'plan' : 'allocation';
  for (const e of Object.values(EXPORTERS)) {
    if (e.accepts !== 'both' && e.accepts !== kind) continue;
    const ms = timeIt(() => {
      try {
        exportDocument(doc, e.target);
      } catch {
        // a whole-document refusal is still a measured export
      }
    }, 20);
    console.log(`${e.target.padEnd(8)} ${name.padEnd(8)} ${ms.toFixed(2)} ms`);
    figure('export', `${e.target}_${name}_ms`, Number(ms.toFixed(3)), 'ms');
  }
}

function cli(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/hetserve.js', ...args], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hetserve ${args.join(' ')} failed: ${r.stderr}`);
  return performance.now() - t0;
}
const exportRuns: number[] = [];
const schemaRuns: number[] = [];
for (let i = 0; i < 5; i++) {
  // Interleaved so that machine load hits both alike.
  schemaRuns.push(cli(['schema', 'plan']));
  exportRuns.push(
    cli([
      'export',
      'test/fixtures/export/alloc.json',
      '--target',
      'keda',
      '--out',
      '/tmp/hetserve-bench-export',
    ]),
  );
}
const exp = median(exportRuns);
const floor = median(schemaRuns);
console.log(
  `cold start: export keda ${exp.toFixed(0)} ms, schema plan ${floor.toFixed(0)} ms, ratio ${(exp / floor).toFixed(2)}`,
);
figure('export', 'cli_export_keda_cold_ms', Math.round(exp), 'ms');
figure('export', 'cli_schema_plan_cold_ms', Math.round(floor), 'ms');
figure('export', 'cli_export_over_schema_ratio', Number((exp / floor).toFixed(2)), 'x');
finish();
