/**
 * Overload benchmark: does admission protect goodput? One plan group serves four applications
 * (SLOs 0.5, 0.6, 0.8, 1.0 s) with batch size B on c concurrent slots; its capacity is
 * C = B c / L. C is measured in this run, on this machine, before the phases (measureCapacity:
 * the gateway's mean backend time per batch from /metrics under a 3 C flood, with the load
 * generator beside it as in the phases), so it is what the backend really does here and not what
 * a profile from another machine says. The plan of every phase carries that L.
 *
 * 1. Baseline: every app at its planned rate (together 0.4 C), open-loop Poisson.
 * 2. Overload: the same, plus app a0 flooding so the offered load is 3 C — with the deadline
 *    admission (limits.admission 'deadline', the default) and, side by side, the bound-only
 *    admission ('queue', the old behaviour).
 *
 * Reports goodput (answers within their SLO per second) against C, the share of admitted
 * requests answered within their SLO, and the other apps' SLO attainment in both phases.
 * Targets: goodput >= 90 % of C, >= 99 % of admitted within SLO, the other apps unchanged.
 *
 * Run: `npm run bench -- overload` (OVERLOAD_SECONDS per phase, default 8; OVERLOAD_BACKENDS,
 * default "replay,onnx").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { Plan } from '../src/model/plan.ts';
import { ModelConfigSchema, parseServeConfig, type ServeConfigInput } from '../src/model/serve-config.ts';
import { parseWith } from '../src/model/validate.ts';
import { Gateway, type GatewayOptions } from '../src/serve/gateway.ts';
import { createBackend } from '../src/serve/backends/index.ts';
import { runLoad, type LoadReport } from '../src/serve/load.ts';
import { OnnxBackend } from '../src/serve/backends/onnx.ts';
import { assembleBatch } from '../src/serve/tensors.ts';
import { figure, finish } from './lib.ts';

const SECONDS = Number(process.env['OVERLOAD_SECONDS'] ?? 8);
const BACKENDS = (process.env['OVERLOAD_BACKENDS'] ?? 'replay,onnx').split(',');

export const APPS = [
  { name: 'a0', slo: 0.5, share: 0.1 },
  { name: 'a1', slo: 0.6, share: 0.1 },
  { name: 'a2', slo: 0.8, share: 0.1 },
  { name: 'a3', slo: 1.0, share: 0.1 },
];

export interface Scenario {
  name: string;
  batch: number;
  concurrency: number;
  /** Batch latency, seconds (the plan's prediction). */
  latencyS: number;
  model: ServeConfigInput['models'][number];
  backend: ServeConfigInput['serving'] extends infer S ? (S extends { backend: infer B } ? B : never) : never;
}

export const capacityOf = (s: Scenario): number => (s.batch * s.concurrency) / s.latencyS;

export function planFor(s: Scenario): Plan {
  const c = capacityOf(s);
  return {
    kind: 'serverless-plan',
    algorithm: 'bench',
    model: s.model.name,
    priceTable: 'prototype-cny',
    currency: 'CNY',
    compat: 'paper',
    totalCostPerRequest: 1e-6,
    groups: [
      {
        apps: APPS.map((a) => a.name),
        function: { kind: 'cpu', vcpu: 1, memoryGb: 2 },
        batchSize: s.batch,
        // Batches fill in well under this at the planned rates.
        timeouts: Object.fromEntries(APPS.map((a) => [a.name, 0.05])),
        costPerRequest: 1e-6,
        trafficShare: 1,
        weightedCost: 1e-6,
        rps: c * 0.4,
        latency: { avg: s.latencyS, max: s.latencyS * 1.1 },
        slack: Object.fromEntries(APPS.map((a) => [a.name, a.slo - 0.05 - s.latencyS * 1.1])),
      },
    ],
    excluded: [],
    apps: APPS.map((a) => ({ name: a.name, slo: a.slo, rps: a.share * c })),
  };
}

