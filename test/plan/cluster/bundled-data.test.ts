// The bundled Kairos profiles are loaded without validation at run time (a cold start would spend
// a third of its time on it): this test is where they are validated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ClusterProfileSchema } from '../../../src/model/cluster.ts';
import {
  KAIROS_MODELS,
  LatencyTable,
  loadBundledClusterProfile,
} from '../../../src/predict/latency-table.ts';

for (const model of KAIROS_MODELS) {
  test(`bundled cluster profile ${model} satisfies ClusterProfileSchema and loads as validated`, () => {
    const file = new URL(`../../../data/kairos/${model}.json.gz`, import.meta.url);
    const doc: unknown = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'));
    const r = ClusterProfileSchema.safeParse(doc);
    assert.ok(r.success, r.success ? '' : `${model}: ${JSON.stringify(r.error.issues.slice(0, 3))}`);
    const loaded = loadBundledClusterProfile(model);
    assert.deepEqual(loaded, r.data);
    // The table builds from it (one row per batch size for every type).
    const table = LatencyTable.fromProfile(loaded);
    assert.deepEqual([...table.batchSizes], r.data.batchSizes);
  });
}
