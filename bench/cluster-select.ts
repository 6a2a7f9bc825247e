/**
 * Selection rules of the cluster planner side by side: which configuration each rule picks and its
 * simulated allowable throughput (Kairos distributor), on the five bundled models, in the paper's
 * setting and beyond it (budgets 1.5–6 $/h, an 8-type pool, two other size mixes).
 *
 * Rules: similarity (L1 medoid of the top 5 by upper bound, the paper's), top-1 by upper bound,
 * top-1 by LP estimate, verified-exact (the best short-simulation measurement of the top 5) and
 * verified (the default: `allocateVerified()` exactly as `hetserve allocate` runs it, the
 * best-ranked of the top 5 within 5 % of the best short measurement). Every candidate is then
 * measured with *other* seeds (2, 3) and a longer run, so the verified rules get no credit for the
 * noise they selected on.
 *
 *   npx tsx bench/cluster-select.ts [--quick] [--models rm2,dien] [--settings 0,1] [--out reports/kairos]
 *
 * Writes <out>/<name>.{md,json} after every case (a long run leaves its results so far).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ClusterProfile, InstancePool } from '../src/model/cluster.ts';
import { allocate, defaultPool, ec2Prices } from '../src/plan/cluster/allocate.ts';
import { KAIROS_MODELS, loadBundledClusterProfile } from '../src/predict/latency-table.ts';
import {
  deepRecSysSizes,
  sizeDistributionFromHistogram,
  type QuerySizeDistribution,
} from '../src/workload/query-sizes.ts';
import { SimulationOracle } from '../src/simulate/oracle.ts';
import { allocateVerified, DEFAULT_VERIFICATION } from '../src/simulate/allocate-verified.ts';
import { figure, finish } from './lib.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    models: { type: 'string' },
    out: { type: 'string', default: 'reports/kairos' },
    queries: { type: 'string' },
    steps: { type: 'string' },
    settings: { type: 'string' },
    name: { type: 'string', default: 'selection-rules' },
  },
});
const quick = args.quick!;
const queries = Number(args.queries ?? (quick ? 5000 : 20000));
const evalSteps = Number(args.steps ?? (quick ? 6 : 8));
const models = args.models ? args.models.split(',') : [...KAIROS_MODELS];

/**
 * Four more types for the 8-type pool. The bundled profiles measure four types only, so these are
 * *derived*: a measured type's samples scaled by a factor (a sibling instance family), priced from
 * the EC2 table. They test the rules on a wider pool, not any claim about those instances.
 */
const DERIVED: Record<string, { from: string; factor: number }> = {
  'c5.2xlarge': { from: 'c5n.2xlarge', factor: 1.05 },
  'm5.xlarge': { from: 't3.xlarge', factor: 0.95 },
  'r5.large': { from: 'r5n.large', factor: 1.04 },
  't3a.xlarge': { from: 't3.xlarge', factor: 1.08 },
};

function eightTypeProfile(model: string): ClusterProfile {
  const p = loadBundledClusterProfile(model);
  const instances = { ...p.instances };
  for (const [name, d] of Object.entries(DERIVED)) {
    const src = p.instances[d.from];
    const scale = (m?: number[][]) => m?.map((row) => row.map((x) => x * d.factor));
    instances[name] = {
      ...(src.inferMs ? { inferMs: scale(src.inferMs) } : {}),
      ...(src.loadMs ? { loadMs: scale(src.loadMs) } : {}),
      ...(src.totalMs ? { totalMs: scale(src.totalMs) } : {}),
      ...(src.meanMs ? { meanMs: src.meanMs.map((x) => x * d.factor) } : {}),
    };
  }
  return { ...p, model, instances, note: `${p.note ?? ''} + derived types (bench/cluster-select.ts)` };
}

const uncapped = (types: string[]): InstancePool => {
  const prices = ec2Prices();
  return {
    types: types.map((name) => ({ name, priceUsdPerHour: prices.get(name)!, base: name === 'g4dn.xlarge' })),
  };
};
const FOUR = ['g4dn.xlarge', 'c5n.2xlarge', 'r5n.large', 't3.xlarge'];
const EIGHT = [...FOUR, ...Object.keys(DERIVED)];
const hist = (pairs: [number, number][]): QuerySizeDistribution =>
  sizeDistributionFromHistogram({ sizes: pairs.map((p) => p[0]), weights: pairs.map((p) => p[1]) });
