/**
 * The demo deployment (`npm start`) plans with the bundled profile of the MLP it serves, and the
 * replay backend draws from a profile's measured samples when it has some.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { ServerlessProfileSchema, type ServerlessProfileInput } from '../../src/model/profile.ts';
import { parseWith } from '../../src/model/validate.ts';
import { resolveProfile } from '../../src/predict/profiles.ts';
import { planServerless } from '../../src/serve/planning.ts';
import { parseServeConfig } from '../../src/model/serve-config.ts';
import { DEFAULT_APPS, DEMO_MLP, DEMO_PROFILE_PATH, defaultServeConfig } from '../../src/serve/defaults.ts';
import { demoProfileArgs, demoSynthArgs } from '../../src/serve/demo-profile.ts';
import { Gateway } from '../../src/serve/gateway.ts';
import { ReplayBackend } from '../../src/serve/backends/replay.ts';
import type { BackendContext } from '../../src/serve/backends/types.ts';
import { APPS, baseConfig, handPlan, inferBody, post, startGateway } from '../helpers/serve.ts';

const bundled = (): unknown => JSON.parse(readFileSync(DEMO_PROFILE_PATH, 'utf8'));

test('demo config: the served model is the synthetic MLP and its profile is the bundled file, not VGG19', () => {
  const cfg = parseServeConfig(defaultServeConfig(), 'default config');
  const m = cfg.models[0]!;
  assert.equal(m.profile, DEMO_PROFILE_PATH);
  assert.notEqual(m.profile, 'VGG19');
  assert.ok(existsSync(m.profile!), m.profile);
  assert.deepEqual(m.source, { synthetic: 'mlp', seed: DEMO_MLP.seed, options: DEMO_MLP.options });
});

test('bundled demo profile: validates, has a sample set per measured configuration, says how it was made', () => {
  const p = parseWith(ServerlessProfileSchema, bundled(), 'E_PROFILE_INVALID', 'demo-mlp.profile.json');
  assert.equal(p.name, 'demo-mlp');
  assert.ok(p.cpu && !p.gpu);
  const sets = p.samples ?? [];
  assert.ok(sets.length > 0, 'samples');
  // Every batch size the planner may use (1..avg.length) has samples at every measured vCPU.
  const vcpus = [...new Set(sets.map((s) => (s.kind === 'cpu' ? s.vcpu : NaN)))];
  assert.ok(vcpus.length >= 3 && vcpus.every(Number.isFinite), String(vcpus));
  for (let b = 1; b <= p.cpu.avg.length; b++)
    for (const v of vcpus)
      assert.ok(
        sets.some((s) => s.kind === 'cpu' && s.batch === b && s.vcpu === v && s.latencyMs.length > 1),
        `batch ${b} vcpu ${v}`,
      );
  assert.deepEqual(p.cpu.fitRange, [Math.min(...vcpus), Math.max(...vcpus)]);
  // The recorded commands are the regeneration script's, on the demo's model sizes.
  const src = p.source ?? '';
  assert.match(src, /npm run profile:demo/);
  const cmd = (args: string[]): string => ['hetserve', ...args].join(' ');
  assert.ok(src.includes(cmd(demoSynthArgs('demo-mlp.onnx'))), src);
  assert.ok(src.includes(cmd(demoProfileArgs('demo-mlp.onnx', 'data/profiles/demo-mlp.profile.json'))), src);
});

test('demo plan: feasible for the four demo apps with the bundled profile', async () => {
  const profile = resolveProfile(DEMO_PROFILE_PATH);
  const plan = await planServerless(DEFAULT_APPS, profile, {});
  assert.equal(plan.model, 'demo-mlp');
  assert.deepEqual(plan.excluded, []);
  const planned = plan.groups.flatMap((g) => g.apps).sort();
  assert.deepEqual(planned, DEFAULT_APPS.map((a) => a.name).sort());
  for (const g of plan.groups) {
    assert.equal(g.function.kind, 'cpu');
    for (const a of g.apps) {
      const slo = DEFAULT_APPS.find((x) => x.name === a)!.slo;
      assert.ok(g.slack[a]! >= 0, `${a} slack ${g.slack[a]}`);
      assert.ok(g.timeouts[a]! + g.latency.max <= slo + 1e-9, `${a}`);
    }
  }
});

test('demo gateway: the default config starts (port 0) and installs a plan of the bundled profile', async () => {
  const cfg = defaultServeConfig();
  cfg.listen = { host: '127.0.0.1', port: 0 };
  cfg.replan = { intervalS: 0, windowS: 60 };
  // Replay instead of onnx workers keeps the test fast; planning is the same.
  cfg.serving = { mode: 'serverless', backend: { type: 'replay', latency: { profile: true } } };
  cfg.models[0]!.inputs = [{ name: 'input', datatype: 'FP32', shape: [DEMO_MLP.options.inputs] }];
  const gw = new Gateway({ config: parseServeConfig(cfg), logger: pino({ level: 'silent' }) });
  try {
    const { url } = await gw.start();
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
    const plan = gw.serverless('mlp').plan;
    assert.equal(plan.model, 'demo-mlp');
    assert.deepEqual(plan.groups.flatMap((g) => g.apps).sort(), ['app0', 'app1', 'app2', 'app3']);
  } finally {
    await gw.close();
  }
});

// --- replay backend and profile samples -------------------------------------------------------

const ECHO = { name: 'echo', inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [4] }] };
const PREDICT = (): { avg: number; max: number } => ({ avg: 0.01, max: 0.02 });

function replay(
  samples: 'auto' | 'off',
  latencySamples: BackendContext['latencySamples'],
  seed: number,
): ReplayBackend {
  return new ReplayBackend(
    { type: 'replay', latency: { profile: true, samples }, failRate: 0 },
    {
      id: 'r',
      model: ECHO as never,
      baseDir: '.',
      fn: { kind: 'cpu', vcpu: 1, memoryGb: 1 },
      predictLatency: PREDICT,
      ...(latencySamples ? { latencySamples } : {}),
    },
    seed,
  );
}

test('replay {profile: true}: draws from the samples when present, deterministically per seed', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 1e-4, max: 2, noNaN: true }), { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 0, max: 1e6 }),
      (xs, seed) => {
        const a = replay('auto', () => xs, seed);
        const b = replay('auto', () => xs, seed);
        const da = Array.from({ length: 30 }, (_, i) => a.latencyMs(1 + (i % 4)));
        const db = Array.from({ length: 30 }, (_, i) => b.latencyMs(1 + (i % 4)));
        assert.deepEqual(da, db);
        for (const v of da)
          assert.ok(
            xs.some((x) => Math.abs(x * 1000 - v) < 1e-9),
            String(v),
          );
      },
    ),
    { numRuns: 50 },
  );
});

test('replay {profile: true}: without samples (or samples: off) the simulator avg/max model', () => {
  const seed = 11;
  const none = replay('auto', undefined, seed);
  const missing = replay('auto', () => undefined, seed);
  const off = replay('off', () => [5], seed);
  const d = (r: ReplayBackend): number[] => Array.from({ length: 4000 }, () => r.latencyMs(2));
  const [a, b, c] = [d(none), d(missing), d(off)];
  assert.deepEqual(a, b);
  assert.deepEqual(a, c);
  // N(avg, ((max − avg)/2.33)²) with avg 10 ms, max 20 ms, as the simulator draws: positive, mean
  // ≈ 10 (standard error 0.07), about 1 % above max (the max is the 99th percentile)
  for (const v of a) assert.ok(v > 0, String(v));
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean - 10) < 0.3, String(mean));
  const over = a.filter((v) => v > 20).length / a.length;
  assert.ok(over > 0.004 && over < 0.02, `share above max ${over}`);
  assert.ok(!a.includes(5000));
});

/** A profile with flat CPU curves (α = 0) and one sample value for every batch size. */
function flatProfile(sampleMs: number | undefined): string {
  const k = (s: number): [number, number, number] => [0, 1, s];
  const p: ServerlessProfileInput = {
    name: 'flat',
    cpu: { memMb: [0, 100], avg: [1, 2, 3, 4].map(() => k(0.0005)), max: [1, 2, 3, 4].map(() => k(0.001)) },
    ...(sampleMs === undefined
      ? {}
      : {
          samples: [1, 2, 3, 4].map((batch) => ({
            kind: 'cpu' as const,
            vcpu: 0.5,
            batch,
            latencyMs: [sampleMs],
          })),
        }),
  };
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-demo-test-'));
  const f = join(dir, 'flat.profile.json');
  writeFileSync(f, JSON.stringify(p));
  return f;
}

