/**
 * Cluster mode in virtual time: query sizes reach the distributor, the pool changes under load
 * without losing or duplicating a query, and the re-allocation grows and shrinks the pool; the
 * default rule verifies a proposed change with measured capacities before making it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import { LatencyTable } from '../../src/predict/latency-table.ts';
import {
  planReallocation,
  sizeMixFromObservations,
  verifyReallocation,
} from '../../src/plan/cluster/realloc.ts';
import type { ClusterOracle } from '../../src/plan/cluster/oracle.ts';
import { ClusterModeSchema } from '../../src/model/serve-config.ts';
import { deepRecSysSizes } from '../../src/workload/query-sizes.ts';
import { seededRandom } from '../../src/model/random.ts';
import { ClusterService, type ClusterReallocOptions } from '../../src/serve/cluster.ts';
import { GatewayMetrics } from '../../src/serve/metrics.ts';
import type { Backend } from '../../src/serve/backends/types.ts';
import type { Answer } from '../../src/serve/service.ts';
import type { ModelIO } from '../../src/serve/tensors.ts';

const table = LatencyTable.bundled('rm2');
const IO: ModelIO = {
  name: 'm',
  platform: 't',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
  outputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
};
const PRICES = { 'g4dn.xlarge': 0.526, 'r5n.large': 0.149, 't3.xlarge': 0.1664, 'c5n.2xlarge': 0.432 };

/** Backends answering in virtual time after the table's mean at the query's size; every call counted. */
function harness() {
  const clock = new VirtualTimeSource();
  const calls: { backend: string; id: number; size: number }[] = [];
  const closed = new Set<string>();
  const make = (name: string, type: string): Backend => ({
    kind: 'virtual',
    id: name,
    start: async () => IO,
    infer: (b) =>
      new Promise((resolve) => {
        const size = b.querySize ?? b.size;
        calls.push({ backend: name, id: Number((b.inputs[0].data as ArrayLike<number>)[0]), size });
        clock.setTimer(clock.now() + table.meanMs(type, Math.min(size, 1000)) / 1000, () =>
          resolve(b.inputs),
        );
      }),
    close: async () => void closed.add(name),
  });
  const flush = () => new Promise((r) => setImmediate(r));
  /** Fire timers up to `t`, letting each callback's promise chain settle before the next. */
  const advance = async (t: number) => {
    await flush();
    while (clock.nextTime() <= t) {
      clock.runNext();
      await flush();
    }
    clock.advanceTo(t);
  };
  return { clock, calls, closed, make, advance, flush };
}

function service(
  h: ReturnType<typeof harness>,
  pool: [string, string][],
  realloc?: Partial<ClusterReallocOptions>,
) {
  return new ClusterService({
    io: IO,
    apps: [{ name: 'a', slo: 100, rps: 1 }],
    instances: pool.map(([name, type]) => ({ name, type, backend: h.make(name, type) })),
    qosMs: 350,
    baseType: 'g4dn.xlarge',
    estimateMs: (t, s) => table.meanMs(t, Math.min(s, 1000)),
    prices: PRICES,
    timers: h.clock,
    metrics: new GatewayMetrics(false),
    logger: pino({ level: 'silent' }),
    windowS: 10,
    ...(realloc
      ? {
          realloc: {
            table,
            types: Object.entries(PRICES).map(([name, priceUsdPerHour]) => ({ name, priceUsdPerHour })),
            budgetUsdPerHour: 2.5,
            intervalS: 1e9,
            margin: 0.1,
            headroom: 1.25,
            startInstance: async (type, name) => h.make(name, type),
            ...realloc,
          },
        }
      : {}),
  });
}

const req = (i: number, size: number) => ({
  id: undefined,
  app: 'a',
  deadlineMs: undefined,
  priority: undefined,
  samples: [[i, 0]],
  rows: 1,
  outputs: undefined,
  querySize: size,
});

