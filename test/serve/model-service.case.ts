/**
 * The conformance suite every `ModelService` (src/serve/model-service.ts) passes, in virtual time:
 * answers, refusals, deadlines, drain, close, and deadline admission under a flood. Each
 * implementation has one small test file that builds its service from a `ServiceSpec` and calls
 * `runModelServiceConformance`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import type { App } from '../../src/model/app.ts';
import { HetserveError } from '../../src/model/errors.ts';
import type { Backend } from '../../src/serve/backends/types.ts';
import type { Answer, ModelService } from '../../src/serve/model-service.ts';
import type { DecodedRequest, ModelIO } from '../../src/serve/tensors.ts';

export const IO: ModelIO = {
  name: 'echo',
  platform: 'test',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
  outputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
};

/** What the service under test must be built with. */
export interface ServiceSpec {
  /** Applications of the model; the first is the one floods come from. */
  apps: App[];
  /** Backend calls that can run at once (plan group slots, or pool instances). */
  slots: number;
  /** Virtual seconds each backend call takes (the latency the service is told to expect). */
  latencyS: number;
  /** What a backend call does: answer its inputs, fail, or never answer until aborted. */
  behaviour: 'echo' | 'fail' | 'hang';
  clock: VirtualTimeSource;
  /** Backends the service creates, each made by this (counts its calls and closes). */
  backend: (id: string) => Backend;
}

/** Builds a started service for a spec. */
export type ServiceFactory = (spec: ServiceSpec) => Promise<ModelService>;

const APPS: App[] = [
  { name: 'flood', slo: 0.5, rps: 30 },
  { name: 'quiet', slo: 0.5, rps: 10 },
];

const request = (values: number[], rows = 1, deadlineMs?: number): DecodedRequest => ({
  id: undefined,
  app: undefined,
  deadlineMs,
  priority: undefined,
  samples: [values],
  rows,
  outputs: undefined,
});

/** Backends answering in virtual time; each call and close counted. */
function harness(behaviour: ServiceSpec['behaviour'], latencyS: number, slots = 1) {
  const clock = new VirtualTimeSource();
  const counts = { calls: 0, closed: 0, created: 0 };
  const backend = (id: string): Backend => {
    counts.created++;
    return {
      kind: 'virtual',
      id,
      concurrency: slots,
      start: async () => IO,
      infer: (b) =>
        new Promise((resolve, reject) => {
          counts.calls++;
          if (behaviour === 'fail') return reject(new HetserveError('E_BACKEND_FAILED', `${id}: down`));
          const signal = b.signal;
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          if (behaviour === 'echo') clock.setTimer(clock.now() + latencyS, () => resolve(b.inputs));
        }),
      close: async () => void counts.closed++,
    };
  };
  const flush = () => new Promise((r) => setImmediate(r));
  /** Fire timers up to `t`, letting each callback's promise chain settle before the next. */
  const advance = async (t: number) => {
    await flush();
    while (clock.nextTime() <= t) {
      clock.runNext();
      await flush();
    }
    clock.advanceTo(t);
    await flush();
  };
  return { clock, counts, backend, advance };
}

async function build(
  factory: ServiceFactory,
  behaviour: ServiceSpec['behaviour'],
  opts: { slots?: number; latencyS?: number } = {},
) {
  const slots = opts.slots ?? 1;
  const latencyS = opts.latencyS ?? 0.01;
  const h = harness(behaviour, latencyS, slots);
  const service = await factory({
    apps: APPS.map((a) => ({ ...a })),
    slots,
    latencyS,
    behaviour,
    clock: h.clock,
    backend: h.backend,
  });
  return { ...h, service };
}

/** The answer, settled; fails the test when it is still pending. */
async function settled(p: Promise<Answer>): Promise<Answer> {
  const pending = Symbol('pending');
  const r = await Promise.race([p, new Promise<typeof pending>((res) => setImmediate(() => res(pending)))]);
  assert.notEqual(r, pending, 'the answer is still pending');
  return r as Answer;
}