export async function startScenario(
  s: Scenario,
  admission: 'deadline' | 'queue',
  backendFactory?: GatewayOptions['backendFactory'],
): Promise<{ gw: Gateway; url: string }> {
  const c = capacityOf(s);
  const config = parseServeConfig({
    listen: { host: '127.0.0.1', port: 0 },
    models: [{ ...s.model, maxInFlight: s.concurrency }],
    applications: APPS.map((a) => ({ name: a.name, slo: a.slo, rps: a.share * c })),
    serving: { mode: 'serverless', backend: s.backend },
    replan: { intervalS: 0, windowS: 10 },
    limits: { admission, maxQueue: 100_000 },
    logLevel: 'silent',
  });
  const gw = new Gateway({
    config,
    logger: pino({ level: 'silent' }),
    planFn: () => planFor(s),
    ...(backendFactory ? { backendFactory } : {}),
  });
  const { url } = await gw.start();
  return { gw, url };
}

/** Goodput (answers within SLO per second), share of admitted within SLO, per-app attainment. */
export function summarise(r: LoadReport): {
  goodput: number;
  admittedInSlo: number;
  attainment: Record<string, number>;
  refused: number;
} {
  let inSlo = 0;
  let admitted = 0;
  let refused = 0;
  const attainment: Record<string, number> = {};
  for (const a of r.apps) {
    const good = Math.round((a.sloAttainment ?? 0) * a.sent);
    inSlo += good;
    const no = (a.errors['429'] ?? 0) + (a.errors['503'] ?? 0);
    refused += no;
    admitted += a.sent - no;
    attainment[a.app] = a.sloAttainment ?? 0;
  }
  return {
    goodput: inSlo / r.durationS,
    admittedInSlo: admitted ? inSlo / admitted : 1,
    attainment,
    refused,
  };
}

/**
 * The gateway of a scenario in a child process (its own core: the load generator here must not
 * slow the gateway down); resolves with its URL once it listens.
 */
