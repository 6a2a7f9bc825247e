import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/workload/rng.ts';
import {
  mmppArrivals,
  parseTraceCsv,
  poissonArrivals,
  readTraces,
  sizeSampler,
  traceArrivals,
  type SegmentedPoisson,
} from '../../src/workload/arrivals.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { deepRecSysSizes } from '../../src/workload/query-sizes.ts';

function drain(s: SegmentedPoisson): { times: number[]; apps: number[]; sizes: number[] } {
  const times: number[] = [];
  const apps: number[] = [];
  const sizes: number[] = [];
  while (s.time !== Infinity) {
    times.push(s.time);
    apps.push(s.app);
    sizes.push(s.size);
    s.advance();
  }
  return { times, apps, sizes };
}

test('poissonArrivals: count ≈ rate·T, app shares ≈ r_i/Σr, times increase, deterministic', () => {
  const rates = [5, 15, 30];
  const T = 400;
  const a = drain(poissonArrivals(rates, new Rng(11), { end: T }));
  const expected = 50 * T;
  assert.ok(Math.abs(a.times.length - expected) < 5 * Math.sqrt(expected));
  for (let i = 1; i < a.times.length; i++) assert.ok(a.times[i] >= a.times[i - 1]);
  assert.ok(a.times[a.times.length - 1] < T);
  rates.forEach((r, i) => {
    const share = a.apps.filter((x) => x === i).length / a.apps.length;
    assert.ok(Math.abs(share - r / 50) < 0.01, `share ${i}: ${share}`);
  });
  const b = drain(poissonArrivals(rates, new Rng(11), { end: T }));
  assert.deepEqual(a.times.slice(0, 100), b.times.slice(0, 100));
  // Exponential gaps: variance of the gap ≈ mean².
  const gaps = a.times.slice(1).map((t, i) => t - a.times[i]);
  const m = gaps.reduce((x, y) => x + y, 0) / gaps.length;
  const v = gaps.reduce((x, y) => x + (y - m) ** 2, 0) / gaps.length;
  assert.ok(Math.abs(v / (m * m) - 1) < 0.05, `cv² ${v / (m * m)}`);
});

test('integer-ms gaps (Kairos compat) are whole ms with variance ≈ mean (in ms)', () => {
  const s = drain(poissonArrivals([100], new Rng(5), { gaps: 'integer-ms', maxArrivals: 20_000 }));
  const gaps = s.times.slice(1).map((t, i) => Math.round((t - s.times[i]) * 1e6) / 1e3);
  assert.ok(gaps.every((g) => Math.abs(g - Math.round(g)) < 1e-6));
  const m = gaps.reduce((x, y) => x + y, 0) / gaps.length;
  const v = gaps.reduce((x, y) => x + (y - m) ** 2, 0) / gaps.length;
  assert.ok(Math.abs(m - 10) < 0.1, `mean gap ${m}`);
  assert.ok(Math.abs(v / m - 1) < 0.1, `var/mean ${v / m}`);
});

test('traceArrivals: per-minute counts follow the trace (rate = count/60, Poisson inside the minute)', () => {
  const counts = [[600, 0, 1200, 60]];
  const a = drain(traceArrivals(counts, new Rng(9)));
  const perMin = [0, 0, 0, 0];
  a.times.forEach((t) => perMin[Math.floor(t / 60)]++);
  counts[0].forEach((c, k) =>
    assert.ok(Math.abs(perMin[k] - c) <= 5 * Math.sqrt(c) + 1e-9, `minute ${k}: ${perMin[k]} vs ${c}`),
  );
  assert.equal(perMin[1], 0);
  assert.ok(a.times[a.times.length - 1] < 240);
  // Replaying a window of the trace starts at time 0.
  const w = drain(traceArrivals(counts, new Rng(9), { from: 2, minutes: 1 }));
  assert.ok(Math.abs(w.times.length - 1200) < 5 * Math.sqrt(1200));
  assert.ok(w.times[w.times.length - 1] < 60);
});

