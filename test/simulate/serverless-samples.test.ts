/**
 * Measured latency samples in serverless profiles: written by the profiler, validated by the
 * schema, looked up for a function configuration, and drawn by the simulator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createBatchManager } from '../../src/dispatch/batch-manager.ts';
import { HetserveError } from '../../src/model/errors.ts';
import type { FunctionConfig, Plan } from '../../src/model/plan.ts';
import {
  ServerlessProfileSchema,
  type LatencySampleSet,
  type ServerlessProfile,
} from '../../src/model/profile.ts';
import { parseProfile } from '../../src/predict/index.ts';
import { buildCpuProfile, buildGpuProfile } from '../../src/profile/build.ts';
import type { Measurement } from '../../src/profile/measure.ts';
import { compactLatencies, sampleLookup } from '../../src/profile/samples.ts';
import { Rng } from '../../src/workload/rng.ts';
import { simulateServerless, type ServerlessModel } from '../../src/simulate/serverless.ts';
import { poissonArrivals } from '../../src/workload/arrivals.ts';
import { runCliSync } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'hetserve-samples-'));
const cli = (...args: string[]) => {
  const r = runCliSync(...args);
  return { code: r.code, out: r.stdout, err: r.stderr };
};

function thrown(f: () => unknown): HetserveError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof HetserveError, String(e));
    return e;
  }
  assert.fail('expected a HetserveError');
}

const BASE = {
  name: 'm',
  cpu: {
    memMb: [0, 128] as [number, number],
    avg: [[0.5, 1, 0.05] as [number, number, number]],
    max: [[0.6, 1, 0.06] as [number, number, number]],
  },
};

// ── compacting ─────────────────────────────────────────────────────────────

test('compactLatencies: sorted, at most max, largest dropped, within the measured range, in ms', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 1e-6, max: 10, noNaN: true }), { minLength: 1, maxLength: 400 }),
      fc.integer({ min: 1, max: 300 }),
      (s, max) => {
        const out = compactLatencies(s, max);
        const sorted = [...s].sort((a, b) => a - b);
        const kept = s.length > 1 ? sorted.slice(0, -1) : sorted;
        assert.equal(out.length, Math.min(max, kept.length));
        for (let i = 1; i < out.length; i++) assert.ok(out[i - 1]! <= out[i]!);
        const lo = kept[0]! * 1000;
        const hi = kept[kept.length - 1]! * 1000;
        for (const v of out)
          assert.ok(v >= lo * (1 - 1e-3) && v <= hi * (1 + 1e-3), `${v} not in [${lo}, ${hi}]`);
        if (kept.length <= max)
          out.forEach((v, i) => assert.ok(Math.abs(v - kept[i]! * 1000) <= 1e-3 * kept[i]! * 1000));
      },
    ),
  );
  // Thinning keeps the spread: the kept quantiles of 1..1000 ms span nearly all of it.
  const thin = compactLatencies(
    Array.from({ length: 1001 }, (_, i) => (i + 1) / 1000),
    10,
  );
  assert.ok(thin[0]! < 100 && thin[9]! > 900, thin.join(','));
});

// ── schema ─────────────────────────────────────────────────────────────────

const sampleSet = fc.oneof(
  fc.record({
    kind: fc.constant('cpu' as const),
    vcpu: fc.double({ min: 0.05, max: 16, noNaN: true }),
    batch: fc.integer({ min: 1, max: 32 }),
    latencyMs: fc.array(fc.double({ min: 1e-3, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 20 }),
  }),
  fc.record(
    {
      kind: fc.constant('gpu' as const),
      gpuMemoryGb: fc.integer({ min: 1, max: 24 }),
      batch: fc.integer({ min: 1, max: 32 }),
      latencyMs: fc.array(fc.double({ min: 1e-3, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 20 }),
    },
    { requiredKeys: ['kind', 'batch', 'latencyMs'] },
  ),
);

test('schema: a profile with samples round-trips through JSON and the validator', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(sampleSet, {
        maxLength: 8,
        selector: (s) => (s.kind === 'cpu' ? `c${s.vcpu}|${s.batch}` : `g${s.gpuMemoryGb}|${s.batch}`),
      }),
      (samples) => {
        const doc = { ...BASE, samples };
        const back = parseProfile(JSON.parse(JSON.stringify(doc)));
        assert.deepEqual(back.samples, JSON.parse(JSON.stringify(samples)));
        assert.deepEqual(ServerlessProfileSchema.parse(JSON.parse(JSON.stringify(back))), back);
      },
    ),
  );
});

test('schema: negative, empty or duplicate samples are coded errors naming the field and value', () => {
  const bad = (samples: unknown) => thrown(() => parseProfile({ ...BASE, samples }));
  let e = bad([{ kind: 'cpu', vcpu: 1, batch: 1, latencyMs: [3, -2] }]);
  assert.equal(e.code, 'E_PROFILE_INVALID');
  assert.equal(e.details.field, 'profile.samples.0.latencyMs.1');
  assert.equal(e.details.value, -2);
  assert.match(e.message, /-2/);
  e = bad([{ kind: 'cpu', vcpu: 1, batch: 1, latencyMs: [] }]);
  assert.equal(e.details.field, 'profile.samples.0.latencyMs');
  assert.deepEqual(e.details.value, []);
  e = bad([{ kind: 'gpu', batch: 2, latencyMs: [0] }]);
  assert.equal(e.details.field, 'profile.samples.0.latencyMs.0');
  e = bad([{ kind: 'cpu', batch: 2, latencyMs: [1] }]);
  assert.equal(e.details.field, 'profile.samples.0.vcpu');
  e = bad([
    { kind: 'gpu', batch: 2, latencyMs: [1] },
    { kind: 'gpu', batch: 2, latencyMs: [2] },
  ]);
  assert.equal(e.details.field, 'profile.samples.1');
  assert.match(e.message, /second sample set for gpu gpuMemoryGb=whole batch=2/);
});

// ── builders ───────────────────────────────────────────────────────────────

/** A (vCPU × batch) sweep with latencies 0.01·b/c·(1 + small deterministic noise). */
function fakeSweep(runs: number): Measurement[] {
  const out: Measurement[] = [];
  for (const vcpu of [0.5, 1, 2])
    for (const batch of [1, 2])
      out.push({
        vcpu,
        batch,
        samples: Array.from({ length: runs }, (_, i) => ((0.01 * batch) / vcpu) * (1 + ((i * 7) % 11) / 100)),
      });
  return out;
}