test('query sizes reach the distributor: large queries go to the GPU type, small ones to the CPU type', async () => {
  const h = harness();
  const svc = service(h, [
    ['gpu0', 'g4dn.xlarge'],
    ['cpu0', 'r5n.large'],
    ['cpu1', 'r5n.large'],
  ]);
  const answers: Promise<Answer>[] = [];
  // Rounds of one large (900 items: r5n.large needs 363 ms, over the 350 ms QoS) and four small queries.
  for (let r = 0; r < 5; r++) {
    for (let k = 0; k < 5; k++) answers.push(svc.infer(req(r * 5 + k, k === 2 ? 900 : 10), 'a'));
    await h.advance(h.clock.now() + 0.3);
  }
  await h.advance(h.clock.now() + 5);
  for (const a of await Promise.all(answers)) assert.ok(a.ok);
  const large = h.calls.filter((c) => c.size === 900);
  const small = h.calls.filter((c) => c.size === 10);
  assert.equal(large.length, 5);
  assert.deepEqual(new Set(large.map((c) => c.backend)), new Set(['gpu0']));
  assert.ok(
    small.filter((c) => c.backend !== 'gpu0').length >= 18,
    `small on CPUs: ${small.map((c) => c.backend)}`,
  );
  // per-size-bucket and per-type metrics
  const text = await svc['opts'].metrics.registry.metrics();
  assert.match(
    text,
    /hetserve_cluster_queries_total\{model="m",type="g4dn.xlarge",size_bucket="501-1000",qos="met"\} 5/,
  );
  assert.match(
    text,
    /hetserve_cluster_query_seconds_count\{model="m",type="r5n.large",size_bucket="1-10"\} \d+/,
  );
  await svc.close();
});

test('pool changes under load: every query answered exactly once, removed instances drained and closed', async () => {
  const h = harness();
  const svc = service(
    h,
    [
      ['gpu0', 'g4dn.xlarge'],
      ['cpu0', 't3.xlarge'],
    ],
    {},
  );
  const rand = seededRandom(7);
  const mix = deepRecSysSizes();
  const draw = () => {
    let u = rand();
    for (let k = 0; k < mix.sizes.length; k++) if ((u -= mix.probabilities[k]) <= 0) return mix.sizes[k];
    return mix.sizes[mix.sizes.length - 1];
  };
  const N = 600;
  const answers: Promise<Answer>[] = [];
  const changes: Record<string, number>[] = [
    { 'g4dn.xlarge': 2, 'r5n.large': 6 },
    { 'g4dn.xlarge': 1, 't3.xlarge': 1, 'r5n.large': 2 },
    { 'g4dn.xlarge': 1, 'c5n.2xlarge': 3 },
    { 'g4dn.xlarge': 2 },
  ];
  let queuedAtChange = 0;
  for (let i = 0; i < N; i++) {
    answers.push(svc.infer(req(i, draw()), 'a'));
    if (i % 150 === 75) {
      queuedAtChange = Math.max(queuedAtChange, svc.queued);
      void svc.resize(changes[(i - 75) / 150]);
    }
    await h.advance(h.clock.now() + 0.02); // 50 q/s: more than 2 instances serve, so queries wait
  }
  await h.advance(h.clock.now() + 600);
  const got = await Promise.all(answers);
  got.forEach((a, i) => {
    assert.ok(a.ok, `query ${i}`);
    if (a.ok) assert.equal((a.outputs[0].data as ArrayLike<number>)[0], i);
  });
  assert.ok(queuedAtChange > 2, `queries waiting when the pool changed: ${queuedAtChange}`);
  // exactly once: one backend call per query, each id once
  assert.equal(h.calls.length, N);
  assert.equal(new Set(h.calls.map((c) => c.id)).size, N);
  assert.deepEqual(svc.pool(), { 'g4dn.xlarge': 2 });
  // every removed instance (all but the two GPUs left) is closed once drained
  const live = new Set(svc.instances().map((x) => x.name));
  assert.equal(live.size, 2);
  const used = new Set(h.calls.map((c) => c.backend));
  for (const b of used) if (!live.has(b)) assert.ok(h.closed.has(b), `${b} closed`);
  assert.equal(svc.queued, 0);
  await svc.close();
});

