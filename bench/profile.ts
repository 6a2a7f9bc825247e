/**
 * Profiler benchmark.
 * 1. Sweep the synthetic MLP and CNN with the ONNX runner over batch 1–4 × two vCPU grids,
 *    0.5–2 (two threads above 1 vCPU) and 0.5–1 (one thread): sweep time, a `mape` figure per fit
 *    (in-sample, avg and max per batch size), and the held-out error (fit on 3 vCPU values ×
 *    b {1,2,4}, score the other points; max at p99 and p90).
 * 2. Model bias: how well α·exp(−c/β)+γ can follow an ideal CPU-quota curve L ∝ 1/c over vCPU
 *    ranges of 2× and 4× (no timing noise; this bounds what any profile of this form can reach).
 * 3. Coefficient recovery: points generated from the paper's VGG19 CPU curves (bundled profile)
 *    with 3% multiplicative noise, refitted; MAPE of the refitted curve against the true curve.
 * 4. Fitting speed: time to fit one exponential curve.
 * Usage: npm run bench -- profile   (env PROFILE_BENCH_RUNS=N, default 50 runs per configuration)
 */
import { figure, finish, median } from './lib.ts';
import { buildCnn, buildMlp, type SyntheticModel } from '../src/onnx/synthetic-models.ts';
import { profileOnnx } from '../src/profile/onnx-runner.ts';
import { buildCpuProfile, summaryPoints } from '../src/profile/build.ts';
import { expLatency, fitExponential } from '../src/profile/fit.ts';
import { bundledProfile } from '../src/predict/index.ts';

const runs = Number(process.env['PROFILE_BENCH_RUNS'] ?? 50);
const batches = [1, 2, 3, 4];
const trainB = [1, 2, 4];

/** Two grids: 0.5–2 vCPU (2 threads above 1 vCPU) and the single-thread 0.5–1 vCPU range. */
const GRIDS = [
  { name: 'v0.5-2', vcpus: [0.5, 0.75, 1, 1.5, 2], train: [0.5, 1, 2] },
  { name: 'v0.5-1', vcpus: [0.5, 0.6, 0.7, 0.85, 1], train: [0.5, 0.7, 1] },
];

async function sweepModel(label: string, model: SyntheticModel, grid: (typeof GRIDS)[number]): Promise<void> {
  const tag = `${label}.${grid.name}`;
  const sweep = await profileOnnx(model.bytes, { vcpus: grid.vcpus, batches, runs, warmup: 3 });
  console.log(
    `${tag}: ${sweep.measurements.length} configurations × ${runs} runs in ${sweep.sweepSeconds.toFixed(1)} s`,
  );
  for (const n of sweep.notes) console.log(`  note: ${n}`);
  figure('profile', `${tag}.sweep_s`, round(sweep.sweepSeconds, 2), 's');
  const { fits } = buildCpuProfile(sweep, { percentile: 99 });
  for (const f of fits) {
    console.log(
      `  fit b=${f.batch} ${f.stat} (p99): MAPE ${f.mape.toFixed(2)}%, max ${f.maxErr.toFixed(2)}%`,
    );
    figure('profile', `${tag}.mape.b${f.batch}.${f.stat}`, round(f.mape, 2), '%');
  }
  // Held out: train on a sub-grid, score every other measured point (max at p99 and at p90).
  const isTrain = (m: { vcpu?: number; batch: number }): boolean =>
    grid.train.includes(m.vcpu!) && trainB.includes(m.batch);
  for (const percentile of [99, 90]) {
    const train = { ...sweep, measurements: sweep.measurements.filter(isTrain) };
    const { profile } = buildCpuProfile(train, { percentile });
    const held = summaryPoints(
      sweep.measurements.filter((m) => !isTrain(m)),
      percentile,
    );
    for (const stat of percentile === 99 ? (['avg', 'max'] as const) : (['max'] as const)) {
      const errs = held.map(
        (p) => Math.abs(expLatency(profile.cpu![stat][p.batch - 1]!, p.vcpu!) / p[stat] - 1) * 100,
      );
      const mape = errs.reduce((a, b) => a + b, 0) / errs.length;
      const name = stat === 'max' ? `max_p${percentile}` : 'avg';
      console.log(
        `  held-out ${name}: MAPE ${mape.toFixed(2)}%, worst ${Math.max(...errs).toFixed(2)}% over ${errs.length} points`,
      );
      figure('profile', `${tag}.heldout_mape.${name}`, round(mape, 2), '%');
      figure('profile', `${tag}.heldout_worst.${name}`, round(Math.max(...errs), 2), '%');
    }
  }
}

function round(v: number, d: number): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}

/** Deterministic noise in [−a, a] (a sine hash; the bench must be reproducible). */
const noise = (i: number, a: number): number => a * Math.sin(i * 12.9898 + 4.1414);

const mlp = buildMlp({ inputs: 2048, hidden: 2048, layers: 4 });
const cnn = buildCnn({ size: 64, filters: 32, layers: 3 });
for (const grid of GRIDS) {
  await sweepModel('mlp', mlp, grid);
  await sweepModel('cnn', cnn, grid);
}

// 2. Model bias against an ideal quota curve 1/c.
for (const [lo, hi] of [
  [0.5, 1],
  [0.5, 2],
  [0.25, 1],
] as const) {
  const grid = Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * i) / 4);
  const coef = fitExponential(grid.map((x) => ({ x, y: 1 / x })));
  const probe = Array.from({ length: 41 }, (_, i) => lo + ((hi - lo) * i) / 40);
  const worst = Math.max(...probe.map((c) => Math.abs(expLatency(coef, c) * c - 1) * 100));
  console.log(`model bias vs 1/c on [${lo}, ${hi}] (5 fit points): worst ${worst.toFixed(2)}%`);
  figure('profile', `bias_1_over_c.${lo}-${hi}.worst`, round(worst, 2), '%');
}

// 3. Coefficient recovery from the paper's VGG19 curves.
const vgg = bundledProfile('VGG19');
const grid = [0.5, 1, 1.5, 2, 2.5, 3];
let k = 0;
for (const stat of ['avg', 'max'] as const) {
  vgg.cpu![stat].forEach((truth, i) => {
    const pts = grid.map((x) => ({ x, y: expLatency(truth, x) * (1 + noise(k++, 0.03)) }));
    const coef = fitExponential(pts);
    const probe = Array.from({ length: 26 }, (_, j) => 0.5 + j * 0.1);
    const mape =
      probe.reduce((a, c) => a + Math.abs(expLatency(coef, c) / expLatency(truth, c) - 1), 0) / probe.length;
    console.log(
      `VGG19 ${stat} b=${i + 1}: refit MAPE vs true curve ${(mape * 100).toFixed(2)}% (3% noise on 6 points)`,
    );
    figure('profile', `vgg19_recovery.mape.b${i + 1}.${stat}`, round(mape * 100, 2), '%');
  });
}

// 4. Fitting speed.
const pts = grid.map((x) => ({ x, y: expLatency(vgg.cpu!.avg[0]!, x) }));
for (let i = 0; i < 20; i++) fitExponential(pts);
const times: number[] = [];
for (let i = 0; i < 200; i++) {
  const t = performance.now();
  fitExponential(pts);
  times.push(performance.now() - t);
}
console.log(`fit one curve (6 points, 6 LM starts): median ${median(times).toFixed(3)} ms`);
figure('profile', 'fit_curve_ms', round(median(times), 3), 'ms');
finish();