/** Mostly small queries: 80 % at 10–100 items, 20 % at 110–1000. */
const SMALL = hist([
  ...Array.from({ length: 10 }, (_, i) => [10 * (i + 1), 8] as [number, number]),
  ...Array.from({ length: 90 }, (_, i) => [110 + 10 * i, 20 / 90] as [number, number]),
]);
/** Mostly large: 60 % at 500–1000 items, 40 % at 10–490. */
const LARGE = hist([
  ...Array.from({ length: 49 }, (_, i) => [10 + 10 * i, 40 / 49] as [number, number]),
  ...Array.from({ length: 51 }, (_, i) => [500 + 10 * i, 60 / 51] as [number, number]),
]);

interface Setting {
  name: string;
  budget: number;
  pool: InstancePool;
  sizes: QuerySizeDistribution;
  eight?: boolean;
}
const SETTINGS: Setting[] = [
  {
    name: 'paper ($2.5/h, 4 types, DeepRecSys mix)',
    budget: 2.5,
    pool: defaultPool(),
    sizes: deepRecSysSizes(),
  },
  { name: '$1.5/h', budget: 1.5, pool: uncapped(FOUR), sizes: deepRecSysSizes() },
  { name: '$6/h', budget: 6, pool: uncapped(FOUR), sizes: deepRecSysSizes() },
  { name: '$4/h', budget: 4, pool: uncapped(FOUR), sizes: deepRecSysSizes() },
  { name: '8 types, $2.5/h', budget: 2.5, pool: uncapped(EIGHT), sizes: deepRecSysSizes(), eight: true },
  { name: 'small-heavy mix, $2.5/h', budget: 2.5, pool: defaultPool(), sizes: SMALL },
  { name: 'large-heavy mix, $2.5/h', budget: 2.5, pool: defaultPool(), sizes: LARGE },
];
const RULES = ['similarity', 'top1', 'lp', 'verified-exact', 'verified'] as const;
type Rule = (typeof RULES)[number];

interface Row {
  model: string;
  setting: string;
  picks: Record<Rule, string>;
  qps: Record<Rule, number>;
  /** Each rule's throughput / the best rule's in this case. */
  ratio: Record<Rule, number>;
  /** Wall time of the default rule's allocation (its short simulations included). */
  verifyMs: number;
  /** The top-K by upper bound: the verification's short measurement and the evaluation's. */
  candidates: { rank: number; counts: string; shortQps: number; qps: number }[];
}

const rows: Row[] = [];
const t0 = performance.now();
const chosenSettings = args.settings
  ? args.settings.split(',').map((i) => SETTINGS[Number(i)])
  : quick
    ? SETTINGS.slice(0, 2)
    : SETTINGS;
