/**
 * Cluster planner benchmarks (issue 4):
 * 1. ranking the 12,096-tuple Kairos grid (upper bound of every configuration, sorted), warm,
 *    in-process: budget-pruned enumeration and a blind loop over the whole product (the prototype's
 *    procedure);
 * 2. an 8-type pool whose budget admits ≥ 10⁶ configurations: top-10 with bounded memory;
 * 3. the LP estimate of one configuration (warm), beside HiGHS on the same LP;
 * 4. `allocate()` in-process; a cold `hetserve allocate` process (median and p90 of
 *    BENCH_COLD_RUNS = 10 runs): from the command's bundle, the compiled modules and the sources,
 *    with and without the LP, beside a bare `node -e 0` (the floor; target ≤ 1.5 × for the
 *    bundle), interleaved run by run. Every ratio printed is against a figure of the same run.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { figure, finish, median, percentile } from './lib.ts';
import { buildIsFresh } from '../bin/fresh-build.js';
import { compileBound } from '../src/plan/cluster/bound.ts';
import { rankConfigurations, type EnumerationPool } from '../src/plan/cluster/enumerate.ts';
import { LatencyTable } from '../src/predict/latency-table.ts';
import { createLpEstimator, lpData } from '../src/plan/cluster/lp.ts';
import { computeProfileQuantities, prototypeProfileQuantities } from '../src/plan/cluster/quantities.ts';
import { deepRecSysSizes } from '../src/workload/query-sizes.ts';
import { allocate, ec2Prices } from '../src/plan/cluster/allocate.ts';

const B = 'allocate';
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`# load average (1, 5, 15 min) at start: ${load()}`);
const TYPES = ['g4dn.xlarge', 'c5n.2xlarge', 'r5n.large', 't3.xlarge'];
const POOL: EnumerationPool = {
  types: TYPES,
  prices: [0.526, 0.432, 0.149, 0.1664],
  maxCounts: [5, 6, 17, 15],
  baseIndex: 0,
};

function timeIt(fn: () => void, minMs = 300, minRuns = 20, warmRuns = 5): number {
  for (let i = 0; i < warmRuns; i++) fn(); // warm-up (JIT)
  const xs: number[] = [];
  const start = performance.now();
  while (xs.length < minRuns || performance.now() - start < minMs) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  return median(xs);
}

// 1. The evaluation grid, prototype quantities (compat mode).
const bound = compileBound(prototypeProfileQuantities('rm2', TYPES[0], TYPES.slice(1)), TYPES, 'max');
let feasible = 0;
const pruned = timeIt(() => {
  feasible = rankConfigurations(POOL, { budget: 2.5, score: (c) => bound(c) }).scored;
});
const blind = timeIt(() => {
  // Every tuple of the product, as the prototype does: cost test, bound, then a stable sort.
  const out: { c: number[]; ub: number; i: number }[] = [];
  const c = new Int32Array(4);
  let i = 0;
  for (c[0] = 0; c[0] <= 5; c[0]++)
    for (c[1] = 0; c[1] <= 6; c[1]++)
      for (c[2] = 0; c[2] <= 17; c[2]++)
        for (c[3] = 0; c[3] <= 15; c[3]++, i++) {
          const cost = 0.526 * c[0] + 0.432 * c[1] + 0.149 * c[2] + 0.1664 * c[3];
          if (cost <= 2.5 && c[0] >= 1) out.push({ c: Array.from(c), ub: bound(c), i });
        }
  out.sort((a, b) => b.ub - a.ub || a.i - b.i);
});
console.log(
  `12,096-tuple grid (${feasible} feasible): pruned ${pruned.toFixed(3)} ms, blind ${blind.toFixed(3)} ms (warm median)`,
);
figure(B, 'rank_grid_12096_pruned_ms', pruned, 'ms');
figure(B, 'rank_grid_12096_blind_ms', blind, 'ms');

// 2. Eight types: base g4dn plus seven CPU types whose latencies are rm2's c5n/r5n/t3 rows scaled
// (a synthetic but realistic pool; prices from aws-ec2-prices.csv).
const rm2 = LatencyTable.bundled('rm2');
const prices = ec2Prices();
const synth: [string, string, number][] = [
  ['g4dn.xlarge', 'g4dn.xlarge', 1],
  ['c5n.2xlarge', 'c5n.2xlarge', 1],
  ['c5.2xlarge', 'c5n.2xlarge', 1.04],
  ['c5a.2xlarge', 'c5n.2xlarge', 1.12],
  ['r5n.large', 'r5n.large', 1],
  ['r5.large', 'r5n.large', 1.03],
  ['r5a.large', 'r5n.large', 1.1],
  ['t3.xlarge', 't3.xlarge', 1],
];
const table8 = LatencyTable.fromProfile({
  model: 'rm2-8types',
  unit: 'ms',
  batchSizes: [...rm2.batchSizes],
  instances: Object.fromEntries(
    synth.map(([name, from, f]) => [
      name,
      { totalMs: rm2.batchSizes.map((b) => Array.from(rm2.samplesMs(from, b), (x) => x * f)) },
    ]),
  ),
});
const types8 = synth.map(([n]) => n);
const q8 = computeProfileQuantities(table8, deepRecSysSizes(), types8[0], types8.slice(1), { qosMs: 350 });
const bound8 = compileBound(q8, types8, 'per-type');
const budget8 = 4.5;
const pool8: EnumerationPool = {
  types: types8,
  prices: types8.map((t) => prices.get(t)!),
  maxCounts: types8.map((t) => Math.floor(budget8 / prices.get(t)!)),
  baseIndex: 0,
};
for (const dominance of ['keep', 'prune'] as const) {
  // Peak heap growth, sampled every 65,536 scored configurations (garbage included).
  const heap0 = process.memoryUsage().heapUsed;
  let peak = heap0;
  let calls = 0;
  const t = performance.now();
  const r = rankConfigurations(pool8, {
    budget: budget8,
    score: (c) => {
      if ((++calls & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
      return bound8(c);
    },
    top: 10,
    dominance,
  });
  const ms = performance.now() - t;
  const heapMb = (peak - heap0) / 2 ** 20;
  console.log(
    `8 types, budget ${budget8}: ${r.scored.toLocaleString('en-US')} configurations scored (${dominance}), ` +
      `product ${r.productSize.toLocaleString('en-US')}, top-10 in ${ms.toFixed(0)} ms, peak heap +${heapMb.toFixed(1)} MiB; ` +
      `best ${r.ranked[0].counts.join(',')} ${r.ranked[0].score.toFixed(1)} QPS`,
  );
  figure(B, `rank_8types_${dominance}_configs`, r.scored, 'configs');
  figure(B, `rank_8types_${dominance}_ms`, ms, 'ms');
  figure(B, `rank_8types_${dominance}_peak_heap_growth_mib`, heapMb, 'MiB');
}

// 3. LP estimate of one configuration: the planner's (cutting planes, yalps) beside HiGHS solving
// the whole LP (the test oracle, a dev dependency), warm.
const { highsLpQps, loadHighs } = await import('../test/plan/cluster/helpers.ts');
const highs = await loadHighs();
const q4 = computeProfileQuantities(rm2, deepRecSysSizes(), TYPES[0], TYPES.slice(1), { qosMs: 350 });
const data = lpData(rm2, deepRecSysSizes(), TYPES, [rm2.maxSize, ...q4.aux.map((a) => a.limit)]);
const estimator = createLpEstimator(data);
// Alternate between configurations, as a ranking does.
let flip = 0;
const warm = timeIt(() => estimator.estimate([1, 1, 10 - (flip++ % 3), 2 + (flip % 2)]), 500, 20, 150);
// HiGHS' wasm tiers up over its first ~100 solves: warm up past that.
const viaHighs = timeIt(
  () => highsLpQps(highs, data, [1, 1, 10 - (flip++ % 3), 2 + (flip % 2)]),
  500,
  20,
  150,
);
console.log(
  `LP estimate of one configuration (rm2, 4 types, ~300 variables), warm medians: ${warm.toFixed(3)} ms ` +
    `(cutting planes on the dual, yalps), ${viaHighs.toFixed(2)} ms with HiGHS (model built per call)`,
);
figure(B, 'lp_one_config_ms', warm, 'ms');
figure(B, 'lp_one_config_highs_ms', viaHighs, 'ms');

// 4. allocate() in-process and a cold CLI process.
// allocate() is async: each timing awaits the whole call.
async function timeItAsync(
  fn: () => Promise<unknown>,
  minMs = 300,
  minRuns = 5,
  warmRuns = 3,
): Promise<number> {
  for (let i = 0; i < warmRuns; i++) await fn();
  const xs: number[] = [];
  const start = performance.now();
  while (xs.length < minRuns || performance.now() - start < minMs) {
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  return median(xs);
}
const allocMs = await timeItAsync(() => allocate({ model: 'rm2', lp: false }));
console.log(`allocate() rm2 without LP, in-process warm: ${allocMs.toFixed(1)} ms`);
figure(B, 'allocate_inprocess_nolp_ms', allocMs, 'ms');
// Cold CLI: a fresh process per run, spawn to exit. The variants are interleaved so load drifts hit
// them alike. "compiled" is what `npm ci` leaves (bin runs dist/); "sources" is bin's fallback
// (HETSERVE_FROM_SOURCE=1: tsx transpiles src/ on the fly), what a checkout with edited sources runs.
const root = new URL('../', import.meta.url);
const bin = fileURLToPath(new URL('bin/hetserve.js', root));
if (!buildIsFresh(root)) {
  console.log('dist/ is missing or older than src/: npm run build');
  const b = spawnSync(process.execPath, [fileURLToPath(new URL('scripts/build.mjs', root))], {
    stdio: 'inherit',
  });
  if (b.status !== 0) throw new Error('build failed');
}
const runs = Number(process.env.BENCH_COLD_RUNS ?? 10);
const defaultArgs = ['allocate', '--model', 'rm2', '--budget', '2.5', '--qos', '350'];
// The start-up is timed on the upper-bound rule (`--select top1`): the default rule then simulates
// the top five candidates, which is planning work, not start-up; it has its own row.
const allocateArgs = [...defaultArgs, '--select', 'top1'];
const variants = [
  {
    name: 'cold_cli_verified',
    label: 'bundle, default rule (verified)',
    args: [bin, ...defaultArgs],
    env: {},
  },
  { name: 'cold_cli', label: 'bundle, top1, LP on', args: [bin, ...allocateArgs], env: {} },
  { name: 'cold_cli_nolp', label: 'bundle, top1, --no-lp', args: [bin, ...allocateArgs, '--no-lp'], env: {} },
  {
    name: 'cold_cli_modules_nolp',
    label: 'compiled modules, --no-lp',
    args: [bin, ...allocateArgs, '--no-lp'],
    env: { HETSERVE_NO_BUNDLE: '1' },
  },
  {
    name: 'cold_cli_source',
    label: 'sources via tsx, LP on',
    args: [bin, ...allocateArgs],
    env: { HETSERVE_FROM_SOURCE: '1' },
  },
  {
    name: 'cold_cli_source_nolp',
    label: 'sources via tsx, --no-lp',
    args: [bin, ...allocateArgs, '--no-lp'],
    env: { HETSERVE_FROM_SOURCE: '1' },
  },
  { name: 'cold_node_floor', label: 'node -e 0 (process floor)', args: ['-e', '0'], env: {} },
];
const samples = variants.map(() => [] as number[]);
for (let i = 0; i < runs; i++) {
  variants.forEach((v, j) => {
    const t = performance.now();
    const r = spawnSync(process.execPath, v.args, { env: { ...process.env, ...v.env } });
    if (r.status !== 0) throw new Error(`${v.label} failed: ${r.stderr}`);
    samples[j].push(performance.now() - t);
  });
}
console.log(`cold \`hetserve ${allocateArgs.join(' ')}\` (process start included), ${runs} runs each:`);
const floor = median(samples[variants.length - 1]);
variants.forEach((v, j) => {
  const med = median(samples[j]);
  const p90 = percentile(samples[j], 90);
  const target =
    v.name === 'cold_cli_nolp' ? ` (target ≤ 1.5 ×: ${med / floor <= 1.5 ? 'met' : 'NOT met'})` : '';
  console.log(
    `  ${v.label.padEnd(32)} median ${med.toFixed(0).padStart(5)} ms   p90 ${p90.toFixed(0).padStart(5)} ms   ${(med / floor).toFixed(2)} × floor${target}`,
  );
  figure(B, `${v.name}_ms`, med, 'ms');
  figure(B, `${v.name}_p90_ms`, p90, 'ms');
  if (v.name !== 'cold_node_floor') figure(B, `${v.name}_over_node_floor`, med / floor, 'x');
});
console.log(`# load average (1, 5, 15 min) at end: ${load()}`);
finish();
