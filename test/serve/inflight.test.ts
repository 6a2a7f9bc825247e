/**
 * models[].maxInFlight: how many batches of a plan group the serverless service lets into its
 * backend at once (the batch manager holds the rest), and that every batch's slot is given back
 * whether the backend answers, fails or hangs past the deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HetserveError } from '../../src/model/errors.ts';
import { ReplayBackend } from '../../src/serve/backends/replay.ts';
import type { Backend, BackendContext } from '../../src/serve/backends/types.ts';
import { parseServeConfig, type BackendConfig } from '../../src/model/serve-config.ts';
import type { TimerSource } from '../../src/dispatch/clock.ts';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import { APPS, baseConfig, handPlan, inferBody, post, startGateway, waitFor } from '../helpers/serve.ts';

const ONE_GROUP = () => handPlan([{ apps: APPS.map((a) => a.name), batchSize: 2, timeout: 0.005 }]);

/**
 * Wraps a backend and records how many batches were inside it at once (the probe is ignored).
 * With `overlap`, the first batches wait inside until that many are in at once: whether the
 * service lets them overlap is then a fact of its logic, not of how fast the requests arrived.
 */
function counted(inner: Backend, concurrency?: number, overlap = 1) {
  const stats = { running: 0, max: 0, batches: 0, requests: 0 };
  let reached!: () => void;
  const together = new Promise<void>((r) => (reached = r));
  const b: Backend = {
    kind: inner.kind,
    id: inner.id,
    ...(concurrency !== undefined ? { concurrency } : {}),
    start: () => inner.start(),
    infer: async (batch) => {
      stats.running++;
      stats.max = Math.max(stats.max, stats.running);
      stats.batches++;
      stats.requests += batch.size;
      if (stats.running >= overlap) reached();
      try {
        await together;
        return await inner.infer(batch);
      } finally {
        stats.running--;
      }
    },
    close: () => inner.close(),
  };
  return { b, stats };
}

function io(ctx: BackendContext) {
  return { name: ctx.model.name, platform: 'test', inputs: ctx.model.inputs!, outputs: ctx.model.inputs! };
}

/** `n` requests at once, app a0..a3 in turn, input [i, 0, 0, 0]. */
function burst(url: string, n: number) {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], `a${i % 4}`)),
    ),
  );
}

async function runBurst(
  maxInFlight: number | 'auto' | 'unlimited' | undefined,
  wrap: (
    ctx: BackendContext,
    cfg: BackendConfig,
  ) => { b: Backend; stats: ReturnType<typeof counted>['stats'] },
  n = 12,
  timers?: TimerSource,
) {
  const cfg = baseConfig({
    models: [
      {
        name: 'echo',
        profile: 'VGG19',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
        ...(maxInFlight !== undefined ? { maxInFlight } : {}),
      },
    ],
    serving: { mode: 'serverless', backend: { type: 'replay', latency: 40 } },
    // Queue admission only: the burst must reach the backend whole. Deadline admission predicts from
    // how fast batches have been finishing, so on a slow host it refuses part of the burst (429),
    // which is test/serve/admission.test.ts's subject, not this file's.
    limits: { admission: 'queue' },
  });
  const all: ReturnType<typeof counted>['stats'][] = [];
  const { gw, url } = await startGateway(cfg, {
    planFn: ONE_GROUP,
    backendFactory: (c, ctx) => {
      const w = wrap(ctx, c);
      if (!ctx.id.endsWith('probe')) all.push(w.stats);
      return w.b;
    },
    ...(timers ? { timers } : {}),
  });
  try {
    const rs = await burst(url, n);
    return { rs, stats: all, queued: gw.serverless('echo').queued };
  } finally {
    await gw.close();
  }
}

const replay = (ctx: BackendContext, cfg: BackendConfig) =>
  new ReplayBackend(cfg as Extract<BackendConfig, { type: 'replay' }>, ctx);

test(
  'maxInFlight 1 with a slow replay backend: never more than one batch inside it, nothing lost',
  { timeout: 120_000 },
  async () => {
    const { rs, stats, queued } = await runBurst(1, (ctx, c) => counted(replay(ctx, c)));
    rs.forEach((r, i) => {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.outputs[0].data[0], i, 'each request gets its own answer');
    });
    assert.equal(stats.length, 1);
    assert.equal(stats[0]!.max, 1);
    assert.equal(stats[0]!.requests, 12, 'every request went through the backend exactly once');
    assert.ok(stats[0]!.batches >= 6);
    assert.equal(queued, 0);
  },
);