test('mmppArrivals: long-run rate is the sojourn-weighted mean of the state rates', () => {
  const s = drain(
    mmppArrivals(
      [
        { rates: [10], meanSojournS: 8 },
        { rates: [100], meanSojournS: 2 },
      ],
      new Rng(4),
      { end: 4000 },
    ),
  );
  const expected = (10 * 8 + 100 * 2) / 10; // 28 req/s
  const rate = s.times.length / 4000;
  assert.ok(Math.abs(rate - expected) / expected < 0.08, `rate ${rate}`);
  // Bursty: counts per second are over-dispersed (index of dispersion well above Poisson's 1).
  const perS = new Array<number>(4000).fill(0);
  s.times.forEach((t) => perS[Math.floor(t)]++);
  const m = perS.reduce((a, b) => a + b, 0) / perS.length;
  const v = perS.reduce((a, b) => a + (b - m) ** 2, 0) / perS.length;
  assert.ok(v / m > 5, `dispersion ${v / m}`);
});

test('sizeSampler draws the DeepRecSys-like mix with its exact probabilities', () => {
  const d = deepRecSysSizes();
  const draw = sizeSampler(d);
  const rng = new Rng(2);
  const n = 100_000;
  let small = 0;
  let mid = 0;
  for (let i = 0; i < n; i++) {
    const s = draw(rng);
    if (s <= 100) small++;
    else if (s <= 200) mid++;
  }
  assert.ok(Math.abs(small / n - 0.0808) < 0.005);
  assert.ok(Math.abs(mid / n - 0.647) < 0.008);
});

test('parseTraceCsv: one row, one column, minute,count with header; bad values name file, line and value', () => {
  assert.deepEqual(parseTraceCsv('1,2,3\n'), [1, 2, 3]);
  assert.deepEqual(parseTraceCsv('1\n2\n\n3\n'), [1, 2, 3]);
  assert.deepEqual(parseTraceCsv('minute,count\n0,10\n1,20\n'), [10, 20]);
  assert.deepEqual(parseTraceCsv('4,5,\n'), [4, 5]);
  const bad = (text: string, line: number, value: unknown): void => {
    assert.throws(
      () => parseTraceCsv(text, 'x.csv'),
      (e: unknown) =>
        e instanceof HetserveError &&
        e.code === 'E_TRACE_INVALID' &&
        e.details['file'] === 'x.csv' &&
        e.details['line'] === line &&
        e.details['value'] === value &&
        e.message.includes('x.csv'),
    );
  };
  bad('1,2\n3,-4\n', 2, -4);
  bad('1,abc,3', 1, 'abc');
  bad('minute,count\n0,5\n1,NaN\n', 3, 'NaN');
  bad('\n\n', 1, '');
});

test('readTraces: by <app>.csv name, else natural order; missing directory or too few files are coded errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-trace-'));
  writeFileSync(join(dir, 'app10.csv'), '7,7');
  writeFileSync(join(dir, 'app2.csv'), '2,2');
  assert.deepEqual(readTraces(dir, ['x', 'y']), [
    [2, 2],
    [7, 7],
  ]);
  assert.deepEqual(readTraces(dir, ['app10']), [[7, 7]]);
  assert.throws(
    () => readTraces(dir, ['a', 'b', 'c']),
    (e: unknown) => e instanceof HetserveError && e.code === 'E_TRACE_INVALID',
  );
  assert.throws(
    () => readTraces(join(dir, 'nope'), ['a']),
    (e: unknown) =>
      e instanceof HetserveError &&
      e.code === 'E_TRACE_INVALID' &&
      String(e.details['file']).endsWith('nope'),
  );
  const bundled = readTraces('data/harmonybatch', ['a', 'b', 'c', 'd']);
  assert.equal(bundled.length, 4);
  assert.ok(bundled.every((t) => t.length === 120));
});