export async function spawnGateway(
  s: Scenario,
  admission: 'deadline' | 'queue',
  extraEnv: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess; rss: number[]; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: {
      ...process.env,
      ...extraEnv,
      OVERLOAD_ROLE: 'server',
      OVERLOAD_SCENARIO: JSON.stringify(s),
      OVERLOAD_ADMISSION: admission,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rss: number[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /URL (\S+)/.exec(buf);
      if (m) resolve(m[1]);
      for (const r of buf.matchAll(/RSS (\d+)\n/g)) rss.push(Number(r[1]));
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`gateway child exited with ${code}`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
  };
  return { url, child, rss, stop };
}

async function serveRole(): Promise<void> {
  const s = JSON.parse(process.env['OVERLOAD_SCENARIO']!) as Scenario;
  // Soak: a worker of an onnx backend crashes every OVERLOAD_KILL_EVERY_S seconds.
  const killEvery = Number(process.env['OVERLOAD_KILL_EVERY_S'] ?? 0);
  const onnx: OnnxBackend[] = [];
  const { gw, url } = await startScenario(
    s,
    process.env['OVERLOAD_ADMISSION'] as 'deadline' | 'queue',
    killEvery > 0
      ? (cfg, ctx) => {
          const b = createBackend(cfg, ctx);
          if (b instanceof OnnxBackend) onnx.push(b);
          return b;
        }
      : undefined,
  );
  if (killEvery > 0) {
    let n = 0;
    setInterval(() => {
      const live = onnx.filter((b) => b.liveWorkers > 0);
      if (live.length) void live[n++ % live.length].killWorker(0);
    }, killEvery * 1000).unref();
  }
  setInterval(() => console.log(`RSS ${process.memoryUsage().rss}`), 1000).unref();
  console.log(`URL ${url}`);
  process.once('SIGTERM', () => void gw.close().then(() => process.exit(0)));
}

interface BatchTotals {
  execS: number;
  batches: number;
  rows: number;
}

/** Backend seconds, batches and rows the gateway at `url` has served so far (its /metrics). */
async function batchTotals(url: string): Promise<BatchTotals> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const total = (name: string): number => {
    let x = 0;
    for (const m of text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm'))) x += Number(m[1]);
    return x;
  };
  return {
    execS: total('hetserve_batch_exec_seconds_sum'),
    batches: total('hetserve_batch_exec_seconds_count'),
    rows: total('hetserve_batch_size_sum'),
  };
}

/**
 * One phase against a fresh gateway: every app at its planned rate, a0 flooding to 3 C when
 * `flood`; with the backend's batches as the gateway measured them meanwhile: their mean (what
 * the phase's throughput saw) and the median of half-second windows of it (what a host stall in
 * one window does not move).
 */
async function phase(
  s: Scenario,
  admission: 'deadline' | 'queue',
  flood: boolean,
  durationS = SECONDS,
): Promise<{
  report: LoadReport;
  batches: { latencyS: number; medianS: number; batch: number; count: number };
  /** Where misses arose: the gateway's own count per app (arrival there to answer), and this
   * process's longest event-loop stall (the load generator's clock), ms. */
  seen: { gatewayMisses: Record<string, number>; clientLagMaxMs: number };
}> {
  const { url, stop } = await spawnGateway(s, admission);
  const c = capacityOf(s);
  try {
    // Batches of the first second left out: a fresh backend's first batches run slow (warm-up).
    const seen: BatchTotals[] = [];
    let sampling: Promise<void> = Promise.resolve();
    const poll = (): void => {
      sampling = sampling.then(async () => void seen.push(await batchTotals(url)));
    };
    let timer: NodeJS.Timeout | undefined;
    const start = setTimeout(() => {
      poll();
      timer = setInterval(poll, 500);
    }, 1000);
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const report = await runLoad({
      url,
      model: s.model.name,
      apps: APPS.map((a) => ({
        name: a.name,
        slo: a.slo,
        rps: a.name === 'a0' && flood ? 3 * c - 0.3 * c : a.share * c,
      })),
      durationS,
      connections: 512,
      timeoutMs: 10_000,
      seed: 7,
    });
    lag.disable();
    clearTimeout(start);
    clearInterval(timer);
    const gatewayMisses: Record<string, number> = {};
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const m of text.matchAll(/^hetserve_slo_misses_total\{[^}]*app="([^"]+)"[^}]*\} (\S+)$/gm))
      gatewayMisses[m[1]] = (gatewayMisses[m[1]] ?? 0) + Number(m[2]);
    poll();
    await sampling;
    const [t0, t1] = [seen[0] ?? { execS: 0, batches: 0, rows: 0 }, seen[seen.length - 1]];
    const n = t1.batches - t0.batches;
    const windows: number[] = [];
    for (let i = 1; i < seen.length; i++) {
      const k = seen[i].batches - seen[i - 1].batches;
      if (k > 0) windows.push((seen[i].execS - seen[i - 1].execS) / k);
    }
    windows.sort((x, y) => x - y);
    const latencyS = (t1.execS - t0.execS) / n;
    return {
      report,
      batches: {
        latencyS,
        medianS: windows.length ? windows[Math.floor(windows.length / 2)] : latencyS,
        batch: (t1.rows - t0.rows) / n,
        count: n,
      },
      seen: { gatewayMisses, clientLagMaxMs: lag.max / 1e6 },
    };
  } finally {
    await stop();
  }
}

/**
 * The capacity this machine delivers under a 3x flood of itself. The flood's HTTP work competes
 * with the backend for the cores, so the backend's batch latency, and with it the capacity
 * g(C) measured under an offered 3 C, falls as C rises: bisect (geometric) for g(C) = C between
 * g(C0) and C0, C0 the capacity the scenario's own latency says.
 */
