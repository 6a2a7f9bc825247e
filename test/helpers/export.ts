/** Hand-built plans/allocations and fast-check arbitraries for the exporter tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse, parseAllDocuments } from 'yaml';
import type { Plan, PlanGroup } from '../../src/model/plan.ts';
import type { Allocation } from '../../src/model/cluster.ts';
import type { ExportFile } from '../../src/export/index.ts';

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/export/', import.meta.url));

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(FIXTURE_DIR + name, 'utf8'));
}

/** Fixture documents by name: a paper-style mixed plan, a CPU-only plan, many groups, an allocation. */
export function fixtures(): Record<string, unknown> {
  return {
    'plan-mixed': fixture('plan-mixed.json'),
    'plan-cpu': fixture('plan-cpu.json'),
    'plan-many': manyGroupPlan(12),
    'plan-gpu': gpuOnlyPlan(),
    alloc: fixture('alloc.json'),
  };
}

function group(apps: string[], f: PlanGroup['function'], batchSize: number, rps: number): PlanGroup {
  return {
    apps,
    function: f,
    batchSize,
    timeouts: Object.fromEntries(apps.map((a, k) => [a, batchSize > 1 ? 0.05 * (k + 1) : 0])),
    costPerRequest: 1e-5,
    trafficShare: 0,
    weightedCost: 0,
    rps,
    latency: { avg: 0.1, max: 0.12 },
    slack: Object.fromEntries(apps.map((a) => [a, 0.1])),
  };
}

function planOf(model: string, groups: PlanGroup[]): Plan {
  const total = groups.reduce((s, g) => s + g.rps, 0) || 1;
  for (const g of groups) {
    g.trafficShare = g.rps / total;
    g.weightedCost = g.costPerRequest * g.trafficShare;
  }
  const apps = groups.flatMap((g) =>
    g.apps.map((name, k) => ({ name, slo: 0.3 + 0.1 * k, rps: g.rps / g.apps.length })),
  );
  return {
    kind: 'serverless-plan',
    algorithm: 'harmony',
    model,
    priceTable: 'paper-usd',
    currency: 'USD',
    compat: 'paper',
    totalCostPerRequest: groups.reduce((s, g) => s + g.weightedCost, 0),
    groups,
    excluded: [],
    apps,
  };
}

/** Deterministic plan with n groups alternating CPU and GPU functions. */
export function manyGroupPlan(n: number): Plan {
  const groups = Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? group([`a${i}`], { kind: 'cpu', vcpu: 0.25 + i * 0.6, memoryGb: 0.5 + i * 0.5 }, 1 + (i % 4), 2 + i)
      : group(
          [`a${i}`, `b${i}`],
          { kind: 'gpu', gpuMemoryGb: 1 + (i % 24), vcpu: (1 + (i % 24)) / 3, memoryGb: 1 },
          4 + i,
          10 + i,
        ),
  );
  return planOf('GPT-2', groups);
}

export function gpuOnlyPlan(): Plan {
  return planOf('VideoMAE', [
    group(['x', 'y', 'z'], { kind: 'gpu', gpuMemoryGb: 6, vcpu: 2, memoryGb: 4 }, 16, 40),
  ]);
}

const cpuFn = fc.record({
  kind: fc.constant('cpu' as const),
  vcpu: fc.integer({ min: 1, max: 339 }).map((k) => Number((k * 0.05).toFixed(2))),
  memoryGb: fc.double({ min: 0.1, max: 40, noNaN: true }),
});
const gpuFn = fc.integer({ min: 1, max: 48 }).chain((m) =>
  fc.record({
    kind: fc.constant('gpu' as const),
    gpuMemoryGb: fc.constant(m),
    vcpu: fc.constant(m / 3),
    memoryGb: fc.double({ min: 0.25, max: 8, noNaN: true }),
  }),
);

/** Arbitrary valid plans: 1..8 groups, CPU or GPU, batch 1..64, any timeouts and rates. */
export const arbPlan: fc.Arbitrary<Plan> = fc
  .array(
    fc.record({
      napps: fc.integer({ min: 1, max: 4 }),
      fn: fc.oneof(cpuFn, gpuFn),
      batchSize: fc.integer({ min: 1, max: 64 }),
      rps: fc.double({ min: 0, max: 500, noNaN: true }),
      avg: fc.double({ min: 0.001, max: 5, noNaN: true }),
      timeouts: fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 4, maxLength: 4 }),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((gs) =>
    planOf(
      'Model_X',
      gs.map((g, i) => {
        const apps = Array.from({ length: g.napps }, (_, k) => `g${i}app${k}`);
        const pg = group(apps, g.fn, g.batchSize, g.rps);
        pg.timeouts = Object.fromEntries(apps.map((a, k) => [a, g.timeouts[k]]));
        pg.latency = { avg: g.avg, max: g.avg * 1.2 };
        return pg;
      }),
    ),
  );

/** Arbitrary valid allocations over 1..6 instance types, at least one counted. */
export const arbAllocation: fc.Arbitrary<Allocation> = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,5}\.[a-z0-9]{1,8}$/), { minLength: 1, maxLength: 6 })
  .chain((names) =>
    fc
      .tuple(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: names.length, maxLength: names.length }),
        fc.array(fc.double({ min: 0.01, max: 5, noNaN: true }), {
          minLength: names.length,
          maxLength: names.length,
        }),
      )
      .filter(([counts]) => counts.some((c) => c > 0))
      .map(([counts, prices]) => ({
        kind: 'cluster-allocation' as const,
        model: 'rm2',
        budgetUsdPerHour: 100,
        qosMs: 350,
        percentile: 99,
        pool: names.map((name, i) => ({ name, priceUsdPerHour: prices[i], base: i === 0 })),
        chosen: {
          counts: Object.fromEntries(names.map((n, i) => [n, counts[i]])),
          costUsdPerHour: names.reduce((s, _n, i) => s + counts[i] * prices[i], 0),
          upperBoundQps: 100,
        },
      })),
  );

/** Every top-level document of an emitted file, parsed (YAML 1.1 like the engines, or JSON). */
export function parseFile(f: ExportFile): unknown[] {
  if (f.path.endsWith('.json')) return [JSON.parse(f.content)];
  if (f.path.endsWith('.py')) return [f.content]; // source shipped with the config (Ray's application)
  return parseAllDocuments(f.content, { version: '1.1' }).map((d) => {
    if (d.errors.length) throw new Error(`${f.path}: ${d.errors[0].message}`);
    return d.toJS();
  });
}

export { parse as parseYaml };