test('re-allocation follows the load: grows for a high rate, shrinks when it falls, keeps within the margin', async () => {
  const h = harness();
  const svc = service(h, [['gpu0', 'g4dn.xlarge']], {});
  const answers: Promise<Answer>[] = [];
  for (let i = 0; i < 400; i++) {
    answers.push(svc.infer(req(i, 100 + (i % 5) * 50), 'a'));
    await h.advance(h.clock.now() + 0.02);
  }
  const up = await svc.reallocate();
  assert.equal(up?.action, 'grow');
  const grown = svc.pool();
  assert.ok(Object.values(grown).reduce((a, b) => a + b, 0) > 1, JSON.stringify(grown));
  assert.ok(up!.wantedCapacityQps >= 50 * 1.25 * 0.95, JSON.stringify(up));
  await h.advance(h.clock.now() + 300);
  // the rate falls to about 1 q/s: a cheaper pool suffices
  for (let i = 0; i < 12; i++) {
    answers.push(svc.infer(req(400 + i, 150), 'a'));
    await h.advance(h.clock.now() + 1);
  }
  const down = await svc.reallocate();
  assert.equal(down?.action, 'shrink');
  assert.ok(down!.wantedCostUsdPerHour < up!.wantedCostUsdPerHour);
  await h.advance(h.clock.now() + 300);
  for (const a of await Promise.all(answers)) assert.ok(a.ok);
  assert.equal(h.calls.length, 412);
  const s = svc.summary();
  assert.ok(s.costUsdPerHour <= 2.5 && s.costUsdPerHour > 0);
  await svc.close();
});

test('planReallocation: hysteresis and budget', () => {
  const sizes = sizeMixFromObservations([150, 150, 190, 400, 20], table);
  const types = Object.entries(PRICES).map(([name, priceUsdPerHour]) => ({ name, priceUsdPerHour }));
  const base = {
    table,
    types,
    baseType: 'g4dn.xlarge',
    budgetUsdPerHour: 2.5,
    qosMs: 350,
    sizes,
    margin: 0.1,
    headroom: 1.25,
  };
  const d = planReallocation({ ...base, rateQps: 60, current: { 'g4dn.xlarge': 1 } });
  assert.equal(d.action, 'grow');
  assert.ok(d.wantedCapacityQps >= 75 && d.wantedCostUsdPerHour <= 2.5);
  // the wanted pool itself: keep
  const same = planReallocation({ ...base, rateQps: 60, current: d.target });
  assert.equal(same.action, 'keep');
  // a slightly lower rate: the current pool still covers it and a cheaper one is not cheaper by the margin
  const near = planReallocation({ ...base, rateQps: 57, current: d.target });
  if (near.wantedCostUsdPerHour >= d.wantedCostUsdPerHour * 0.9) assert.equal(near.action, 'keep');
  else assert.equal(near.action, 'shrink');
  // over budget: shrink even with enough capacity
  const over = planReallocation({ ...base, budgetUsdPerHour: 1, rateQps: 1, current: { 'g4dn.xlarge': 3 } });
  assert.equal(over.action, 'shrink');
  assert.ok(over.wantedCostUsdPerHour <= 1);
  assert.throws(() => planReallocation({ ...base, margin: 1.5, rateQps: 1, current: {} }), /margin/);
});

/** An oracle measuring `perGpu` q/s per base instance and `perAux` per other one (default 0). */
function gpuOnlyOracle(
  perGpu: number,
): ClusterOracle & { configs: Record<string, number>[]; perGpu: number; perAux: number } {
  const o = {
    name: 'gpu-only',
    perGpu,
    perAux: 0,
    configs: [] as Record<string, number>[],
    evaluate: async (req: { configs: readonly Record<string, number>[] }) => {
      o.configs.push(...req.configs);
      return req.configs.map((c) => ({ allowableQps: measure(c) }));
    },
  };
  const measure = (c: Record<string, number>): number =>
    Object.entries(c).reduce((s, [t, n]) => s + n * (t === 'g4dn.xlarge' ? o.perGpu : o.perAux), 0);
  return o;
}

