// The bundled Kairos profiles are loaded without validation at run time (a cold start would spend
// a third of its time on it): this test is where they are validated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

test('the binary copies of the bundled tables (written by the build) read back as the tables the JSON gives', () => {
  const dir = pathToFileURL(`${mkdtempSync(join(tmpdir(), 'hetserve-tables-'))}/`);
  try {
    LatencyTable.writeBundledCaches(dir);
    for (const model of KAIROS_MODELS) {
      const cached = LatencyTable.fromCache(model, dir);
      assert.ok(cached, model);
      const json = LatencyTable.fromProfile(loadBundledClusterProfile(model));
      assert.deepEqual(cached.types, json.types);
      assert.deepEqual(cached.batchSizes, json.batchSizes);
      for (const type of json.types) {
        assert.deepEqual(cached.meanRow(type), json.meanRow(type), `${model} ${type} means`);
        for (const size of json.batchSizes)
          assert.deepEqual(
            cached.samplesMs(type, size),
            json.samplesMs(type, size),
            `${model} ${type} ${size}`,
          );
      }
    }
    // A copy made from another model's data, or a damaged one, is not used.
    copyFileSync(new URL('kairos-rm2.bin', dir), new URL('kairos-dien.bin', dir));
    assert.equal(LatencyTable.fromCache('dien', dir), undefined);
    const rm2 = readFileSync(new URL('kairos-rm2.bin', dir));
    writeFileSync(new URL('kairos-rm2.bin', dir), rm2.subarray(0, rm2.length - 8));
    assert.equal(LatencyTable.fromCache('rm2', dir), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
