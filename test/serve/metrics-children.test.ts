/**
 * The in-place metric children (src/serve/metrics.ts) against prom-client's own: the same
 * observations give the same /metrics text, through resets, removals and refused values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { counterChild, histogramChild } from '../../src/serve/metrics.ts';

function pair(): { reg: Registry; h: Histogram<'model' | 'app'>; c: Counter<'model' | 'app'> } {
  const reg = new Registry();
  const h = new Histogram({
    name: 'lat_seconds',
    help: 'latency',
    labelNames: ['model', 'app'],
    buckets: [0.001, 0.01, 0.1, 1],
    registers: [reg],
  });
  const c = new Counter({
    name: 'req_total',
    help: 'requests',
    labelNames: ['model', 'app'],
    registers: [reg],
  });
  return { reg, h, c };
}

type Op = { kind: 'observe' | 'inc'; app: string; v: number } | { kind: 'reset' | 'remove'; app: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constantFrom('observe' as const, 'inc' as const),
      app: fc.constantFrom('a', 'b'),
      v: fc.oneof(fc.double({ min: 0, max: 3, noNaN: true }), fc.constantFrom(0, 0.001, 0.01, 1, 5)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('reset' as const, 'remove' as const),
      app: fc.constantFrom('a', 'b'),
    }),
  },
);

test('in-place children expose exactly what prom-client children do', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
      const slow = pair();
      const fast = pair();
      const slowKids = new Map(
        ['a', 'b'].map((a) => [a, { h: slow.h.labels('m', a), c: slow.c.labels('m', a) }]),
      );
      const fastKids = new Map(
        ['a', 'b'].map((a) => [a, { h: histogramChild(fast.h, 'm', a), c: counterChild(fast.c, 'm', a) }]),
      );
      for (const o of ops) {
        if (o.kind === 'observe') {
          slowKids.get(o.app)!.h.observe(o.v);
          fastKids.get(o.app)!.h.observe(o.v);
        } else if (o.kind === 'inc') {
          slowKids.get(o.app)!.c.inc(o.v);
          fastKids.get(o.app)!.c.inc(o.v);
        } else if (o.kind === 'reset') {
          for (const s of [slow, fast]) {
            s.h.reset();
            s.c.reset();
          }
        } else {
          for (const s of [slow, fast]) {
            s.h.remove('m', o.app);
            s.c.remove('m', o.app);
          }
        }
      }
      assert.equal(await fast.reg.metrics(), await slow.reg.metrics());
    }),
    { numRuns: 200 },
  );
});

test('in-place children refuse what prom-client refuses', () => {
  const { h, c } = pair();
  const hc = histogramChild(h, 'm', 'a');
  const cc = counterChild(c, 'm', 'a');
  hc.observe(0.5);
  cc.inc();
  assert.throws(() => hc.observe(Number.NaN), /not a valid number/);
  assert.throws(() => cc.inc(-1), /not possible to decrease/);
  assert.throws(() => cc.inc(Number.POSITIVE_INFINITY), /not a valid number/);
});
