/**
 * The one conformance suite every query distributor runs: driven through the public interface with
 * random arrivals, decisions and completions; checks the invariants every distributor must keep.
 * Each distributor's own test file calls `runDistributorConformance` (see "Tests" in DEVELOPERS.md).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LatencyEstimator, PendingQuery, QueryDistributor } from '../../../src/dispatch/types.ts';
import { HetserveError } from '../../../src/model/errors.ts';

export type DistributorFactory = (
  instances: string[],
  estimateMs: LatencyEstimator,
) => QueryDistributor<number>;

/** A small rm2-like table: a fast base type 'g' and slower CPU types whose slowdown grows with size. */
export const testEstimator: LatencyEstimator = (type, size) => {
  switch (type) {
    case 'g':
      return 5 + 0.25 * size;
    case 'c':
      return 2 + 0.4 * size + 0.0002 * size * size;
    case 'r':
      return 3 + 0.45 * size + 0.0003 * size * size;
    default:
      return Number.NaN;
  }
};

const poolArb = fc
  .array(fc.constantFrom('g', 'c', 'r'), { minLength: 0, maxLength: 5 })
  .map((rest) => ['g', 'c', ...rest]);

const eventArb = fc.oneof(
  fc.record({
    kind: fc.constant('arrive' as const),
    size: fc.integer({ min: 1, max: 1000 }),
    gap: fc.double({ min: 0, max: 0.2, noNaN: true }),
  }),
  fc.record({
    kind: fc.constant('complete' as const),
    pick: fc.nat(),
    gap: fc.double({ min: 0, max: 0.2, noNaN: true }),
  }),
);

function isCoded(code: string, field?: RegExp) {
  return (e: unknown) =>
    e instanceof HetserveError &&
    e.code === code &&
    (field === undefined || field.test(String(e.details['field'])));
}