test('buildCpuProfile writes one sample set per measured configuration (capped), or none with samples: false', () => {
  const sweep = { name: 'fake', source: 'test', measurements: fakeSweep(30), sweepSeconds: 0, notes: [] };
  const { profile } = buildCpuProfile(sweep, { maxSamples: 10 });
  assert.equal(profile.samples!.length, 6);
  for (const s of profile.samples!) {
    assert.equal(s.kind, 'cpu');
    const m = sweep.measurements.find((x) => x.vcpu === (s as { vcpu: number }).vcpu && x.batch === s.batch)!;
    assert.equal(s.latencyMs.length, 10);
    assert.ok(Math.min(...s.latencyMs) >= Math.min(...m.samples) * 1000 * 0.999);
    assert.ok(Math.max(...s.latencyMs) <= Math.max(...m.samples) * 1000 * 1.001);
  }
  assert.deepEqual(parseProfile(JSON.parse(JSON.stringify(profile))), profile);
  assert.equal(buildCpuProfile(sweep, { samples: false }).profile.samples, undefined);
  const gpu = buildGpuProfile({
    ...sweep,
    measurements: sweep.measurements.filter((m) => m.vcpu === 1),
  }).profile;
  assert.deepEqual(
    gpu.samples!.map((s) => [s.kind, 'gpuMemoryGb' in s, s.batch, s.latencyMs.length]),
    [
      ['gpu', false, 1, 29],
      ['gpu', false, 2, 29],
    ],
  );
});

// ── lookup ─────────────────────────────────────────────────────────────────

const cpuFn = (vcpu: number): FunctionConfig => ({ kind: 'cpu', vcpu, memoryGb: 1 });

