/**
 * The simulator's `penaltyPercentile` choice (Kairos' tail estimate from the latency table's
 * samples) and its `hetserve simulate cluster --penalty-percentile` flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { KairosDistributor } from '../../src/dispatch/distributor.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { LatencyTable } from '../../src/predict/latency-table.ts';
import { deepRecSysSizes } from '../../src/workload/query-sizes.ts';
import { simulateCluster } from '../../src/simulate/cluster.ts';
import { distributorFactory } from '../../src/simulate/distributors.ts';

const table = LatencyTable.bundled('rm2');
const pool = ['g4dn.xlarge', 't3.xlarge', 't3.xlarge'];
const mean = (type: string, size: number) => table.meanMs(type, size);

test('penaltyPercentile: the penalty test reads that percentile of the samples, the cost the mean', () => {
  for (const p of [50, 95, 99]) {
    const d = distributorFactory({ name: 'kairos', baseType: 'g4dn.xlarge', penaltyPercentile: p }, table)(
      pool,
      mean,
      350,
    );
    assert.ok(d instanceof KairosDistributor);
    [10, 95, 400].forEach((size, i) => d.enqueue({ id: i, size, arrival: 0, deadline: 0.35 }));
    const m = d.matchingInput(0);
    m.rows.forEach((r, i) => {
      const size = [10, 95, 400][i]!;
      pool.forEach((type, j) => {
        assert.equal(r.estMs[j], table.meanMs(type, size));
        assert.equal(r.tailMs![j], table.quantileMs(type, size, p / 100));
      });
    });
  }
  const off = distributorFactory({ name: 'kairos', baseType: 'g4dn.xlarge' }, table)(pool, mean, 350);
  off.enqueue({ id: 0, size: 10, arrival: 0, deadline: 0.35 });
  assert.equal((off as KairosDistributor).matchingInput(0).rows[0]!.tailMs, undefined, 'default off');
});

test('penaltyPercentile: bad values, prototype mode and a missing table are coded errors naming the option', () => {
  const isBad = (e: unknown) =>
    e instanceof HetserveError && e.code === 'E_INVALID_OPTION' && e.details.field === 'penalty-percentile';
  for (const p of [0, -5, 100.5, Number.NaN])
    assert.throws(
      () => distributorFactory({ name: 'kairos', baseType: 'g', penaltyPercentile: p }, table),
      isBad,
    );
  assert.throws(
    () =>
      distributorFactory(
        { name: 'kairos', baseType: 'g', compat: 'prototype', penaltyPercentile: 99 },
        table,
      ),
    isBad,
  );
  assert.throws(() => distributorFactory({ name: 'kairos', baseType: 'g', penaltyPercentile: 99 }), isBad);
  // Other distributors ignore it.
  assert.doesNotThrow(() => distributorFactory({ name: 'fcfs', baseType: 'g', penaltyPercentile: 99 }));
});

test('penaltyPercentile in a simulation: deterministic, every query served exactly once', () => {
  const run = (penaltyPercentile?: number) =>
    simulateCluster({
      table,
      instances: ['g4dn.xlarge', ...Array<string>(6).fill('t3.xlarge')],
      createDistributor: distributorFactory(
        { name: 'kairos', baseType: 'g4dn.xlarge', ...(penaltyPercentile ? { penaltyPercentile } : {}) },
        table,
      ),
      qosMs: 350,
      rateQps: 8,
      queries: 2000,
      sizes: deepRecSysSizes(),
      earlyStop: false,
    });
  const a = run(99);
  const b = run(99);
  assert.equal(a.metQos, b.metQos);
  assert.deepEqual(a.servedByType, b.servedByType);
  assert.equal(a.completed, 2000);
  assert.equal(a.assignments, 2000);
});

test('hetserve simulate cluster --penalty-percentile: runs, reports it, and refuses a bad value with exit 2', () => {
  const cli = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [
        'bin/hetserve.js',
        'simulate',
        'cluster',
        '--model',
        'rm2',
        '--config',
        '1,0,0,6',
        '--rate',
        '8',
        '--queries',
        '500',
        '--json',
        ...args,
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
  const ok = cli('--penalty-percentile', '99');
  assert.equal(ok.status, 0, ok.stderr);
  const out = JSON.parse(ok.stdout);
  assert.equal(out.penaltyPercentile, 99);
  assert.equal(typeof out.results[0].qosMetRatio, 'number');
  const bad = cli('--penalty-percentile', '101');
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /penalty-percentile/);
  assert.match(bad.stderr, /101/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});