export function runDistributorConformance(name: string, make: DistributorFactory): void {
  describe(`distributor conformance: ${name}`, () => {
    test('every query is dispatched exactly once, only to idle instances, never two to one instance', () => {
      fc.assert(
        fc.property(
          poolArb,
          fc.array(eventArb, { minLength: 1, maxLength: 80 }),
          fc.double({ min: 0.05, max: 2, noNaN: true }),
          (pool, events, qos) => {
            const d = make(pool, testEstimator);
            const dispatched = new Map<number, number>();
            let t = 0;
            let id = 0;
            const step = (): void => {
              const before = d.instances(t);
              const out = d.decide(t);
              const used = new Set<number>();
              for (const a of out) {
                assert.ok(
                  !before[a.instance]!.busy,
                  `query ${a.query.id} sent to busy instance ${a.instance}`,
                );
                assert.ok(!used.has(a.instance), 'two queries to one instance in one decision');
                used.add(a.instance);
                assert.ok(!dispatched.has(a.query.payload!), `query ${a.query.id} dispatched twice`);
                dispatched.set(a.query.payload!, a.instance);
                assert.ok(Number.isFinite(a.estimateMs) && a.estimateMs >= 0);
              }
              const after = d.instances(t);
              for (const a of out)
                assert.ok(after[a.instance]!.busy && after[a.instance]!.running === a.query.id);
              assert.equal(
                d.idle(),
                after.filter((x) => !x.busy).length,
                'idle() disagrees with instances()',
              );
            };
            for (const e of events) {
              t += e.gap;
              if (e.kind === 'arrive') {
                const q: PendingQuery<number> = {
                  id: `q${id}`,
                  size: e.size,
                  arrival: t,
                  deadline: t + qos,
                  payload: id,
                };
                id++;
                d.enqueue(q);
              } else {
                const busy = d.instances(t).filter((x) => x.busy);
                if (busy.length > 0) d.onComplete(busy[e.pick % busy.length]!.index, t);
              }
              step();
            }
            // Drain: complete everything and decide until the queue is empty; it must make progress.
            for (let guard = 0; d.pending() > 0; guard++) {
              assert.ok(guard < 10 * (id + 1), 'no progress with every instance idle');
              t += 0.001;
              for (const x of d.instances(t)) if (x.busy) d.onComplete(x.index, t);
              step();
            }
            assert.equal(dispatched.size, id);
          },
        ),
        { numRuns: 120 },
      );
    });

    test('nothing to decide: empty queue or every instance busy', () => {
      const d = make(['g', 'c'], testEstimator);
      assert.deepEqual(d.decide(0), []);
      for (let i = 0; i < 6; i++)
        d.enqueue({ id: i, size: 10 * (i + 1), arrival: 0, deadline: 10, payload: i });
      let n = 0;
      for (let k = 0; k < 3; k++) n += d.decide(k * 0.001).length;
      assert.ok(n >= 1 && n <= 2);
      if (n === 2) {
        const pending = d.pending();
        assert.deepEqual(d.decide(1), []);
        assert.equal(d.pending(), pending);
      }
      assert.equal(d.pending() + n, 6);
    });

    test('bad input is refused with a coded error naming the field', () => {
      const d = make(['g', 'c'], testEstimator);
      assert.throws(
        () => d.enqueue({ id: 1, size: 0, arrival: 0, deadline: 1 }),
        isCoded('E_INVALID_INPUT', /query\.size/),
      );
      assert.throws(
        () => d.enqueue({ id: 1, size: 5, arrival: 1, deadline: 0 }),
        isCoded('E_INVALID_INPUT', /query\.deadline/),
      );
      assert.throws(() => d.onComplete(0, 0), isCoded('E_DISPATCH_CONFIG', /instance/));
      assert.throws(() => d.onComplete(7, 0), isCoded('E_DISPATCH_CONFIG', /instance/));
      assert.throws(() => d.decide(Number.NaN), isCoded('E_DISPATCH_CONFIG', /now/));
      assert.throws(() => make([], testEstimator), isCoded('E_DISPATCH_CONFIG', /instances/));
      // The estimator may be called at construction (Kairos' skew) or at decision time.
      assert.throws(
        () => {
          const bad = make(['g', 'c'], (type, size) => (size > 100 ? -1 : testEstimator(type, size)));
          bad.enqueue({ id: 1, size: 500, arrival: 0, deadline: 1 });
          bad.decide(0);
        },
        isCoded('E_DISPATCH_CONFIG', /estimateMs/),
      );
    });

    test('is deterministic', () => {
      const run = (): string => {
        const d = make(['g', 'c', 'r', 'c'], testEstimator);
        const log: string[] = [];
        for (let i = 0; i < 40; i++) {
          const t = i * 0.01;
          d.enqueue({ id: i, size: ((i * 37) % 100) * 10 + 10, arrival: t, deadline: t + 0.35 });
          for (const a of d.decide(t)) log.push(`${a.query.id}->${a.instance}`);
          if (i % 3 === 0)
            for (const x of d.instances(t)) if (x.busy && x.index % 2 === i % 2) d.onComplete(x.index, t);
        }
        return log.join(',');
      };
      assert.equal(run(), run());
    });

    test('a completed instance is idle again and takes the next query', () => {
      const d = make(['g'], testEstimator);
      // Size 500: a "large" query, so every routing rule may use the one GPU.
      d.enqueue({ id: 'a', size: 500, arrival: 0, deadline: 1 });
      d.enqueue({ id: 'b', size: 500, arrival: 0, deadline: 1 });
      assert.deepEqual(
        d.decide(0).map((a) => [a.query.id, a.instance]),
        [['a', 0]],
      );
      const v = d.instances(0.001)[0]!;
      assert.ok(v.busy && v.remainingMs > 0 && v.remainingMs <= testEstimator('g', 500));
      assert.deepEqual(d.decide(0.001), []);
      d.onComplete(0, 0.002);
      assert.deepEqual(
        d.decide(0.002).map((a) => [a.query.id, a.instance]),
        [['b', 0]],
      );
    });
  });
}
