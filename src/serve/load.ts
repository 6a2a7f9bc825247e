/**
 * Open-loop load generator against any OIP (KServe v2) endpoint: Poisson arrivals per application
 * at fixed rates, or per-minute traces (rate = count / segment within each segment), using the
 * simulator's arrival streams. Requests are sent when they are due, whatever the answers do
 * (open loop), so overload shows up as latency and errors, not as a slower client. Per app it
 * reports sent/ok/errors and latency percentiles (HDR histogram), and SLO attainment when SLOs
 * are known. It is also the gateway's built-in demo load.
 */
import { Pool } from 'undici';
import type { Histogram } from 'hdr-histogram-js';
import { hdrHistogram } from '../simulate/metrics.ts';
import { HetserveError } from '../model/errors.ts';
import { DiscreteSampler, Rng } from '../workload/rng.ts';
import type { QuerySizeDistribution } from '../workload/query-sizes.ts';
import { poissonArrivals, traceArrivals } from '../workload/arrivals.ts';

export interface LoadApp {
  name: string;
  /** Poisson rate, req/s (ignored with `traces`). */
  rps: number;
  /** SLO in seconds, for attainment (optional). */
  slo?: number;
}

export interface LoadOptions {
  /** Base URL of the OIP endpoint, e.g. http://127.0.0.1:8080. */
  url: string;
  model: string;
  apps: LoadApp[];
  /** Run time, seconds (default 10; Infinity runs until `signal` aborts). */
  durationS?: number;
  /** Per-minute counts per app (same order as `apps`); replaces the Poisson rates. */
  traces?: number[][];
  /** Seconds per trace segment (default 60; smaller replays a trace faster). */
  segmentS?: number;
  /** Multiply every rate (default 1). */
  scale?: number;
  /** RNG seed for arrivals and inputs (default 1). */
  seed?: number;
  /** Client-side timeout per request, ms (default 30000). */
  timeoutMs?: number;
  /** Connections to the endpoint (default 64). */
  connections?: number;
  /**
   * Cluster mode: each request carries `parameters.query_size` drawn from this mix (e.g. the
   * DeepRecSys-like one), so the gateway routes it by size. Default: none.
   */
  querySizes?: QuerySizeDistribution;
  /** How the app is named: header `x-hetserve-app` (default) or the `app` request parameter. */
  appVia?: 'header' | 'parameter';
  signal?: AbortSignal;
  /** Called once per second with the running totals. */
  onProgress?: (r: LoadReport) => void;
}

export interface AppLoadReport {
  app: string;
  sent: number;
  ok: number;
  /** Non-200 answers by status ("0" = network error / client timeout). */
  errors: Record<string, number>;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Share of sent requests answered 200 within the SLO (null without an SLO). */
  sloAttainment: number | null;
}

export interface LoadReport {
  durationS: number;
  sent: number;
  ok: number;
  achievedRps: number;
  apps: AppLoadReport[];
}

interface Acc {
  sent: number;
  ok: number;
  inSlo: number;
  errors: Record<string, number>;
  hist: Histogram;
}

/** The first input of the model, from its metadata: a body template with random data. */
async function bodyFactory(
  pool: Pool,
  model: string,
  rng: Rng,
  sizes?: QuerySizeDistribution,
): Promise<(app: string, viaParam: boolean) => string> {
  let meta: { inputs?: { name: string; datatype: string; shape: number[] }[] };
  try {
    const r = await pool.request({ path: `/v2/models/${encodeURIComponent(model)}`, method: 'GET' });
    const text = await r.body.text();
    if (r.statusCode !== 200)
      throw new HetserveError(
        'E_ENDPOINT_STATUS',
        `model ${model}: metadata answered ${r.statusCode}: ${text.slice(0, 200)}`,
        { field: 'model', value: model },
      );
    meta = JSON.parse(text);
  } catch (e) {
    if (e instanceof HetserveError) throw e;
    throw new HetserveError(
      'E_ENDPOINT_UNREACHABLE',
      `url: cannot reach the endpoint (${(e as Error).message})`,
      { field: 'url', value: model },
    );
  }
  const inputs = (meta.inputs ?? []).map((t) => {
    const shape = t.shape.map((d) => (d < 0 ? 1 : d));
    if (shape.length > 0 && t.shape[0] < 0) shape[0] = 1;
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Array.from({ length: n }, () => {
      if (t.datatype === 'BOOL') return rng.next() < 0.5;
      if (t.datatype.startsWith('FP')) return Math.round(rng.next() * 2000 - 1000) / 1000;
      return Math.floor(rng.next() * 100);
    });
    return { name: t.name, datatype: t.datatype, shape, data };
  });
  const body = JSON.stringify({ inputs });
  if (sizes) {
    const sampler = new DiscreteSampler(sizes.sizes, sizes.probabilities);
    const sizeRng = new Rng((rng.next() * 2 ** 31) >>> 0);
    return (app, viaParam) =>
      JSON.stringify({
        parameters: { ...(viaParam ? { app } : {}), query_size: sizes.sizes[sampler.drawIndex(sizeRng)] },
        inputs,
      });
  }
  return (app, viaParam) => (viaParam ? JSON.stringify({ parameters: { app }, inputs }) : body);
}

