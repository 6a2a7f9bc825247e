import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reproduceHarmonyBatch } from '../src/simulate/reproduce-harmonybatch.ts';

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
  assert.match(md, /VGG19 \| cost saving vs BATCH \| 50 %/);
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
  const saved = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(saved.minutes, 10);
});
