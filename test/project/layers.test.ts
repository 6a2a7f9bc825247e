/**
 * The layering of src/ (DEVELOPERS.md, "Layers") is enforced by ESLint rules generated in
 * eslint.config.js; `npm run lint` applies them to the tree. Here: the rules catch an upward
 * import in each form (static, type-only, re-export, dynamic) and leave downward imports alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });

async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath });
  return r!.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => `${m.line}:${m.message}`);
}

test('an upward import is an error in every form; downward imports are not', async () => {
  const up = await layerErrors(
    'src/model/layers-probe.ts',
    [
      "import { Gateway } from '../serve/gateway.ts';",
      "import type { Rng } from '../workload/rng.ts';",
      "export { runLoop } from '../simulate/engine.ts';",
      "export const io = () => import('../cli/io.ts');",
      'export type G = [Gateway, Rng];',
    ].join('\n'),
  );
  assert.deepEqual(
    up.map((m) => Number(m.split(':')[0])),
    [1, 2, 3, 4],
  );
  assert.ok(up.every((m) => m.includes('DEVELOPERS.md')));

  const nested = await layerErrors(
    'src/plan/cluster/layers-probe.ts',
    "import { VirtualTimeSource } from '../../dispatch/timers.ts';\nexport const v = VirtualTimeSource;\n",
  );
  assert.equal(nested.length, 1, 'plan and dispatch share a layer: neither imports the other');

  const down = await layerErrors(
    'src/serve/layers-probe.ts',
    [
      "import { HetserveError } from '../model/errors.ts';",
      "import { Rng } from '../workload/rng.ts';",
      "import { createBatchManager } from '../dispatch/batch-manager.ts';",
      "export const m = () => import('../predict/latency-table.ts');",
      'export const all = [HetserveError, Rng, createBatchManager];',
    ].join('\n'),
  );
  assert.deepEqual(down, []);
});

test('the CLI may import every layer', async () => {
  const r = await layerErrors(
    'src/cli/commands/layers-probe.ts',
    "import { Gateway } from '../../serve/gateway.ts';\nimport { reproduceKairos } from '../../experiments/index.ts';\nexport const x = [Gateway, reproduceKairos];\n",
  );
  assert.deepEqual(r, []);
});

test('hdr-histogram-js and linear-sum-assignment are imported for their types only (costly loads nothing needs at start)', async () => {
  const rule = async (code: string): Promise<number[]> => {
    const [r] = await eslint.lintText(code, { filePath: 'src/serve/hdr-probe.ts' });
    return r!.messages
      .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
      .map((m) => m.line);
  };
  assert.deepEqual(
    await rule(
      [
        "import * as hdr from 'hdr-histogram-js';",
        "import { build } from 'hdr-histogram-js';",
        "import type { Histogram } from 'hdr-histogram-js';",
        "import Int32HistogramModule from 'hdr-histogram-js/dist/Int32Histogram.js';",
        "import { linearSumAssignment } from 'linear-sum-assignment';",
        "import type { linearSumAssignment as Lsa } from 'linear-sum-assignment';",
        'export const x = [hdr, build, Int32HistogramModule, linearSumAssignment] as const;',
        'export type H = [Histogram, Lsa];',
      ].join('\n'),
    ),
    [1, 2, 5],
  );
});