async function measureCapacity(s0: Scenario): Promise<{ s: Scenario; rounds: string[] }> {
  const rounds: string[] = [];
  const at = (c: number): Scenario => ({ ...s0, latencyS: (s0.batch * s0.concurrency) / c });
  const g = async (c: number): Promise<number> => {
    // A probe that saw no batch measured nothing (its capacity would read NaN or Infinity, and
    // every rate after it too): try again, then stop with what happened.
    let { batches } = await phase(at(c), 'deadline', true, Math.max(3, SECONDS / 2));
    for (let retry = 0; retry < 2 && !(batches.count > 0 && batches.medianS > 0); retry++) {
      rounds.push(`${(3 * c).toFixed(0)} req/s -> no batch measured, again`);
      ({ batches } = await phase(at(c), 'deadline', true, Math.max(3, SECONDS / 2)));
    }
    if (!(batches.count > 0 && batches.medianS > 0))
      throw new Error(
        `capacity probe at ${(3 * c).toFixed(1)} req/s: the gateway ran no batch in 3 tries (${batches.count} batches); is the backend serving?`,
      );
    // The median window, not the mean: one stall in a probe on a shared host halved its mean
    // capacity and sent the bisection to a third of what the phases then ran at.
    const measured = (s0.batch * s0.concurrency) / batches.medianS;
    rounds.push(
      `${(3 * c).toFixed(0)} req/s -> ${(batches.medianS * 1000).toFixed(1)} ms (C ${measured.toFixed(1)})`,
    );
    return measured;
  };
  let hi = capacityOf(s0);
  let lo = await g(hi);
  if (lo >= 0.9 * hi) return { s: at(Math.min(lo, hi)), rounds };
  for (let i = 0; i < 3 && hi > 1.15 * lo; i++) {
    const mid = Math.sqrt(lo * hi);
    if ((await g(mid)) >= mid) lo = mid;
    else hi = mid;
  }
  return { s: at(Math.sqrt(lo * hi)), rounds };
}

/** Batch latency of the onnx scenario's model at batch B on one worker, measured here. */
async function onnxLatency(model: Scenario['model'], batch: number): Promise<number> {
  const b = new OnnxBackend(
    { type: 'onnx', workers: 1, threadsPerWorker: 1 },
    { id: 'probe', model: parseWith(ModelConfigSchema, model, 'E_CONFIG_INVALID', 'model'), baseDir: '.' },
  );
  const io = await b.start();
  const reqs = Array.from({ length: batch }, () => ({
    samples: io.inputs.map((t) => Array.from({ length: t.shape.reduce((x, y) => x * y, 1) }, () => 0.5)),
  }));
  const inputs = assembleBatch(io, reqs);
  const xs: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    await b.infer({ inputs, size: batch, signal: new AbortController().signal });
    if (i >= 5) xs.push((performance.now() - t0) / 1000);
  }
  await b.close();
  xs.sort((x, y) => x - y);
  return xs[Math.floor(xs.length * 0.5)];
}

export async function scenarios(backends: readonly string[] = BACKENDS): Promise<Scenario[]> {
  const out: Scenario[] = [];
  const echo = {
    name: 'echo',
    profile: 'VGG19',
    inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [4] }],
  };
  if (backends.includes('replay'))
    out.push({
      name: 'replay',
      batch: 4,
      concurrency: 1,
      latencyS: 0.1,
      model: echo,
      backend: { type: 'replay', latency: 100 },
    });
  if (backends.includes('onnx')) {
    const model = {
      name: 'mlp',
      profile: 'VGG19',
      source: { synthetic: 'mlp' as const, seed: 1, options: { inputs: 256, hidden: 4096, layers: 4 } },
    };
    const batch = 8;
    // The plan's latency is a profile's: measured here, on this machine, before the run.
    const latencyS = await onnxLatency(model, batch);
    out.push({
      name: 'onnx',
      batch,
      concurrency: 1,
      latencyS,
      model,
      backend: { type: 'onnx', workers: 1, threadsPerWorker: 1 },
    });
  }
  return out;
}

