import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reproduceHarmonyBatch } from '../../src/experiments/reproduce-harmonybatch.ts';

test('reproduce harmonybatch (one model, harmony + batch, 10 minutes) writes the report, figures and results', async () => {
  const out = mkdtempSync(join(tmpdir(), 'hetserve-repro-'));
  const steps: string[] = [];
  const { reportPath, summary } = await reproduceHarmonyBatch({
    out,
    quick: true,
    models: ['VGG19'],
    algorithms: ['harmony', 'batch'],
    onProgress: (s) => steps.push(s),
  });
  assert.equal(steps.length, 2 * 10); // one tick per simulated minute and algorithm
  const md = readFileSync(reportPath, 'utf8');
  assert.match(md, /## Paper vs ours/);
  for (const f of ['total-cost', 'slo-violations', 'merging', 'algorithm-time', 'cost-per-minute-vgg19']) {
    assert.ok(existsSync(join(out, `${f}.svg`)) && existsSync(join(out, `${f}.png`)), f);
  }
  const runs = (
    summary as {
      runs: { algorithm: string; requests: number; totalCost: number; sloViolationRate: number }[];
    }
  ).runs;
  assert.deepEqual(
    runs.map((r) => r.algorithm),
    ['harmony', 'batch'],
  );
  // Same trace and seed: both algorithms see the same requests; Harmony is cheaper than BATCH.
  assert.equal(runs[0].requests, runs[1].requests);
  assert.ok(runs[0].totalCost < runs[1].totalCost);
  // The report's own column is the saving of these two runs (the paper column is quoted data).
  const row = /\| VGG19 \| cost saving vs BATCH \| [^|]+ \| ([-\d.]+) % \|/.exec(md);
  assert.ok(row, 'a cost-saving row for VGG19');
  const saving = 100 * (1 - runs[0].totalCost / runs[1].totalCost);
  assert.ok(Math.abs(Number(row[1]) - saving) <= 5e-3 * Math.abs(saving), `${row[1]} % vs ${saving} %`);
  const saved = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(saved.minutes, 10);
});

test('reproduce kairos (one model, quick) writes the report, figure and results; the oracle ranks the top-1 by upper bound', async () => {
  const { reproduceKairos } = await import('../../src/experiments/reproduce-kairos.ts');
  const out = mkdtempSync(join(tmpdir(), 'hetserve-repro-kairos-'));
  const steps: string[] = [];
  const { reportPath } = await reproduceKairos({
    out,
    quick: true,
    // The oracle needs only the top configurations by upper bound to rank the top-1 (the slowest part).
    oracleTop: 2,
    models: ['ncf'],
    onProgress: (s) => steps.push(s),
  });
  assert.ok(steps.length >= 5, steps.join(' | '));
  const md = readFileSync(reportPath, 'utf8');
  assert.match(md, /## Paper vs ours/);
  const { allocate } = await import('../../src/plan/cluster/allocate.ts');
  const a = await allocate({ model: 'ncf', lp: false });
  const top1 = a.pool.map((t) => a.top1.counts[t.name] ?? 0).join(',');
  // the default (top-1 by upper bound) is Kairos' configuration; the paper's similarity pick is placed too
  assert.ok(md.includes(`| ncf | 5 | (${top1}) |`), `Kairos config is not the top-1 (${top1})`);
  const simPick = a.pool.map((t) => a.runnersUp[a.similarity.chosenRank - 1].counts[t.name] ?? 0).join(',');
  assert.ok(
    md.includes(`ncf | the paper's similarity pick (${simPick}) vs oracle`),
    `no similarity row (${simPick})`,
  );
  assert.match(md, /## Where the default does not beat every baseline\n\n(- ncf: |None: )/);
  assert.ok(
    existsSync(join(out, 'allowable-throughput.svg')) && existsSync(join(out, 'allowable-throughput.png')),
  );
  const saved = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
    results: {
      model: string;
      oracle: {
        evaluated: number;
        best: { allowableQps: number };
        ranked: { allowableQps: number }[];
        chosenRank: number;
        top1Rank: number;
        top1OracleQps: number;
      };
    }[];
  };
  const r = saved.results[0]!;
  assert.equal(r.model, 'ncf');
  assert.equal(r.oracle.evaluated, 2); // oracleTop: the oracle simulates the best 2 by upper bound
  const qps = r.oracle.ranked.map((x) => x.allowableQps);
  assert.deepEqual(
    qps,
    [...qps].sort((a, b) => b - a),
  );
  assert.equal(r.oracle.best.allowableQps, qps[0]);
  // The top-1 by upper bound is always among the candidates the oracle simulates.
  assert.ok(r.oracle.top1Rank >= 1 && r.oracle.top1Rank <= 2);
  assert.equal(r.oracle.top1OracleQps, qps[r.oracle.top1Rank - 1]);
  assert.ok(r.oracle.chosenRank >= 1 && r.oracle.chosenRank <= 5);
});
