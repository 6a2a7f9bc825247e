import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deepRecSysSizes } from '../../src/workload/query-sizes.ts';
import { SimulationOracle } from '../../src/simulate/oracle.ts';
import { expandCounts, findAllowableThroughput } from '../../src/simulate/cluster.ts';
import { LatencyTable } from '../../src/predict/latency-table.ts';
import { distributorFactory } from '../../src/simulate/distributors.ts';

const types = ['g4dn.xlarge', 'c5n.2xlarge', 'r5n.large', 't3.xlarge'];
const configs = [
  { 'g4dn.xlarge': 1, 'c5n.2xlarge': 0, 'r5n.large': 2, 't3.xlarge': 0 },
  { 'g4dn.xlarge': 1, 'c5n.2xlarge': 0, 'r5n.large': 0, 't3.xlarge': 0 },
  { 'g4dn.xlarge': 2, 'c5n.2xlarge': 0, 'r5n.large': 0, 't3.xlarge': 0 },
];
const common = {
  model: 'wnd',
  distributor: { name: 'kairos' as const, baseType: 'g4dn.xlarge' },
  sizes: deepRecSysSizes(),
  typeOrder: types,
  queries: 1500,
  steps: 5,
};

test('the simulation oracle gives the same answers in worker threads as in-thread, index-aligned', async () => {
  const request = { configs, qosMs: 25, percentile: 99 };
  const progress: number[] = [];
  const threaded = await new SimulationOracle({ ...common, workers: 2 }).evaluate(request, (d) =>
    progress.push(d),
  );
  const inline = await new SimulationOracle({ ...common, workers: 0 }).evaluate(request);
  assert.deepEqual(threaded, inline);
  assert.deepEqual(progress, [1, 2, 3]);
  // Index alignment: each result is the allowable throughput of its own configuration.
  const table = LatencyTable.bundled('wnd');
  configs.forEach((c, i) => {
    const direct = findAllowableThroughput({
      table,
      instances: expandCounts(c, types),
      createDistributor: distributorFactory(common.distributor),
      qosMs: 25,
      sizes: common.sizes,
      queries: common.queries,
      seeds: [1],
      steps: common.steps,
    });
    assert.equal(inline[i].allowableQps, direct.allowableQps);
  });
  // Two base instances serve more than one.
  assert.ok(inline[2].allowableQps > inline[1].allowableQps);
});