test('sampleLookup: exact configuration as measured, else nearest measured rescaled by the model, else none', () => {
  const samples: LatencySampleSet[] = [
    { kind: 'cpu', vcpu: 1, batch: 1, latencyMs: [10, 20] },
    { kind: 'cpu', vcpu: 2, batch: 1, latencyMs: [5, 6] },
    { kind: 'gpu', batch: 1, latencyMs: [4] },
    { kind: 'gpu', gpuMemoryGb: 6, batch: 1, latencyMs: [9] },
  ];
  const profile: ServerlessProfile = parseProfile({
    ...BASE,
    gpu: { hostMemMb: 0, gpuMemThresholds: [], xi1: 0.001, xi2: 0.002, sliceS: 0.002, sliceUnits: 24 },
    samples,
  });
  const avg = (fn: FunctionConfig) => (fn.kind === 'cpu' ? 1 / fn.vcpu : 1 / fn.gpuMemoryGb);
  const look = sampleLookup(profile, avg, 'auto')!;
  assert.deepEqual(look(cpuFn(1), 1), { latencies: [0.01, 0.02], source: 'samples' });
  // 1.25 vCPU: nearest is 1 vCPU, scaled by avg(1.25)/avg(1) = 0.8
  const scaled = look(cpuFn(1.25), 1)!;
  assert.equal(scaled.source, 'scaled-samples');
  scaled.latencies.forEach((v, i) => assert.ok(Math.abs(v - [0.008, 0.016][i]!) < 1e-12));
  // 1.5 vCPU: a tie between 1 and 2 goes to the larger (2), scaled by avg(1.5)/avg(2) = 4/3
  const tie = look(cpuFn(1.5), 1)!;
  assert.ok(Math.abs(tie.latencies[0]! - 0.005 * (4 / 3)) < 1e-12);
  assert.equal(look(cpuFn(1), 3), undefined); // batch size never measured: the model
  const gpu = (g: number): FunctionConfig => ({ kind: 'gpu', gpuMemoryGb: g, vcpu: 1, memoryGb: 4 });
  assert.deepEqual(look(gpu(24), 1), { latencies: [0.004], source: 'samples' }); // absent = whole GPU
  assert.deepEqual(look(gpu(6), 1), { latencies: [0.009], source: 'samples' });
  assert.equal(look(gpu(8), 1)!.source, 'scaled-samples');

  assert.equal(sampleLookup(profile, avg, 'model'), undefined);
  assert.equal(sampleLookup(parseProfile(BASE), avg, 'auto'), undefined);
  let e = thrown(() => sampleLookup(parseProfile(BASE), avg, 'samples'));
  assert.equal(e.code, 'E_NO_SAMPLES');
  assert.equal(e.details.field, 'latency');
  e = thrown(() => sampleLookup(profile, avg, 'samples')!(cpuFn(1), 3));
  assert.equal(e.code, 'E_NO_SAMPLES');
  assert.equal(e.details.value, 'cpu batch=3');
});

// ── simulator ──────────────────────────────────────────────────────────────

function onePlan(slo: number, fn: FunctionConfig, batch = 1, timeout = 0): Plan {
  return {
    kind: 'serverless-plan',
    algorithm: 'test',
    model: 'm',
    priceTable: 'test',
    currency: 'X',
    compat: 'paper',
    totalCostPerRequest: 1,
    excluded: [],
    apps: [{ name: 'a', slo, rps: 40 }],
    groups: [
      {
        apps: ['a'],
        function: fn,
        batchSize: batch,
        timeouts: { a: timeout },
        costPerRequest: 1,
        trafficShare: 1,
        weightedCost: 1,
        rps: 40,
        latency: { avg: 0.5, max: 0.6 },
        slack: { a: 0 },
      },
    ],
  };
}

/** Model avg/max far from the samples, so a draw from the model is told apart; records every batch latency. */
function recordingModel(samples: ServerlessModel['samples']): { model: ServerlessModel; drawn: number[] } {
  const drawn: number[] = [];
  return {
    drawn,
    model: {
      latency: () => ({ avg: 0.5, max: 0.6 }),
      batchCost: (_f, _b, d) => {
        drawn.push(d);
        return d;
      },
      ...(samples ? { samples } : {}),
    },
  };
}

test('simulator: one repeated sample value gives exactly that latency plus the wait', () => {
  const v = 0.0371;
  const profile = parseProfile({
    ...BASE,
    samples: [{ kind: 'cpu', vcpu: 1, batch: 1, latencyMs: [v * 1000] }],
  });
  const look = sampleLookup(profile, () => 1, 'auto');
  for (const [slo, violating] of [
    [v + 1e-9, 0],
    [v - 1e-9, 1],
  ] as const) {
    const { model, drawn } = recordingModel(look);
    const apps = [{ name: 'a', slo }];
    const r = simulateServerless({
      apps,
      arrivals: poissonArrivals([40], new Rng(5), { end: 60 }),
      plan: onePlan(slo, cpuFn(1)),
      model,
      createBatchManager,
      durationS: 60,
    });
    assert.ok(r.requests > 1000);
    assert.ok(
      drawn.every((d) => d === v),
      'every batch latency is the sample',
    );
    assert.equal(r.perApp[0]!.meanWait, 0); // timeout 0, batch 1: released on arrival
    assert.equal(r.sloViolationRate, violating);
    assert.equal(r.groups[0]!.latencySource, 'samples');
    assert.deepEqual(r.groups[0]!.batchesBySource, { samples: r.batches, 'scaled-samples': 0, model: 0 });
  }
});

