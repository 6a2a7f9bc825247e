/**
 * Re-planning while batches run: a backend a new plan reuses must not be retired while the swap
 * awaits the creation of another backend (it once failed with "Cannot read properties of
 * undefined (reading 'users')"), and concurrent swaps must not interleave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { VirtualTimeSource } from '../../src/dispatch/timers.ts';
import type { FunctionConfig, Plan } from '../../src/model/plan.ts';
import type { Backend } from '../../src/serve/backends/types.ts';
import { GatewayMetrics } from '../../src/serve/metrics.ts';
import { ServerlessService } from '../../src/serve/service.ts';
import type { ModelIO, Tensor } from '../../src/serve/tensors.ts';
import { APPS, handPlan } from '../helpers/serve.ts';

const IO: ModelIO = {
  name: 'echo',
  platform: 'test',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
  outputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
};

function deferred<T>() {
  let resolve!: (v: T) => void;
  const p = new Promise<T>((r) => (resolve = r));
  return { p, resolve };
}

/** A backend whose batches finish only when the test says so. */
function heldBackend(key: string, closed: string[]) {
  const held: { done: () => void }[] = [];
  const b: Backend = {
    kind: 'held',
    id: key,
    start: () => Promise.resolve(IO),
    infer: ({ inputs }) => {
      const d = deferred<Tensor[]>();
      held.push({ done: () => d.resolve(inputs) });
      return d.p;
    },
    close: () => {
      closed.push(key);
      return Promise.resolve();
    },
  };
  return { b, held };
}

const ALL = APPS.map((a) => a.name);
const planOn = (groups: { apps: string[]; vcpu: number }[]): Plan =>
  handPlan(groups.map((g) => ({ apps: g.apps, batchSize: 1, timeout: 0.001, vcpu: g.vcpu })));
const tick = () => new Promise((r) => setImmediate(r));

function service() {
  const closed: string[] = [];
  const backends = new Map<string, ReturnType<typeof heldBackend>>();
  // Creation of a 4-vCPU backend waits for the test (a slow cold start).
  const slow = deferred<void>();
  const created: string[] = [];
  const svc = new ServerlessService({
    io: IO,
    apps: APPS,
    planFn: () => planOn([{ apps: ALL, vcpu: 1 }]),
    makeBackend: async (fn: FunctionConfig, key: string) => {
      created.push(key);
      if (fn.vcpu === 4) await slow.p;
      const h = heldBackend(key, closed);
      backends.set(key, h);
      return h.b;
    },
    timers: new VirtualTimeSource(),
    metrics: new GatewayMetrics(false),
    logger: pino({ level: 'silent' }),
  });
  return { svc, backends, closed, slow, created };
}

const req = () => ({
  id: undefined,
  app: undefined,
  deadlineMs: undefined,
  priority: undefined,
  samples: [[1, 2, 3, 4]],
  rows: 1,
  outputs: undefined,
});

test('a backend the next plan reuses is not retired while the swap creates another one', async () => {
  const { svc, backends, closed, slow } = service();
  await svc.start();
  const x = 'cpu:1vcpu:2GB';
  // A batch is running on X when a plan without X is installed: X stays (running), unused.
  const answer = svc.infer(req(), 'a0');
  await tick();
  assert.equal(backends.get(x)!.held.length, 1, 'the batch is inside backend X');
  assert.equal(await svc.swap(planOn([{ apps: ALL, vcpu: 2 }])), true);
  assert.equal(closed.length, 0, 'X is busy, so not closed yet');
  // The next plan uses X again and a new 4-vCPU backend, whose creation is slow.
  const swapping = svc.swap(
    planOn([
      { apps: ['a0', 'a1'], vcpu: 1 },
      { apps: ['a2', 'a3'], vcpu: 4 },
    ]),
  );
  await tick();
  // X's batch finishes meanwhile: X must not be retired, since the plan being installed uses it.
  backends.get(x)!.held[0].done();
  const a = await answer;
  assert.equal(a.ok, true);
  slow.resolve();
  assert.equal(await swapping, true, 'the swap completes');
  assert.equal(svc.planVersion, 2);
  assert.ok(!closed.includes(x), `X was closed: ${closed.join(', ')}`);
  // And X serves the new plan's first group.
  const again = svc.infer(req(), 'a0');
  await tick();
  assert.equal(backends.get(x)!.held.length, 2, 'the next a0 batch runs on X');
  backends.get(x)!.held[1].done();
  assert.equal((await again).ok, true);
  await svc.close();
});

test('two swaps at once install one after the other and create each backend once', async () => {
  const { svc, slow, created } = service();
  await svc.start();
  const p4 = planOn([{ apps: ALL, vcpu: 4 }]);
  const first = svc.swap(p4);
  const second = svc.swap(
    planOn([
      { apps: ['a0'], vcpu: 4 },
      { apps: ['a1', 'a2', 'a3'], vcpu: 1 },
    ]),
  );
  await tick();
  slow.resolve();
  assert.deepEqual(await Promise.all([first, second]), [true, true]);
  assert.equal(svc.planVersion, 2);
  assert.equal(created.filter((k) => k === 'cpu:4vcpu:2GB').length, 1, created.join(', '));
  assert.deepEqual(
    svc.plan.groups.map((g) => g.apps),
    [['a0'], ['a1', 'a2', 'a3']],
  );
  await svc.close();
});