async function main(): Promise<void> {
  for (const probed of await scenarios()) {
    // Capacity as this machine delivers it now, measured first; the phases offer multiples of it.
    const { s, rounds } = await measureCapacity(probed);
    const c = capacityOf(s);
    console.log(
      `\n## ${s.name}: batch ${s.batch} x ${s.concurrency} slot(s); capacity measured in this run: C = ${c.toFixed(1)} req/s (${(s.latencyS * 1000).toFixed(1)} ms per batch under a 3 C flood; the ${probed.name === 'replay' ? 'configured' : "isolated probe's"} ${(probed.latencyS * 1000).toFixed(1)} ms would say ${capacityOf(probed).toFixed(1)}); probes (offered -> backend ms per batch): ${rounds.join(', ')}; phases offer multiples of C, ${SECONDS} s each`,
    );
    const rows: [
      string,
      ReturnType<typeof summarise>,
      { latencyS: number; batch: number },
      number,
      LoadReport,
      Awaited<ReturnType<typeof phase>>['seen'],
    ][] = [];
    const b = await phase(s, 'deadline', false);
    rows.push(['baseline (0.4 C)', summarise(b.report), b.batches, 0.4 * c, b.report, b.seen]);
    for (const admission of ['deadline', 'queue'] as const) {
      const p = await phase(s, admission, true);
      rows.push([`3 C, admission=${admission}`, summarise(p.report), p.batches, 3 * c, p.report, p.seen]);
    }
    const base = rows[0][1];
    for (const [label, r, bs, offered, report, seen] of rows) {
      const others = ['a1', 'a2', 'a3'].map((a) => `${a} ${(r.attainment[a]! * 100).toFixed(1)}%`).join(', ');
      console.log(
        `${label.padEnd(26)} goodput ${r.goodput.toFixed(1)} req/s (${((r.goodput / c) * 100).toFixed(1)}% of C), admitted within SLO ${(r.admittedInSlo * 100).toFixed(2)}%, refused ${r.refused}; other apps: ${others}; backend ${(bs.latencyS * 1000).toFixed(1)} ms per batch of ${bs.batch.toFixed(1)} (goodput ${((r.goodput * bs.latencyS * 100) / (s.batch * s.concurrency)).toFixed(1)}% of that phase's capacity, offered ${((offered * bs.latencyS) / (s.batch * s.concurrency)).toFixed(2)}x it)`,
      );
      // Where a deadline phase missed: which apps, answered late or not at all (status counts).
      if (!label.includes('queue') && r.admittedInSlo < 0.999)
        console.log(
          `  misses: ${report.apps
            .map(
              (a) =>
                `${a.app} ${a.ok}/${a.sent} ok, p99 ${a.p99Ms?.toFixed(0)} ms, max ${a.maxMs?.toFixed(0)} ms, errors ${JSON.stringify(a.errors)}`,
            )
            .join(
              '; ',
            )}; the gateway's own misses (arrival there to answer, refusals included): ${JSON.stringify(seen.gatewayMisses)}; load generator's longest event-loop stall ${seen.clientLagMaxMs.toFixed(0)} ms`,
        );
    }
    const [, over] = rows[1];
    const [, old] = rows[2];
    figure('overload', `${s.name}.capacity`, +c.toFixed(2), 'req/s');
    figure('overload', `${s.name}.probe_capacity`, +capacityOf(probed).toFixed(2), 'req/s');
    figure('overload', `${s.name}.goodput_vs_capacity`, +(over.goodput / c).toFixed(4), 'ratio');
    // The same against what the backend did during that phase (full batches at its measured time).
    const phaseC = (s.batch * s.concurrency) / rows[1][2].latencyS;
    figure('overload', `${s.name}.goodput_vs_phase_capacity`, +(over.goodput / phaseC).toFixed(4), 'ratio');
    figure('overload', `${s.name}.offered_vs_phase_capacity`, +((3 * c) / phaseC).toFixed(3), 'ratio');
    figure('overload', `${s.name}.admitted_within_slo`, +over.admittedInSlo.toFixed(4), 'ratio');
    figure('overload', `${s.name}.queue_only.goodput_vs_capacity`, +(old.goodput / c).toFixed(4), 'ratio');
    for (const a of ['a1', 'a2', 'a3'])
      figure(
        'overload',
        `${s.name}.${a}.attainment_change`,
        +(over.attainment[a]! - base.attainment[a]!).toFixed(4),
        'ratio',
      );
  }
  finish();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.env['OVERLOAD_ROLE'] === 'server') await serveRole();
  else
    await main().catch((e: unknown) => {
      console.error(`overload: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    });
}