for (const setting of chosenSettings) {
  for (const model of models) {
    const profile = setting.eight ? eightTypeProfile(model) : undefined;
    const types = setting.pool.types.map((t) => t.name);
    const src = profile ?? model;
    const oracle = (seeds: number[], steps: number) =>
      new SimulationOracle({
        model: src,
        distributor: { name: 'kairos', baseType: 'g4dn.xlarge' },
        sizes: setting.sizes,
        typeOrder: types,
        seeds,
        steps,
        queries,
      });
    const common = {
      ...(profile ? { profile } : { model }),
      ...(profile
        ? { qosMs: (await import('../src/predict/latency-table.ts')).DEFAULT_QOS_MS[model as 'rm2'] }
        : {}),
      pool: setting.pool,
      budgetUsdPerHour: setting.budget,
      sizes: setting.sizes,
    };
    // The default rule exactly as the CLI runs it (its short simulations are its own cost).
    const tv = performance.now();
    const ub = await allocateVerified({ ...common, top: 10, lp: false });
    const verifyMs = performance.now() - tv;
    const lp = await allocate({ ...common, rank: 'lp', select: 'top1', top: 5 });
    const key = (c: Record<string, number>) => types.map((t) => c[t] ?? 0).join(',');
    const simIdx = ub.similarity.chosenRank - 1;
    const short = new Map(ub.oracle!.ranked.map((r) => [key(r.counts), r.allowableQps]));
    const topK = ub.runnersUp.slice(0, DEFAULT_VERIFICATION.candidates).map((r) => r.counts);
    // verified-exact: the best short measurement (ties: better rank).
    const exact = topK.reduce((b, c) => (short.get(key(c))! > short.get(key(b))! ? c : b));
    const picks: Record<Rule, Record<string, number>> = {
      similarity: ub.runnersUp[simIdx].counts,
      top1: ub.top1.counts,
      lp: lp.chosen.counts,
      'verified-exact': exact,
      verified: ub.chosen.counts,
    };
    // Every top-K candidate is measured, so other rules over the same candidates can be scored from the JSON.
    const distinct = [...new Map([...topK, ...RULES.map((r) => picks[r])].map((c) => [key(c), c])).values()];
    const measured = await oracle([2, 3], evalSteps).evaluate({
      configs: distinct,
      qosMs: ub.qosMs,
      percentile: 99,
      baseType: 'g4dn.xlarge',
    });
    const qpsOf = new Map(distinct.map((c, i) => [key(c), measured[i].allowableQps]));
    const qps = Object.fromEntries(RULES.map((r) => [r, qpsOf.get(key(picks[r]))!])) as Record<Rule, number>;
    const best = Math.max(...Object.values(qps));
    const ratio = Object.fromEntries(RULES.map((r) => [r, best > 0 ? qps[r] / best : 1])) as Record<
      Rule,
      number
    >;
    rows.push({
      model,
      setting: setting.name,
      verifyMs,
      candidates: topK.map((c, i) => ({
        rank: i + 1,
        counts: `(${key(c)})`,
        shortQps: short.get(key(c))!,
        qps: qpsOf.get(key(c))!,
      })),
      picks: Object.fromEntries(RULES.map((r) => [r, `(${key(picks[r])})`])) as Record<Rule, string>,
      qps,
      ratio,
    });
    writeReport(); // after every case, so a long run leaves its results so far
    console.log(
      `${setting.name} · ${model}: ` +
        RULES.map(
          (r) => `${r} ${rows.at(-1)!.picks[r]} ${qps[r].toFixed(1)} q/s (${(ratio[r] * 100).toFixed(1)} %)`,
        ).join(' · '),
    );
  }
}
function writeReport(final = false): string[] {
  const wallS = (performance.now() - t0) / 1000;

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const summary = RULES.map((r) => ({
    rule: r,
    meanRatio: mean(rows.map((x) => x.ratio[r])),
    minRatio: Math.min(...rows.map((x) => x.ratio[r])),
    best: rows.filter((x) => x.ratio[r] >= 1 - 1e-9).length,
  }));
  for (const s of final ? summary : []) {
    figure('cluster-select', `${s.rule} mean share of the best rule`, s.meanRatio, 'ratio');
    figure('cluster-select', `${s.rule} worst share of the best rule`, s.minRatio, 'ratio');
  }

  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const stat = (xs: number[]) =>
    xs.length === 0
      ? '–'
      : `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)} on average (at most ${Math.max(...xs).toFixed(2)})`;
  const md = [
    '# Cluster planner: selection rules side by side',
    '',
    `Generated by \`npx tsx bench/cluster-select.ts ${process.argv.slice(2).join(' ')}\` in ${wallS.toFixed(0)} s. ` +
      'Each rule picks a configuration; the pick is measured by simulation with the Kairos distributor ' +
      "(allowable throughput: ≥ 99 % of queries within the model's QoS; median of seeds 2 and 3, " +
      `${evalSteps} bisection steps, ${queries.toLocaleString('en-US')} queries per run).`,
    '',
    "- **similarity**: L1 medoid of the top 5 by the Kairos upper bound (the paper's rule).",
    '- **top1**: the best configuration by the upper bound.',
    '- **lp**: the best configuration by the LP estimate.',
    `- **verified-exact**: the simulator measures the top ${DEFAULT_VERIFICATION.candidates} by the upper bound (seed ${DEFAULT_VERIFICATION.seed}, ${DEFAULT_VERIFICATION.steps} steps, ${DEFAULT_VERIFICATION.queries.toLocaleString('en-US')} queries) and keeps the best measurement.`,
    `- **verified** (the default of \`hetserve allocate\` and \`allocateVerified()\`): the same measurements; keeps the best-ranked candidate within 5 % of the best measurement. Its allocation took ${stat(rows.map((x) => x.verifyMs / 1000))} s per case here (wall time, short simulations included, this loaded machine).`,
    '',
    `Settings: the paper's ($2.5/h, the 4-type pool with its count limits, DeepRecSys-like sizes); budgets 1.5, 4 and 6 $/h (4 types, no count limits); an 8-type pool at $2.5/h; a small-heavy mix (80 % of queries ≤ 100 items) and a large-heavy mix (60 % ≥ 500 items), both on the paper's pool at $2.5/h.`,
    '',
    `The 8-type pool: the bundled profiles (data/kairos) measure four types only, so the four extra types are *derived*: every latency sample (inference and loading) of a measured sibling type is multiplied by a factor (${Object.entries(
      DERIVED,
    )
      .map(([n, d]) => `${n} = ${d.from} × ${d.factor}`)
      .join(
        ', ',
      )}), and each is priced at its real on-demand price from data/kairos/aws-ec2-prices.csv (${EIGHT.slice(
      4,
    )
      .map((n) => `${n} $${ec2Prices().get(n)}/h`)
      .join(', ')}). They test the rules on a wider, cheaper pool, not any claim about those instances.`,
    '',
    "## Summary (share of the best rule's throughput, over all cases)",
    '',
    '| rule | mean | worst | cases where it is (one of) the best |',
    '| --- | --- | --- | --- |',
    ...summary.map(
      (s) => `| ${s.rule} | ${pct(s.meanRatio)} | ${pct(s.minRatio)} | ${s.best} of ${rows.length} |`,
    ),
    '',
    '## Every case (allowable q/s, pick in pool order)',
    '',
    `| setting | model | ${RULES.join(' | ')} |`,
    `| --- | --- | ${RULES.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (x) =>
        `| ${x.setting} | ${x.model} | ${RULES.map((r) => `${x.qps[r].toPrecision(4)} ${x.picks[r]} ${pct(x.ratio[r])}`).join(' | ')} |`,
    ),
    '',
    `Pool order: 4 types ${FOUR.join(', ')}; 8 types ${EIGHT.join(', ')}.`,
    '',
    '## Where the default is not the best rule',
    '',
    ...(() => {
      const miss = rows.filter((x) => x.ratio.verified < 1 - 1e-9);
      if (miss.length === 0) return ['None: the default matched the best rule in every case.'];
      return [
        '| setting | model | default | best | top-5 by upper bound: short measurement → evaluation (q/s) |',
        '| --- | --- | --- | --- | --- |',
        ...miss.map((x) => {
          const bestRule = RULES.reduce((b, r) => (x.qps[r] > x.qps[b] ? r : b));
          return `| ${x.setting} | ${x.model} | ${x.qps.verified.toPrecision(4)} ${x.picks.verified} | ${bestRule} ${x.qps[bestRule].toPrecision(4)} ${x.picks[bestRule]} (${pct(x.ratio.verified)}) | ${x.candidates.map((c) => `#${c.rank} ${c.counts}: ${c.shortQps.toPrecision(4)} → ${c.qps.toPrecision(4)}`).join('; ')} |`;
        }),
      ];
    })(),
    '',
  ];
  mkdirSync(args.out!, { recursive: true });
  writeFileSync(join(args.out!, `${args.name}.md`), md.join('\n'));
  writeFileSync(
    join(args.out!, `${args.name}.json`),
    JSON.stringify({ kind: 'cluster-selection-rules', quick, wallS, summary, rows }, null, 1),
  );
  if (final)
    console.log(
      md
        .slice(
          md.indexOf("## Summary (share of the best rule's throughput, over all cases)"),
          md.indexOf('## Every case (allowable q/s, pick in pool order)'),
        )
        .join('\n'),
    );

  return md;
}
writeReport(true);
finish();