test('simulator: draws follow the samples uniformly; without samples it is the model', () => {
  const values = [0.1, 0.2, 0.3, 0.4];
  const profile = parseProfile({
    ...BASE,
    samples: [{ kind: 'cpu', vcpu: 2, batch: 1, latencyMs: values.map((x) => x * 1000) }],
  });
  const { model, drawn } = recordingModel(sampleLookup(profile, () => 1, 'auto'));
  const r = simulateServerless({
    apps: [{ name: 'a', slo: 10 }],
    arrivals: poissonArrivals([40], new Rng(6), { end: 200 }),
    plan: onePlan(10, cpuFn(2)),
    model,
    createBatchManager,
    durationS: 200,
  });
  const n = drawn.length;
  for (const x of values) {
    const share = drawn.filter((d) => d === x).length / n;
    assert.ok(Math.abs(share - 0.25) < 5 * Math.sqrt((0.25 * 0.75) / n), `${x}: ${share}`);
  }
  assert.ok(r.perApp[0]!.latencyP50 >= 0.1 * 0.99 && r.perApp[0]!.latencyP50 <= 0.4 * 1.01);
  // The same plan on a configuration the samples do not cover (batch 2): model draws around 0.5 s.
  const m2 = recordingModel(sampleLookup(profile, () => 1, 'auto'));
  const r2 = simulateServerless({
    apps: [{ name: 'a', slo: 10 }],
    arrivals: poissonArrivals([40], new Rng(6), { end: 50 }),
    plan: onePlan(10, cpuFn(2), 2, 1),
    model: m2.model,
    createBatchManager,
    durationS: 50,
  });
  assert.ok(m2.drawn.filter((d) => !values.includes(d)).length > 0);
  assert.notEqual(r2.groups[0]!.latencySource, 'samples');
  assert.ok(r2.groups[0]!.batchesBySource.model > 0);
});

// ── CLI: profile → file with samples → simulate ─────────────────────────────

