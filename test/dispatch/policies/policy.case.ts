/**
 * The one conformance suite every batch policy runs (hono-style): the same tests, driven through
 * the batch manager's public interface in virtual time, with the policy's own `releaseBy` as the
 * specification of when a non-full buffer must leave. Each policy's own test file calls
 * `runBatchPolicyConformance` (see "Tests" in DEVELOPERS.md).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createBatchManager } from '../../../src/dispatch/batch-manager.ts';
import { VirtualTimeSource } from '../../../src/dispatch/timers.ts';
import type { Batch, BatchPolicy, DispatchRequest, GroupView } from '../../../src/dispatch/types.ts';
import { makePlan, type GroupSpec } from '../helpers.ts';

type Req = DispatchRequest<number>;

const APPS = ['a', 'b', 'c', 'd', 'e'];
const SLO: Record<string, number> = { a: 0.2, b: 0.35, c: 0.5, d: 0.8, e: 1.0 };

const planArb = fc
  .tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 3, maxLength: 3 }),
    fc.array(fc.double({ min: 0, max: 0.15, noNaN: true }), { minLength: 5, maxLength: 5 }),
    fc.shuffledSubarray(APPS, { minLength: 3, maxLength: 5 }),
  )
  .map(([nGroups, sizes, touts, apps]): GroupSpec[] => {
    const groups: GroupSpec[] = [];
    const per = Math.ceil(apps.length / nGroups);
    for (let g = 0; g < nGroups; g++) {
      const ga = apps.slice(g * per, (g + 1) * per);
      if (ga.length === 0) continue;
      groups.push({
        apps: ga,
        batchSize: sizes[g]!,
        timeouts: ga.map((a) => touts[APPS.indexOf(a)]!),
        latencyMax: 0.03,
      });
    }
    return groups;
  });

const opArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      app: fc.constantFrom(...APPS),
      gap: fc.double({ min: 0, max: 0.05, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconfigure' as const), plan: planArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
);

function expectedDue(policy: BatchPolicy, batch: Batch<number>): number {
  const byArrival = [...batch.requests].sort((x, y) => x.arrival - y.arrival);
  let due = Infinity;
  byArrival.forEach((r, i) => (due = Math.min(due, policy.releaseBy(r, batch.group, i === 0))));
  return due;
}

function sortedBy(reqs: readonly Req[], key: 'arrival' | 'deadline'): boolean {
  for (let i = 1; i < reqs.length; i++) if (reqs[i - 1]![key] > reqs[i]![key]) return false;
  return true;
}

export function runBatchPolicyConformance(name: string, makePolicy: () => BatchPolicy): void {
  describe(`batch policy conformance: ${name}`, () => {
    test('has a name and an order', () => {
      const p = makePolicy();
      assert.equal(typeof p.name, 'string');
      assert.ok(p.name.length > 0);
      assert.ok(p.order === 'fifo' || p.order === 'deadline');
    });

    test('a buffer leaves "full" synchronously at exactly batchSize requests', () => {
      const timers = new VirtualTimeSource();
      const out: Batch<number>[] = [];
      const m = createBatchManager<number>({
        plan: makePlan([{ apps: ['a', 'b'], batchSize: 3, timeouts: [10, 10] }]),
        timers,
        policy: makePolicy(),
        onBatch: (b) => out.push(b),
      });
      const r = (id: number, app: string): Req => ({ id, app, arrival: 0, deadline: 100, payload: id });
      m.submit(r(1, 'a'));
      m.submit(r(2, 'b'));
      assert.equal(out.length, 0);
      m.submit(r(3, 'a'));
      assert.equal(out.length, 1);
      assert.equal(out[0]!.reason, 'full');
      assert.deepEqual(out[0]!.requests.map((x) => x.id).sort(), [1, 2, 3]);
      assert.equal(m.stats().queued, 0);
    });

    test('release times, reasons, order and conservation under random submit/reconfigure/flush/timer interleavings', () => {
      fc.assert(
        fc.property(planArb, fc.array(opArb, { minLength: 1, maxLength: 60 }), (groups, ops) => {
          const policy = makePolicy();
          const timers = new VirtualTimeSource();
          const out: Batch<number>[] = [];
          const m = createBatchManager<number>({
            plan: makePlan(groups),
            timers,
            policy,
            capacity: 100,
            onBatch: (b) => out.push(b),
          });
          const accepted = new Set<number>();
          // Groups of each plan version (frozen GroupView objects, compared by identity).
          const groupsOf: (readonly GroupView[])[] = [m.groups()];
          let id = 0;
          let t = 0;
          let reconfigured = false;
          for (const op of ops) {
            if (op.kind === 'submit') {
              t += op.gap;
              timers.advanceTo(t);
              const r: Req = { id: ++id, app: op.app, arrival: t, deadline: t + SLO[op.app]!, payload: id };
              const res = m.submit(r);
              const inPlan = m.groups().some((g) => g.apps.includes(op.app));
              assert.equal(res.accepted, inPlan);
              if (!res.accepted) assert.equal(res.reason, 'unknown-app');
              else accepted.add(id);
            } else if (op.kind === 'reconfigure') {
              m.reconfigure(makePlan(op.plan));
              groupsOf.push(m.groups());
              reconfigured = true;
            } else m.flush();
          }
          timers.runAll();
          m.flush();
          const seen = new Set<number>();
          for (const b of out) {
            assert.ok(b.requests.length >= 1 && b.requests.length <= b.group.batchSize);
            // A batch carries the version of the plan whose group formed it (orphans of a
            // reconfiguration included), so a receiver can find that group's function.
            assert.ok(
              groupsOf[b.planVersion]?.includes(b.group),
              `batch of group ${b.group.key} (${b.reason}) carries plan version ${b.planVersion}, whose plan has no such group`,
            );
            for (const r of b.requests) {
              assert.ok(!seen.has(r.payload), `request ${r.payload} released twice`);
              seen.add(r.payload);
              assert.ok(b.group.apps.includes(r.app), 'a request left in a group without its app');
            }
            assert.ok(sortedBy(b.requests, policy.order === 'fifo' ? 'arrival' : 'deadline'), 'batch order');
            if (b.reason === 'full') assert.equal(b.requests.length, b.group.batchSize);
            if (b.reason === 'timeout' && !reconfigured) {
              // Without re-homing, a timeout batch is the whole buffer, released at the policy's earliest time.
              assert.ok(
                Math.abs(b.releasedAt - expectedDue(policy, b)) < 1e-9,
                `released at ${b.releasedAt}`,
              );
            }
            if (!reconfigured)
              assert.ok(b.releasedAt <= expectedDue(policy, b) + 1e-9, 'released after its due time');
          }
          assert.deepEqual(
            [...seen].sort((x, y) => x - y),
            [...accepted].sort((x, y) => x - y),
          );
          const s = m.stats();
          assert.equal(s.released, accepted.size);
          assert.equal(s.queued, 0);
          assert.equal(timers.pending, 0);
        }),
        { numRuns: 150 },
      );
    });

    test('never holds more than one timer per buffer', () => {
      const timers = new VirtualTimeSource();
      const m = createBatchManager<number>({
        plan: makePlan([
          { apps: ['a'], batchSize: 50, timeouts: [0.1] },
          { apps: ['b', 'c'], batchSize: 50, timeouts: [0.2, 0.05] },
        ]),
        timers,
        policy: makePolicy(),
        onBatch: () => {},
      });
      for (let i = 0; i < 40; i++) {
        const app = APPS[i % 3]!;
        timers.advanceTo(i * 0.001);
        m.submit({ id: i, app, arrival: i * 0.001, deadline: i * 0.001 + SLO[app]!, payload: i });
        assert.ok(timers.pending <= 2, `${timers.pending} timers for 2 buffers`);
      }
    });

    test('is deterministic: the same inputs give the same batches', () => {
      const run = (): string => {
        const timers = new VirtualTimeSource();
        const out: string[] = [];
        const m = createBatchManager<number>({
          plan: makePlan([{ apps: ['a', 'b', 'c'], batchSize: 4, timeouts: [0.02, 0.05, 0.01] }]),
          timers,
          policy: makePolicy(),
          onBatch: (b) =>
            out.push(`${b.reason}@${b.releasedAt.toFixed(6)}:${b.requests.map((r) => r.id).join(',')}`),
        });
        let t = 0;
        for (let i = 0; i < 30; i++) {
          t += ((i * 7919) % 13) / 1000;
          timers.advanceTo(t);
          const app = APPS[i % 3]!;
          m.submit({ id: i, app, arrival: t, deadline: t + SLO[app]!, payload: i });
        }
        timers.runAll();
        return out.join('|');
      };
      assert.equal(run(), run());
    });

    test('releaseBy is pure and finite-or-Infinity for valid requests', () => {
      const p = makePolicy();
      const g: GroupView = Object.freeze({
        index: 0,
        key: 'a',
        apps: ['a'],
        batchSize: 4,
        timeouts: { a: 0.1 },
        latencyMax: 0.05,
        capacity: 16,
      });
      const r: Req = { id: 1, app: 'a', arrival: 1, deadline: 1.5, payload: 1 };
      for (const first of [true, false]) {
        const x = p.releaseBy(r, g, first);
        assert.equal(p.releaseBy(r, g, first), x);
        assert.ok(!Number.isNaN(x));
      }
      assert.ok(Number.isFinite(p.releaseBy(r, g, true)), 'the oldest request must bound the wait');
    });
  });
}