export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  let origin: URL;
  try {
    origin = new URL(opts.url);
  } catch {
    throw new HetserveError('E_INVALID_OPTION', `url: not a URL (got ${JSON.stringify(opts.url)})`, {
      field: 'url',
      value: opts.url,
    });
  }
  if (opts.apps.length === 0)
    throw new HetserveError('E_APPS_EMPTY', 'apps: give at least one application', {
      field: 'apps',
      value: [],
    });
  const durationS = opts.durationS ?? 10;
  const scale = opts.scale ?? 1;
  const rng = new Rng(opts.seed ?? 1);
  const pool = new Pool(origin.origin, { connections: opts.connections ?? 64, keepAliveTimeout: 30_000 });
  const viaParam = opts.appVia === 'parameter';
  try {
    const makeBody = await bodyFactory(pool, opts.model, rng, opts.querySizes);
    const stream = opts.traces
      ? traceArrivals(
          opts.traces.map((c) => c.map((x) => x * scale)),
          rng,
          { segmentS: opts.segmentS ?? 60 },
        )
      : poissonArrivals(
          opts.apps.map((a) => a.rps * scale),
          rng,
        );
    const accs: Acc[] = opts.apps.map(() => ({
      sent: 0,
      ok: 0,
      inSlo: 0,
      errors: {},
      hist: hdrHistogram(3),
    }));
    const headers = { 'content-type': 'application/json' };
    const path = `/v2/models/${encodeURIComponent(opts.model)}/infer`;
    const outstanding = new Set<Promise<void>>();
    const t0 = performance.now();
    const report = (): LoadReport => summarise(opts.apps, accs, (performance.now() - t0) / 1000);

    const fire = (i: number): void => {
      const app = opts.apps[i];
      const acc = accs[i];
      acc.sent++;
      const start = performance.now();
      const p = pool
        .request({
          path,
          method: 'POST',
          headers: viaParam ? headers : { ...headers, 'x-hetserve-app': app.name },
          body: makeBody(app.name, viaParam),
          headersTimeout: opts.timeoutMs ?? 30_000,
          bodyTimeout: opts.timeoutMs ?? 30_000,
        })
        .then(async (r) => {
          await r.body.text();
          const ms = performance.now() - start;
          if (r.statusCode === 200) {
            acc.ok++;
            acc.hist.recordValue(Math.max(1, Math.round(ms * 1000)));
            if (app.slo !== undefined && ms <= app.slo * 1000) acc.inSlo++;
          } else acc.errors[r.statusCode] = (acc.errors[r.statusCode] ?? 0) + 1;
        })
        .catch(() => {
          acc.errors['0'] = (acc.errors['0'] ?? 0) + 1;
        })
        .finally(() => outstanding.delete(p));
      outstanding.add(p);
    };

    await new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const progress = opts.onProgress ? setInterval(() => opts.onProgress!(report()), 1000) : undefined;
      const stop = (): void => {
        if (timer) clearTimeout(timer);
        if (progress) clearInterval(progress);
        resolve();
      };
      opts.signal?.addEventListener('abort', stop, { once: true });
      const loop = (): void => {
        if (opts.signal?.aborted) return stop();
        const now = (performance.now() - t0) / 1000;
        while (stream.time <= now && stream.time < durationS) {
          fire(stream.app);
          stream.advance();
        }
        if (stream.time >= durationS || !Number.isFinite(stream.time)) {
          if (progress) clearInterval(progress);
          return resolve();
        }
        timer = setTimeout(loop, Math.max(0, (stream.time - now) * 1000));
      };
      loop();
    });
    await Promise.all(outstanding);
    const r = report();
    for (const a of accs) a.hist.destroy();
    return r;
  } finally {
    await pool.close();
  }
}

function summarise(apps: LoadApp[], accs: Acc[], elapsed: number): LoadReport {
  const per = apps.map((a, i): AppLoadReport => {
    const x = accs[i];
    const has = x.hist.totalCount > 0;
    const q = (p: number) => (has ? x.hist.getValueAtPercentile(p) / 1000 : null);
    return {
      app: a.name,
      sent: x.sent,
      ok: x.ok,
      errors: { ...x.errors },
      p50Ms: q(50),
      p95Ms: q(95),
      p99Ms: q(99),
      maxMs: has ? x.hist.maxValue / 1000 : null,
      sloAttainment: a.slo !== undefined && x.sent > 0 ? x.inSlo / x.sent : null,
    };
  });
  const sent = per.reduce((s, a) => s + a.sent, 0);
  const ok = per.reduce((s, a) => s + a.ok, 0);
  return { durationS: elapsed, sent, ok, achievedRps: elapsed > 0 ? ok / elapsed : 0, apps: per };
}

/** Human-readable table of a load report. */
export function formatLoadReport(r: LoadReport): string {
  const f = (v: number | null) => (v === null ? '-' : v.toFixed(1));
  const lines = [
    `${'app'.padEnd(12)} ${'sent'.padStart(7)} ${'ok'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'in SLO'.padStart(7)}  errors`,
  ];
  for (const a of r.apps) {
    const errs = Object.entries(a.errors)
      .map(([k, v]) => `${k === '0' ? 'net' : k}:${v}`)
      .join(' ');
    lines.push(
      `${a.app.padEnd(12)} ${String(a.sent).padStart(7)} ${String(a.ok).padStart(7)} ${f(a.p50Ms).padStart(8)} ${f(a.p95Ms).padStart(8)} ${f(a.p99Ms).padStart(8)} ${f(a.maxMs).padStart(8)} ${(a.sloAttainment === null ? '-' : (a.sloAttainment * 100).toFixed(1) + '%').padStart(7)}  ${errs}`,
    );
  }
  lines.push(
    `total: ${r.sent} sent, ${r.ok} ok in ${r.durationS.toFixed(1)} s (${r.achievedRps.toFixed(1)} ok/s)`,
  );
  return lines.join('\n');
}