test('verifyReallocation: the cheapest candidate measured to cover the need, hysteresis on measurements', async () => {
  const sizes = sizeMixFromObservations([150, 150, 190, 400, 20], table);
  const types = Object.entries(PRICES).map(([name, priceUsdPerHour]) => ({ name, priceUsdPerHour }));
  const input = {
    table,
    types,
    baseType: 'g4dn.xlarge',
    budgetUsdPerHour: 2.5,
    qosMs: 350,
    sizes,
    margin: 0.1,
    headroom: 1.25,
    rateQps: 40,
    current: { 'g4dn.xlarge': 1 },
  };
  const d = planReallocation(input);
  assert.equal(d.action, 'grow');
  assert.equal(d.mode, 'cover');
  assert.equal(d.candidates.length, 5);
  assert.deepEqual(d.candidates[0], d.wanted);
  const costOf = (c: Record<string, number>) =>
    Object.entries(c).reduce((s, [t, n]) => s + n * PRICES[t as keyof typeof PRICES], 0);
  for (let k = 1; k < d.candidates.length; k++)
    assert.ok(costOf(d.candidates[k]) >= costOf(d.candidates[k - 1]) - 1e-9, 'candidates cheapest first');
  // The oracle says only GPUs serve (30 q/s each): a candidate with enough GPUs covers 50 q/s, or none does.
  const oracle = gpuOnlyOracle(30);
  const v = await verifyReallocation(input, d, oracle);
  assert.deepEqual(oracle.configs[0], {
    ...Object.fromEntries(types.map((t) => [t.name, 0])),
    'g4dn.xlarge': 1,
  });
  assert.equal(oracle.configs.length, 1 + d.candidates.length, 'the current pool and each candidate');
  assert.equal(v.verified?.currentQps, 30);
  const gpus = d.candidates.map((c) => c['g4dn.xlarge']);
  const firstCovering = gpus.findIndex((g) => g * 30 >= d.needQps);
  const expected = firstCovering >= 0 ? firstCovering : gpus.indexOf(Math.max(...gpus));
  assert.deepEqual(v.wanted, d.candidates[expected]);
  assert.equal(v.wantedCapacityQps, 30 * gpus[expected]);
  assert.equal(v.action, gpus[expected] > 1 ? 'grow' : 'keep');
  // measurements within the margin of the current pool: keep, even though the bound wanted a change
  const flat = await verifyReallocation(input, d, {
    name: 'flat',
    evaluate: async (req) => req.configs.map(() => ({ allowableQps: 10 })),
  });
  assert.equal(flat.action, 'keep');
  assert.deepEqual(flat.target, { ...Object.fromEntries(types.map((t) => [t.name, 0])), 'g4dn.xlarge': 1 });
  // a keep is not verified: no simulation
  const idle = gpuOnlyOracle(30);
  const k = planReallocation({ ...input, current: d.target });
  assert.equal(k.action, 'keep');
  assert.equal(await verifyReallocation({ ...input, current: d.target }, k, idle), k);
  assert.equal(idle.configs.length, 0);
});

test('re-allocation with the verifier: a change the measurements do not support is not made; one they support is', async () => {
  const h = harness();
  const oracle = gpuOnlyOracle(1000);
  let mixes = 0;
  const svc = service(h, [['gpu0', 'g4dn.xlarge']], {
    verify: (mix) => {
      mixes++;
      assert.ok(mix.sizes.length > 0);
      return oracle;
    },
  });
  const answers: Promise<Answer>[] = [];
  for (let i = 0; i < 400; i++) {
    answers.push(svc.infer(req(i, 100 + (i % 5) * 50), 'a'));
    await h.advance(h.clock.now() + 0.02);
  }
  // By the bound one GPU is short of 50 q/s × 1.25; measured (1000 q/s per GPU) it is plenty: keep.
  const d = await svc.reallocate();
  assert.equal(mixes, 1);
  assert.ok(d?.verified, 'verified');
  assert.equal(d!.action, 'keep');
  assert.deepEqual(svc.pool(), { 'g4dn.xlarge': 1 });
  // Measured at 20 q/s per GPU and 2 per auxiliary, no candidate covers 62.5 q/s: the pool grows
  // to the candidate measured best (the best-ranked within 5 % of it), not to the bound's cheapest.
  oracle.perGpu = 20;
  oracle.perAux = 2;
  const g = await svc.reallocate();
  assert.equal(g?.action, 'grow');
  const m = g!.candidates.map((c) =>
    Object.entries(c).reduce((s, [t, n]) => s + n * (t === 'g4dn.xlarge' ? 20 : 2), 0),
  );
  assert.ok(Math.max(...m) < g!.needQps);
  assert.deepEqual(g!.verified?.candidatesQps, m);
  assert.deepEqual(g!.wanted, g!.candidates[m.findIndex((q) => q >= 0.95 * Math.max(...m))]);
  const nonZero = (c: Record<string, number>) =>
    Object.fromEntries(Object.entries(c).filter(([, n]) => n > 0));
  assert.deepEqual(nonZero(svc.pool()), nonZero(g!.target));
  await h.advance(h.clock.now() + 300);
  for (const a of await Promise.all(answers)) assert.ok(a.ok);
  await svc.close();
});