/**
 * Four requests through the gateway: the latency the replay backend drew for each batch (a spy on
 * its `latencyMs`) and the backend time the gateway reported.
 */
async function backendMs(profile: string): Promise<{ drawn: number[]; reported: number[] }> {
  const cfg = baseConfig({
    serving: { mode: 'serverless', backend: { type: 'replay', latency: { profile: true } } },
  });
  cfg.models[0]!.profile = profile;
  const drawn: number[] = [];
  // Batch size 1 at 1 vCPU: not a measured vCPU (0.5), so the lookup rescales by the fitted
  // averages, which are flat: the sample as measured.
  const { gw, url } = await startGateway(cfg, {
    planFn: () => handPlan([{ apps: APPS.map((a) => a.name), batchSize: 1, timeout: 0.001 }]),
    backendFactory: (c, ctx) => {
      const b = new ReplayBackend(c as ConstructorParameters<typeof ReplayBackend>[0], ctx);
      const draw = b.latencyMs.bind(b);
      if (!ctx.id.endsWith('probe'))
        b.latencyMs = (size) => {
          const ms = draw(size);
          drawn.push(ms);
          return ms;
        };
      return b;
    },
  });
  try {
    const reported: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await post(`${url}/v2/models/echo/infer`, inferBody([1, 2, 3, 4], 'a0'));
      assert.equal(r.status, 200, JSON.stringify(r.json));
      reported.push(r.json.parameters.backend_ms as number);
    }
    return { drawn, reported };
  } finally {
    await gw.close();
  }
}

test('gateway + replay {profile: true}: every batch takes the single sample value', async () => {
  const { drawn, reported } = await backendMs(flatProfile(40));
  assert.deepEqual(drawn, [40, 40, 40, 40]);
  // A replayed latency is a floor: the gateway never reports less (0.1 ms for its rounding).
  for (const v of reported) assert.ok(v >= 39.9, String(v));
});

test('gateway + replay {profile: true}: a profile without samples keeps the model draw', async () => {
  // avg 0.5 ms, max 1 ms: draws in [0, 1] ms, far below the 40 ms a sample would give.
  const { drawn } = await backendMs(flatProfile(undefined));
  assert.equal(drawn.length, 4);
  for (const v of drawn) assert.ok(v >= 0 && v <= 1, String(v));
});