test('CLI: profile onnx writes samples; simulate --latency samples draws them, --latency model ignores them', () => {
  const model = join(dir, 'mlp.onnx');
  const out = join(dir, 'mlp.profile.json');
  let r = cli('profile', 'synth', 'mlp', '--out', model, '--hidden', '32', '--inputs', '16');
  assert.equal(r.code, 0, r.err);
  // 6 runs per configuration, the largest dropped: 5 kept; --max-samples 4 thins them to 4.
  r = cli(
    'profile',
    'onnx',
    model,
    '--vcpu',
    '0.5,0.75,1',
    '--batch',
    '1,2',
    '--runs',
    '6',
    '--max-samples',
    '4',
  );
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(
    parseProfile(JSON.parse(r.out)).samples!.map((s) => s.latencyMs.length),
    [4, 4, 4, 4, 4, 4],
  );
  r = cli(
    'profile',
    'onnx',
    model,
    '--vcpu',
    '0.5,0.75,1',
    '--batch',
    '1,2',
    '--runs',
    '6',
    '--out',
    out,
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).sampleSets, 6);
  const profile = parseProfile(JSON.parse(readFileSync(out, 'utf8')));
  assert.deepEqual(
    profile.samples!.map((s) => [s.kind, (s as { vcpu: number }).vcpu, s.batch, s.latencyMs.length]),
    [
      ['cpu', 0.5, 1, 5],
      ['cpu', 0.75, 1, 5],
      ['cpu', 1, 1, 5],
      ['cpu', 0.5, 2, 5],
      ['cpu', 0.75, 2, 5],
      ['cpu', 1, 2, 5],
    ],
  );
  // --no-samples: the curves alone (the profile is printed to stdout, the table to stderr).
  r = cli('profile', 'onnx', model, '--vcpu', '0.5,0.75,1', '--batch', '1', '--runs', '3', '--no-samples');
  assert.equal(r.code, 0, r.err);
  assert.equal(parseProfile(JSON.parse(r.out)).samples, undefined);

  const apps = join(dir, 'apps.json');
  writeFileSync(apps, JSON.stringify([{ name: 'a', slo: 0.2, rps: 30 }]));
  const sim = (profileFile: string, latency: string, ...more: string[]) => {
    const s = cli(
      'simulate',
      'serverless',
      '--profile',
      profileFile,
      '--apps',
      apps,
      '--duration',
      '60',
      '--latency',
      latency,
      '--json',
      ...more,
    );
    assert.equal(s.code, 0, s.err);
    return JSON.parse(s.out) as {
      latency: string;
      results: {
        initialPlan: Plan;
        groups: { latencySource: string; batchesBySource: Record<string, number>; batches: number }[];
        perApp: { latencyP50: number; meanWait: number }[];
      }[];
    };
  };
  // The measured samples are drawn (rescaled to the planned vCPU unless measured there).
  const auto = sim(out, 'auto');
  assert.equal(auto.latency, 'auto');
  for (const g of auto.results[0]!.groups) assert.equal(g.batchesBySource.model, 0);
  const byModel = sim(out, 'model');
  for (const g of byModel.results[0]!.groups) {
    assert.equal(g.latencySource, 'model');
    assert.equal(g.batchesBySource.model, g.batches);
  }

  // Samples at exactly the planned configuration, one repeated value: latency = value + wait.
  const plan = auto.results[0]!.initialPlan;
  const fn = plan.groups[0]!.function as { kind: 'cpu'; vcpu: number };
  const valueMs = 12.5;
  const exact = join(dir, 'exact.profile.json');
  const sets = Array.from({ length: plan.groups[0]!.batchSize }, (_, i) => ({
    kind: 'cpu',
    vcpu: fn.vcpu,
    batch: i + 1,
    latencyMs: [valueMs, valueMs, valueMs],
  }));
  writeFileSync(exact, JSON.stringify({ ...profile, samples: sets }));
  const report = join(dir, 'report');
  const s = sim(exact, 'samples', '--report', report);
  const g = s.results[0]!.groups[0]!;
  assert.equal(g.latencySource, 'samples');
  assert.ok(
    readFileSync(join(report, 'report.md'), 'utf8').includes(`| ${g.batches} | 0 | 0 |`),
    'the report tells the batches per latency source',
  );
  const app = s.results[0]!.perApp[0]!;
  const timeout = Math.max(...Object.values(plan.groups[0]!.timeouts));
  // p50 of wait + 12.5 ms lies in [12.5 ms, 12.5 ms + the batching timeout] (HDR precision 0.1%)
  assert.ok(app.latencyP50 >= (valueMs / 1000) * 0.999, `${app.latencyP50}`);
  assert.ok(app.latencyP50 <= (valueMs / 1000 + timeout) * 1.001, `${app.latencyP50}`);
  assert.ok(Math.abs(app.meanWait + valueMs / 1000 - app.latencyP50) < timeout + 1e-3);
});

test('hetserve schema profile describes the samples', () => {
  const r = cli('schema', 'profile');
  assert.equal(r.code, 0, r.err);
  const item = JSON.parse(r.out).properties.samples.items;
  const kinds = (item.oneOf ?? item.anyOf).map(
    (x: { properties: { kind: { const: string } } }) => x.properties.kind.const,
  );
  assert.deepEqual(kinds, ['cpu', 'gpu']);
});

test('CLI: bad samples, a bad --latency and --latency samples without samples are coded errors', () => {
  const bad = join(dir, 'bad.profile.json');
  writeFileSync(
    bad,
    JSON.stringify({ ...BASE, samples: [{ kind: 'cpu', vcpu: 1, batch: 1, latencyMs: [4, -7] }] }),
  );
  const apps = join(dir, 'apps2.json');
  writeFileSync(apps, JSON.stringify([{ name: 'a', slo: 2, rps: 5 }]));
  let r = cli('simulate', 'serverless', '--profile', bad, '--apps', apps, '--duration', '10');
  assert.equal(r.code, 2);
  assert.match(r.err, /E_PROFILE_INVALID/);
  assert.match(r.err, /samples\.0\.latencyMs\.1.*-7/);
  assert.doesNotMatch(r.err, /at .*\.ts:\d+/);
  r = cli(
    'simulate',
    'serverless',
    '--model',
    'VGG19',
    '--apps',
    apps,
    '--duration',
    '10',
    '--latency',
    'real',
  );
  assert.equal(r.code, 2);
  assert.match(r.err, /E_INVALID_OPTION.*latency.*"real"/);
  r = cli(
    'simulate',
    'serverless',
    '--model',
    'VGG19',
    '--apps',
    apps,
    '--duration',
    '10',
    '--latency',
    'samples',
  );
  assert.equal(r.code, 2);
  assert.match(r.err, /E_NO_SAMPLES/);
  r = cli('simulate', 'serverless', '--apps', apps, '--duration', '10');
  assert.equal(r.code, 2);
  assert.match(r.err, /--model .* or --profile/);
});