test('realloc config: the verified rule is the default, the bound alone on request', () => {
  const cfg = (select?: string) =>
    ClusterModeSchema.parse({
      mode: 'cluster',
      qosMs: 350,
      baseType: 'g4dn.xlarge',
      kairos: { model: 'rm2' },
      instances: [{ name: 'g', type: 'g4dn.xlarge', backend: { type: 'replay', latency: 1 } }],
      realloc: {
        budgetUsdPerHour: 2,
        pool: [{ type: 'g4dn.xlarge', backend: { type: 'replay', latency: 1 } }],
        ...(select ? { select } : {}),
      },
    });
  assert.equal(cfg().realloc?.select, 'verified');
  assert.equal(cfg('bound').realloc?.select, 'bound');
  assert.throws(() => cfg('similarity'), /select/);
});

test(
  'the gateway set-up wires the default rule: a re-allocation is verified by the simulator',
  { timeout: 60_000 },
  async () => {
    // Real time and real replay backends (rm2 samples), so the set-up's own verifier (the simulator
    // in a worker thread) decides; the decision must carry its measurements and the pool must follow it.
    const { parseServeConfig } = await import('../../src/model/serve-config.ts');
    const { startClusterService } = await import('../../src/serve/cluster-setup.ts');
    const { createBackend } = await import('../../src/serve/backends/index.ts');
    const { RealTimeSource } = await import('../../src/dispatch/timers.ts');
    const rb = (type: string) => ({ type: 'replay', latency: { kairos: { model: 'rm2', type } } });
    const config = parseServeConfig({
      models: [{ name: 'rm2', inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }] }],
      applications: [{ name: 'a', slo: 3.5, rps: 30 }],
      serving: {
        mode: 'cluster',
        qosMs: 350,
        baseType: 'g4dn.xlarge',
        kairos: { model: 'rm2' },
        instances: [{ name: 'g0', type: 'g4dn.xlarge', backend: rb('g4dn.xlarge') }],
        realloc: {
          budgetUsdPerHour: 2.5,
          intervalS: 1e6,
          pool: [
            { type: 'g4dn.xlarge', backend: rb('g4dn.xlarge') },
            { type: 'r5n.large', backend: rb('r5n.large') },
          ],
        },
      },
    });
    assert.equal(config.serving.mode === 'cluster' && config.serving.realloc?.select, 'verified');
    const svc = await startClusterService({
      serving: config.serving as Extract<typeof config.serving, { mode: 'cluster' }>,
      model: config.models[0],
      apps: config.applications,
      factory: createBackend,
      baseDir: '.',
      timers: new RealTimeSource(),
      metrics: new GatewayMetrics(false),
      logger: pino({ level: 'silent' }),
      limits: config.limits,
      windowS: 2,
    });
    try {
      const answers: Promise<Answer>[] = [];
      const t0 = performance.now();
      for (let i = 0; performance.now() - t0 < 2000; i++) {
        answers.push(svc.infer(req(i, 50 + (i % 4) * 100), 'a'));
        await new Promise((r) => setTimeout(r, 25));
      }
      const d = await svc.reallocate();
      assert.ok(d, 'a decision');
      // about 40 q/s × 1.25 is far beyond one GPU: the bound proposes a change, which is verified
      assert.ok(d.verified, `measured by the simulator: ${JSON.stringify(d)}`);
      assert.equal(d.verified.candidatesQps.length, d.candidates.length);
      assert.ok(d.verified.candidatesQps.every((q) => q >= 0));
      const nonZero = (c: Record<string, number>) =>
        Object.fromEntries(Object.entries(c).filter(([, n]) => n > 0));
      assert.deepEqual(nonZero(svc.pool()), nonZero(d.target));
      for (const a of await Promise.all(answers)) assert.ok(a.ok);
    } finally {
      await svc.close();
    }
  },
);