test(
  "default 'auto' leaves replay (a function) unlimited: batches overlap inside it",
  { timeout: 120_000 },
  async () => {
    const { rs, stats } = await runBurst(undefined, (ctx, c) => counted(replay(ctx, c), undefined, 2));
    for (const r of rs) assert.equal(r.status, 200);
    assert.ok(stats[0]!.max > 1, `at most ${stats[0]!.max} batch at once`);
  },
);

test(
  "'auto' follows the backend's concurrency (as onnx declares its workers); a number overrides it",
  { timeout: 120_000 },
  async () => {
    const auto = await runBurst('auto', (ctx, c) => counted(replay(ctx, c), 2, 2));
    for (const r of auto.rs) assert.equal(r.status, 200);
    assert.equal(auto.stats[0]!.max, 2);
    assert.equal(auto.stats[0]!.requests, 12);
    const unlimited = await runBurst('unlimited', (ctx, c) => counted(replay(ctx, c), 1, 2));
    for (const r of unlimited.rs) assert.equal(r.status, 200);
    assert.ok(unlimited.stats[0]!.max > 1, "'unlimited' ignores the backend's concurrency");
  },
);

test(
  'a failing backend gives its slot back: every held batch is tried and answered, none hangs',
  { timeout: 120_000 },
  async () => {
    // Virtual time that never advances: every answer comes before any hard deadline could pass,
    // so none of the held batches waited for one.
    const timers = new VirtualTimeSource(0);
    const { rs, stats, queued } = await runBurst(
      1,
      (ctx) =>
        counted({
          kind: 'failing',
          id: ctx.id,
          start: async () => io(ctx),
          infer: async () => {
            await new Promise((r) => setTimeout(r, 5));
            throw new HetserveError('E_BACKEND_FAILED', 'boom');
          },
          close: async () => undefined,
        }),
      12,
      timers,
    );
    for (const r of rs) {
      assert.equal(r.status, 502);
      assert.equal(r.json.code, 'E_BACKEND_FAILED');
    }
    assert.equal(stats[0]!.max, 1);
    assert.equal(stats[0]!.requests, 12);
    assert.equal(queued, 0);
    assert.equal(timers.now(), 0);
  },
);

test(
  'a batch hanging past its deadline gives its slot back: the batches held behind it are served',
  { timeout: 120_000 },
  async () => {
    let calls = 0;
    const cfg = baseConfig({
      models: [
        {
          name: 'echo',
          profile: 'VGG19',
          inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
          maxInFlight: 1,
        },
      ],
    });
    const timers = new VirtualTimeSource(0);
    const { gw, url } = await startGateway(cfg, {
      planFn: ONE_GROUP,
      timers,
      backendFactory: (_c, ctx) => ({
        kind: 'hang-once',
        id: ctx.id,
        start: async () => io(ctx),
        // The first batch never settles, not even when aborted; later ones echo their inputs.
        infer: (b) => (calls++ === 0 ? new Promise(() => {}) : Promise.resolve(b.inputs)),
        close: async () => undefined,
      }),
    });
    const svc = gw.serverless('echo');
    try {
      // a0 (SLO 0.5 s, hard deadline 1 s) fills the first batch; a3 (SLO 1 s, hard 2 s) waits behind it.
      const first = [0, 1].map((i) => post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], 'a0')));
      await waitFor(() => calls === 1, 'the first batch inside the backend');
      const later = [2, 3, 4, 5].map((i) =>
        post(`${url}/v2/models/echo/infer`, inferBody([i, 0, 0, 0], 'a3')),
      );
      await waitFor(() => svc.queued === 6, 'the later requests held behind it');
      assert.equal(calls, 1, 'held while the hung batch has the only slot');
      // a0's hard deadline passes; a3's (2 s) is never reached.
      timers.advanceTo(1);
      for (const r of await Promise.all(first)) {
        assert.equal(r.status, 504);
        assert.equal(r.json.code, 'E_BACKEND_TIMEOUT');
      }
      (await Promise.all(later)).forEach((r, k) => {
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.equal(r.json.outputs[0].data[0], k + 2);
      });
      assert.equal(calls, 3, 'the hung batch, then the two held ones');
      assert.equal(svc.queued, 0);
    } finally {
      await gw.close();
    }
  },
);

test('models[].maxInFlight is validated, naming the field and value', () => {
  for (const bad of [0, -1, 1.5, 'some']) {
    assert.throws(
      () =>
        parseServeConfig(
          baseConfig({
            models: [{ name: 'echo', profile: 'VGG19', maxInFlight: bad as number }],
          }),
        ),
      (e: unknown) =>
        e instanceof HetserveError &&
        e.code === 'E_CONFIG_INVALID' &&
        /models\.0\.maxInFlight/.test(String(e.details.field)) &&
        e.message.includes(JSON.stringify(bad)),
    );
  }
});
