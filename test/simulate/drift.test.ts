import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliSync } from '../helpers/cli.ts';
import { driftFactor, parseDrift, phaseStats } from '../../src/simulate/drift.ts';
import { HetserveError } from '../../src/model/errors.ts';

interface Phase {
  fromMinute: number;
  toMinute: number;
  requests: number;
  sloViolationRate: number;
  costPerRequest: number;
}
interface Run {
  sloViolationRate: number;
  costPerRequest: { measured: number; predicted: number };
  phases: Phase[];
  calibration: {
    enabled: boolean;
    version: number;
    replans: number;
    events: { at: number; drifted: { key: string; ratio: number }[] }[];
  };
}

// The README case: VGG19, four apps, 30 simulated minutes, CPU latency × 1.5 from minute 10.
function readmeCase(calibrate: 'on' | 'off'): Run {
  const r = runCliSync(
    'simulate',
    'serverless',
    '--model',
    'VGG19',
    '--apps',
    'data/examples/readme-apps.json',
    '--algorithm',
    'harmony',
    '--duration',
    '1800',
    '--drift',
    'cpu:1.5@10',
    '--calibrate',
    calibrate,
    '--json',
    '--quiet',
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { drift: string[]; calibrate: string; results: Run[] };
  assert.deepEqual(out.drift, ['cpu:1.5@10']);
  assert.equal(out.calibrate, calibrate);
  return out.results[0];
}

test('README case, CPU ×1.5 from minute 10: calibration keeps SLO misses ≤ 1 %, without it they rise', () => {
  const on = readmeCase('on');
  const off = readmeCase('off');
  for (const r of [on, off]) {
    assert.deepEqual(
      r.phases.map((p) => [p.fromMinute, p.toMinute]),
      [
        [0, 10],
        [10, 30],
      ],
    );
    assert.ok(r.phases.every((p) => p.requests > 0));
  }
  assert.ok(on.sloViolationRate <= 0.01, `with calibration: ${on.sloViolationRate}`);
  assert.ok(on.phases[1].sloViolationRate <= 0.01, `after the drift: ${on.phases[1].sloViolationRate}`);
  // The loop refitted once, on the CPU configuration in use, by about the drift's factor, after minute 10.
  assert.equal(on.calibration.version, 1);
  const ev = on.calibration.events[0];
  assert.ok(ev.at >= 600 && ev.at < 660, `refit at ${ev.at} s`);
  assert.match(ev.drifted[0].key, /^cpu /);
  assert.ok(Math.abs(ev.drifted[0].ratio - 1.5) < 0.1, `ratio ${ev.drifted[0].ratio}`);
  // Without calibration the same arrivals and draws miss more after the drift, never refit.
  assert.equal(off.calibration.version, 0);
  assert.equal(off.calibration.enabled, false);
  assert.ok(
    off.phases[1].sloViolationRate > 2 * on.phases[1].sloViolationRate,
    `off ${off.phases[1].sloViolationRate} vs on ${on.phases[1].sloViolationRate}`,
  );
  // Before the drift both runs are the same simulation.
  assert.equal(on.phases[0].sloViolationRate, off.phases[0].sloViolationRate);
  assert.equal(on.phases[0].costPerRequest, off.phases[0].costPerRequest);
});

test('--drift and --calibrate: bad values exit 2 naming the option', () => {
  for (const [args, field] of [
    [['--drift', 'cpu:1.5'], 'drift'],
    [['--calibrate', 'maybe'], 'calibrate'],
  ] as const) {
    const r = runCliSync(
      'simulate',
      'serverless',
      '--model',
      'VGG19',
      '--apps',
      'data/examples/readme-apps.json',
      '--duration',
      '60',
      '--quiet',
      ...args,
    );
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`--?${field}`));
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  }
});

test('parseDrift, driftFactor and phaseStats', () => {
  assert.deepEqual(parseDrift('CPU:1.5@10'), { kind: 'cpu', factor: 1.5, minute: 10 });
  assert.deepEqual(parseDrift('gpu:.5@0'), { kind: 'gpu', factor: 0.5, minute: 0 });
  assert.throws(
    () => parseDrift('cpu:1.5@-1'),
    (e: unknown) => e instanceof HetserveError && e.details.field === 'drift',
  );
  const d = [parseDrift('cpu:1.5@10'), parseDrift('cpu:2@20'), parseDrift('gpu:3@5')];
  assert.equal(driftFactor(d, 'cpu', 599), 1);
  assert.equal(driftFactor(d, 'cpu', 600), 1.5);
  assert.equal(driftFactor(d, 'cpu', 1200), 3);
  assert.equal(driftFactor(d, 'gpu', 300), 3);
  const seg = (segment: number, requests: number, violations: number, cost: number) => ({
    segment,
    requests,
    violations,
    cost,
    predictedCostPerRequest: 0,
    planningMs: 0,
    groups: 1,
  });
  const ph = phaseStats([seg(0, 10, 1, 1), seg(1, 10, 0, 1), seg(2, 20, 4, 6)], [parseDrift('cpu:2@2')]);
  assert.deepEqual(
    ph.map((p) => [p.fromMinute, p.toMinute, p.requests, p.sloViolationRate, p.costPerRequest]),
    [
      [0, 2, 20, 0.05, 0.1],
      [2, 3, 20, 0.2, 0.3],
    ],
  );
});