export function runModelServiceConformance(name: string, factory: ServiceFactory): void {
  test(`${name}: answers a known app with its outputs, times it on the service's clock and counts its rate`, async () => {
    const { service, advance, clock } = await build(factory, 'echo', { latencyS: 0.02 });
    try {
      assert.deepEqual(service.appNames().sort(), ['flood', 'quiet']);
      assert.equal(service.hasApp('quiet'), true);
      assert.equal(service.hasApp('nope'), false);
      const p = service.infer(request([1, 2]), 'quiet');
      assert.equal(service.queued, 1);
      await advance(clock.now() + 0.1);
      const a = await settled(p);
      assert.ok(a.ok, a.ok ? '' : a.error.message);
      assert.deepEqual(Array.from(a.outputs[0].data as ArrayLike<number>), [1, 2]);
      assert.ok(Math.abs(a.latencyS - 0.02) < 1e-9, `latency ${a.latencyS}`);
      assert.equal(service.queued, 0);
      assert.ok(service.rates()['quiet'] > 0);
      assert.equal(service.rates()['flood'], 0);
      assert.equal(service.snapshot().mode, service.mode);
      assert.equal(service.planned !== undefined, service.mode === 'serverless');
    } finally {
      await service.close();
    }
  });

  test(`${name}: a request of several rows is answered whole, rows in order`, async () => {
    const { service, advance, clock } = await build(factory, 'echo');
    try {
      const p = service.infer(request([1, 2, 3, 4, 5, 6], 3), 'flood');
      await advance(clock.now() + 1);
      const a = await settled(p);
      assert.ok(a.ok, a.ok ? '' : a.error.message);
      assert.deepEqual(a.outputs[0].shape, [3, 2]);
      assert.deepEqual(Array.from(a.outputs[0].data as ArrayLike<number>), [1, 2, 3, 4, 5, 6]);
    } finally {
      await service.close();
    }
  });

  test(`${name}: an unknown app is refused at once with E_UNKNOWN_APP naming it`, async () => {
    const { service } = await build(factory, 'echo');
    try {
      const a = await settled(service.infer(request([1, 2]), 'nope'));
      assert.equal(a.ok, false);
      if (!a.ok) {
        assert.equal(a.error.code, 'E_UNKNOWN_APP');
        assert.equal(a.error.details['value'], 'nope');
      }
      assert.equal(service.queued, 0);
    } finally {
      await service.close();
    }
  });

  test(`${name}: a backend that fails everywhere answers E_BACKEND_FAILED, nothing left in flight`, async () => {
    const { service, advance, clock, counts } = await build(factory, 'fail', { slots: 2 });
    try {
      const p = service.infer(request([1, 2]), 'flood');
      await advance(clock.now() + 0.1);
      const a = await settled(p);
      assert.equal(a.ok, false);
      if (!a.ok) assert.equal(a.error.code, 'E_BACKEND_FAILED');
      assert.ok(counts.calls >= 1);
      assert.equal(service.queued, 0);
    } finally {
      await service.close();
    }
  });

  test(`${name}: a backend that never answers: E_BACKEND_TIMEOUT at the hard deadline (deadline_ms), not before`, async () => {
    const { service, advance, clock } = await build(factory, 'hang');
    try {
      const t0 = clock.now();
      let answered: number | undefined;
      const p = service.infer(request([1, 2], 1, 300), 'flood').then((a) => {
        answered = clock.now();
        return a;
      });
      await advance(t0 + 0.29);
      assert.equal(answered, undefined, 'answered before its deadline');
      await advance(t0 + 0.31);
      const a = await settled(p);
      assert.equal(a.ok, false);
      if (!a.ok) assert.equal(a.error.code, 'E_BACKEND_TIMEOUT');
      assert.ok(Math.abs(answered! - t0 - 0.3) < 1e-3, `answered at ${answered! - t0}`);
      assert.equal(service.queued, 0);
    } finally {
      await service.close();
    }
  });

  test(`${name}: a request's deadlines and latency count from its arrival at the front end, not from when the service got it`, async () => {
    const { service, advance, clock } = await build(factory, 'hang');
    try {
      await advance(1);
      // Seen by the front end 0.2 s ago (reading, parsing): 0.1 s of its 300 ms remain.
      const t0 = clock.now();
      let answered: number | undefined;
      const p = service.infer({ ...request([1, 2], 1, 300), arrival: t0 - 0.2 }, 'flood').then((a) => {
        answered = clock.now();
        return a;
      });
      await advance(t0 + 0.09);
      assert.equal(answered, undefined, 'answered before its deadline');
      await advance(t0 + 0.11);
      const a = await settled(p);
      assert.equal(!a.ok && a.error.code, 'E_BACKEND_TIMEOUT');
      assert.ok(Math.abs(answered! - t0 - 0.1) < 1e-3, `answered at ${answered! - t0}`);
    } finally {
      await service.close();
    }
    const echo = await build(factory, 'echo', { latencyS: 0.05 });
    try {
      await echo.advance(1);
      const t0 = echo.clock.now();
      const p = echo.service.infer({ ...request([1, 2]), arrival: t0 - 0.2 }, 'quiet');
      await echo.advance(t0 + 0.1);
      const a = await settled(p);
      assert.ok(a.ok && Math.abs(a.latencyS - 0.25) < 1e-6, JSON.stringify(a));
      // Past its whole SLO already: admission refuses it (nothing else is queued, so only the
      // deadline can refuse it) or it is answered late; never counted as in time.
      const late = echo.service.infer({ ...request([1, 2]), arrival: echo.clock.now() - 0.6 }, 'quiet');
      await echo.advance(echo.clock.now() + 0.1);
      const b = await settled(late);
      assert.ok(!b.ok || b.latencyS > 0.5, JSON.stringify(b));
    } finally {
      await echo.service.close();
    }
  });

  test(`${name}: drain refuses new requests with E_SHUTTING_DOWN and resolves once the last is answered`, async () => {
    const { service, advance, clock } = await build(factory, 'echo', { latencyS: 0.05 });
    try {
      const first = service.infer(request([1, 2]), 'flood');
      const drained = service.drain(5);
      const late = await settled(service.infer(request([3, 4]), 'quiet'));
      assert.equal(late.ok, false);
      if (!late.ok) assert.equal(late.error.code, 'E_SHUTTING_DOWN');
      await advance(clock.now() + 0.2);
      assert.equal((await settled(first)).ok, true);
      assert.equal(await drained, true);
    } finally {
      await service.close();
    }
  });

  test(`${name}: close closes every backend it created`, async () => {
    const { service, counts } = await build(factory, 'echo', { slots: 2 });
    assert.ok(counts.created >= 1);
    await service.close();
    assert.ok(counts.closed >= counts.created, `${counts.closed} of ${counts.created} closed`);
  });

  test(`${name}: a flood at 3x capacity is shed at once with 429 and Retry-After; admitted requests meet their deadline; the quiet app is never refused`, async () => {
    const slots = 2;
    const latencyS = 0.05;
    const capacity = slots / latencyS; // 40 req/s
    const durationS = 6;
    const { service, advance, clock } = await build(factory, 'echo', { slots, latencyS });
    try {
      const arrivals: { t: number; app: string }[] = [];
      for (let t = 0; t < durationS; t += 1 / (3 * capacity)) arrivals.push({ t, app: 'flood' });
      for (let t = 0.0011; t < durationS; t += 1 / 5) arrivals.push({ t, app: 'quiet' });
      arrivals.sort((x, y) => x.t - y.t);
      const results: { app: string; at: number; settledAt?: number; answer?: Answer }[] = [];
      const all: Promise<void>[] = [];
      for (const x of arrivals) {
        await advance(x.t);
        const r: (typeof results)[number] = { app: x.app, at: clock.now() };
        results.push(r);
        all.push(
          service.infer(request([x.t, 0]), x.app).then((a) => {
            r.answer = a;
            r.settledAt = clock.now();
          }),
        );
      }
      await advance(durationS + 2);
      await Promise.all(all);
      const refused = results.filter((r) => !r.answer!.ok);
      const ok = results.filter((r) => r.answer!.ok);
      assert.ok(refused.length > 0, 'nothing refused under 3x capacity');
      for (const r of refused) {
        const a = r.answer!;
        if (a.ok) continue;
        assert.equal(a.error.code, 'E_OVERLOADED', a.error.message);
        assert.equal(a.error.httpStatus, 429);
        assert.ok((a.error.details['retryAfterS'] as number) >= 1);
        assert.equal(r.settledAt, r.at, 'a refusal is answered at once');
        assert.equal(r.app, 'flood', 'the quiet app was refused');
      }
      for (const r of ok) {
        const a = r.answer!;
        if (a.ok) assert.ok(a.latencyS <= 0.5 + 1e-9, `admitted ${r.app} answered after ${a.latencyS} s`);
      }
      // Goodput: the pool stays busy with requests that make their deadline.
      assert.ok(ok.length >= 0.85 * capacity * durationS, `goodput ${ok.length} of ${capacity * durationS}`);
      assert.equal(service.queued, 0);
    } finally {
      await service.close();
    }
  });
}
