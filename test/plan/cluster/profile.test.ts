import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  createSizeSampler,
  deepRecSysSizes,
  meanSize,
  roundUpSize,
  sizeDistributionFromHistogram,
} from '../../../src/workload/query-sizes.ts';
import { LatencyTable, loadBundledClusterProfile } from '../../../src/predict/latency-table.ts';
import { HetserveError } from '../../../src/model/errors.ts';

test('DeepRecSys mix: exact shares of design §6.3', () => {
  const d = deepRecSysSizes();
  const sum = d.probabilities.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-12);
  const share = (pred: (s: number) => boolean): number =>
    d.sizes.reduce((a, s, i) => a + (pred(s) ? d.probabilities[i] : 0), 0);
  assert.ok(Math.abs(share((s) => s <= 100) - 8 / 99) < 1e-12);
  assert.equal(Math.round(share((s) => s > 100 && s <= 200) * 1e4) / 100, 64.7);
  assert.equal(Math.round(share((s) => s > 200) * 1e4) / 100, 27.22);
  assert.equal(Math.round(meanSize(d) * 10) / 10, 243.6);
  assert.ok(d.sizes.every((s) => s % 10 === 0 && s >= 10 && s <= 1000));
});

test('seeded sampler matches the exact probabilities and is reproducible', () => {
  const d = deepRecSysSizes();
  const a = createSizeSampler(d, 42);
  const b = createSizeSampler(d, 42);
  const n = 200_000;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = a();
    assert.equal(x, b());
    counts.set(x, (counts.get(x) ?? 0) + 1);
  }
  d.sizes.forEach((s, i) => {
    const p = d.probabilities[i];
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs((counts.get(s) ?? 0) / n - p) < 5 * sd + 1e-9, `size ${s}`);
  });
});

test('histogram input: both shapes, rounding up, coded errors', () => {
  const d = sizeDistributionFromHistogram({ sizes: [5, 10, 95], weights: [1, 1, 2] });
  assert.deepEqual(d.sizes, [10, 100]);
  assert.deepEqual(d.probabilities, [0.5, 0.5]);
  const e = sizeDistributionFromHistogram({ '20': 3, '40': 1 });
  assert.deepEqual(e.probabilities, [0.75, 0.25]);
  assert.throws(
    () => sizeDistributionFromHistogram({ sizes: [10], weights: [-1] }),
    (err: unknown) =>
      err instanceof HetserveError && err.code === 'E_INVALID_INPUT' && err.details.value === -1,
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5000 }), (s) => {
      const r = roundUpSize(s);
      return r >= s && r - s < 10 && r % 10 === 0;
    }),
  );
});

test('latency table: mean of paired totals after dropping the largest, sizes rounded up', () => {
  const profile = loadBundledClusterProfile('rm2');
  const table = LatencyTable.fromProfile(profile);
  // Independent recomputation from the raw samples.
  for (const type of Object.keys(profile.instances)) {
    for (const i of [0, 49, 99]) {
      const inf = profile.instances[type].inferMs![i];
      const load = profile.instances[type].loadMs![i];
      const totals = inf.map((x, j) => x + load[j]);
      const max = Math.max(...totals);
      const kept = totals.filter((_, j) => j !== totals.indexOf(max));
      const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
      const size = profile.batchSizes[i];
      assert.ok(Math.abs(table.meanMs(type, size) - mean) < 1e-9);
      assert.ok(Math.abs(table.meanMs(type, size - 9) - mean) < 1e-9, 'rounds up to the grid');
      assert.equal(table.samplesMs(type, size).length, 99);
    }
  }
  // Design §8 table: rm2 g4dn b=1000 ≈ 260.8 ms, r5n b=500 ≈ 205.2 ms.
  assert.equal(Math.round(table.meanMs('g4dn.xlarge', 1000) * 10) / 10, 260.8);
  assert.equal(Math.round(table.meanMs('r5n.large', 500) * 10) / 10, 205.2);
  assert.throws(
    () => table.meanMs('g4dn.xlarge', 1001),
    (e: unknown) => e instanceof HetserveError,
  );
  assert.throws(
    () => table.meanMs('p3.2xlarge', 10),
    (e: unknown) => e instanceof HetserveError && e.code === 'E_UNKNOWN_INSTANCE_TYPE',
  );
});

test('latency table: bad profiles are coded errors naming the field', () => {
  assert.throws(
    () => loadBundledClusterProfile('bert'),
    (e: unknown) => e instanceof HetserveError && e.code === 'E_UNKNOWN_MODEL' && e.details.value === 'bert',
  );
  const bad = { model: 'm', unit: 'ms' as const, batchSizes: [10, 20], instances: { a: { meanMs: [1] } } };
  assert.throws(
    () => LatencyTable.fromProfile(bad),
    (e: unknown) =>
      e instanceof HetserveError &&
      e.code === 'E_PROFILE_INVALID' &&
      e.details.field === 'instances.a.meanMs',
  );
  const ok = LatencyTable.fromProfile({ ...bad, instances: { a: { meanMs: [1, 2] } } });
  assert.equal(ok.meanMs('a', 15), 2);
});

test('quantities from the samples with the prototype rule match its stored values (design §4.2)', async () => {
  const { readFileSync } = await import('node:fs');
  const { computeProfileQuantities } = await import('../../../src/plan/cluster/quantities.ts');
  const stored = JSON.parse(
    readFileSync(new URL('../../../data/kairos/prototype-profile.json', import.meta.url), 'utf8'),
  ).models as Record<string, Record<string, { qps: number; vio_batch?: number; small_ratio?: number }>>;
  const types = ['g4dn.xlarge', 'c5n.2xlarge', 'r5n.large', 't3.xlarge'];
  const qos: Record<string, number> = { rm2: 350, dien: 35, wnd: 25, mtwnd: 25, ncf: 5 };
  for (const [model, qosMs] of Object.entries(qos)) {
    const q = computeProfileQuantities(
      LatencyTable.bundled(model),
      deepRecSysSizes(),
      types[0],
      types.slice(1),
      {
        qosMs,
        limitBy: 'median',
        includeViolating: true,
      },
    );
    // The stored values are rounded and were not regenerable exactly (design §4.2): vio_batch is exact,
    // ratios agree to a few thousandths, rates to 2 % (base) and 11 % (noisy t3).
    assert.ok(Math.abs(q.baseQps / stored[model]['g4dn.xlarge'].qps - 1) < 0.02, `${model} base qps`);
    for (const a of q.aux) {
      const s = stored[model][a.type];
      assert.equal(a.limit, s.vio_batch, `${model} ${a.type} vio_batch`);
      assert.ok(Math.abs(a.smallRatio - s.small_ratio!) < 0.005, `${model} ${a.type} small_ratio`);
      assert.ok(Math.abs(a.qps / s.qps - 1) < 0.11, `${model} ${a.type} qps`);
    }
  }
  // Default rule: the chosen percentile, largest size that meets QoS — never above the prototype's.
  const d = computeProfileQuantities(
    LatencyTable.bundled('rm2'),
    deepRecSysSizes(),
    types[0],
    types.slice(1),
    {
      qosMs: 350,
    },
  );
  for (const a of d.aux) {
    assert.ok(a.limit < stored.rm2[a.type].vio_batch!);
    const table = LatencyTable.bundled('rm2');
    assert.ok(table.quantileMs(a.type, a.limit, 0.99) <= 350);
    assert.ok(table.quantileMs(a.type, a.limit + 10, 0.99) > 350);
  }
});
