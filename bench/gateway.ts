/**
 * Gateway benchmark. Each server runs in its own child process (one core), autocannon drives it
 * from this process (the other core), so the figures are what 2 cores give.
 *
 * 0. A bare echo on hono + @hono/node-server, to show what the framework would cost.
 * 1. replay backend at 0 ms: requests/s with 64 connections (target >= 20,000), for batch size 1
 *    and batch size 8 (timeout 1 ms); the same load against a bare node:http server that answers
 *    the same OIP JSON body (parses the request, serialises a reply). All servers stay up and take
 *    turns in short slices (BENCH_SLICE_SECONDS, default 1; ROUNDS x SECONDS of slices each), so
 *    the ratios compare slices seconds apart; beside requests/s, each server's CPU time per
 *    request. Targets: batch 1 >= 0.6x bare, batch 8 >= 0.85x (issue 14).
 * 2. Gateway overhead per request at moderate load (8 connections, batch 1): end-to-end inside
 *    the gateway minus batching wait minus backend time (the `gateway_ms`, `queue_ms`,
 *    `backend_ms` the gateway returns), p50/p99 (targets 0.3 / 2 ms); and the client-side
 *    latency difference to the bare server (HTTP parse/serialise included).
 * 2b. The same gateways over gRPC (OIP ModelInfer, typed contents, 64 calls in flight from one
 *    grpc-js client in this process), beside REST.
 * 3. onnx backend (the synthetic MLP, widened to 4 x 1024 hidden, 1 worker): throughput unbatched (batch 1) vs batched
 *    (batch 16, timeout 5 ms).
 *
 * Run: `npm run bench -- gateway` (BENCH_SECONDS=5 per measurement, BENCH_ROUNDS=3 by default;
 * BENCH_ONNX=0 skips part 3; BENCH_BASELINE=<path of another checkout, built> adds its gateway to
 * the slices of part 1, for a before/after in one run; BENCH_SERVER_FLAGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`, are
 * node flags for the server processes, which then exit normally at the end).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { figure, finish, median, percentile } from './lib.ts';
import { buildIsFresh } from '../bin/fresh-build.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BODY = JSON.stringify({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.5, 1.5, -2, 3] }],
});
const MLP_BODY = JSON.stringify({
  inputs: [
    {
      name: 'input',
      datatype: 'FP32',
      shape: [1, 256],
      data: Array.from({ length: 256 }, (_, i) => Math.sin(i)),
    },
  ],
});

type Role = 'bare' | 'hono' | 'replay-1' | 'replay-8' | 'base-1' | 'base-8' | 'onnx-1' | 'onnx-16';

async function serve(role: Role): Promise<void> {
  // The bench asks for this process's CPU time around each slice: CPU per request is far less
  // sensitive to neighbours on a shared machine than requests/s.
  // 'exit' ends it normally, so that a --cpu-prof given in BENCH_SERVER_FLAGS is written.
  process.on('message', (m) => (m === 'exit' ? process.exit(0) : process.send?.(process.cpuUsage())));
  if (role === 'bare') {
    // What any Node OIP server must do at least: read the body, parse it, answer JSON.
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const j = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const text = JSON.stringify({ model_name: 'echo', model_version: '1', outputs: j.inputs });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
    s.listen(0, '127.0.0.1', () => console.log(`PORT ${(s.address() as AddressInfo).port}`));
    return;
  }
  if (role === 'hono') {
    // The same bare echo on hono + @hono/node-server: why the gateway uses node:http directly.
    const { Hono } = await import('hono');
    const { serve: honoServe } = await import('@hono/node-server');
    const app = new Hono();
    app.post('/v2/models/:m/infer', async (c) => {
      const j = (await c.req.json()) as { inputs: unknown };
      return c.json({ model_name: 'echo', model_version: '1', outputs: j.inputs });
    });
    honoServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      console.log(`PORT ${info.port}`),
    );
    return;
  }
  const pino = (await import('pino')).default;
  // The gateway as `npm start` runs it: the compiled build when it is fresh (tsx's transform adds
  // a name-keeping call to every closure it creates, which a per-request path pays for).
  // A `base-` role serves the build of another checkout (BENCH_BASELINE), the same bench around it.
  const base = role.startsWith('base-');
  const root = base
    ? new URL(`file://${process.env['BENCH_BASELINE']!.replace(/\/?$/, '/')}`)
    : new URL('../', import.meta.url);
  const compiled = buildIsFresh(root);
  if (base && !compiled) throw new Error(`BENCH_BASELINE: no fresh build in ${root.pathname}dist`);
  const { parseServeConfig } = (await import(
    new URL(compiled ? 'dist/model/serve-config.js' : 'src/model/serve-config.ts', root).href
  )) as typeof import('../src/model/serve-config.ts');
  const { Gateway } = (await import(
    new URL(compiled ? 'dist/serve/gateway.js' : 'src/serve/gateway.ts', root).href
  )) as typeof import('../src/serve/gateway.ts');
  if (!compiled)
    console.error(`# ${role}: dist/ is older than src/ (run npm run build): serving from src/ through tsx`);
  const [k0, b] = role.split('-');
  const kind = k0 === 'base' ? 'replay' : k0;
  const batch = Number(b);
  const apps = [{ name: 'a', slo: 1, rps: 100 }];
  const model =
    kind === 'replay'
      ? { name: 'echo', profile: 'VGG19', inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [4] }] }
      : // A wider MLP than the default so that compute, not HTTP, dominates (about 13 MFLOP/sample).
        {
          name: 'mlp',
          profile: 'VGG19',
          source: { synthetic: 'mlp' as const, seed: 1, options: { hidden: 1024, layers: 4 } },
        };
  const config = parseServeConfig({
    listen: { host: '127.0.0.1', port: 0 },
    models: [model],
    applications: apps,
    serving: {
      mode: 'serverless',
      backend:
        kind === 'replay'
          ? { type: 'replay', latency: 0 }
          : { type: 'onnx', workers: 1, threadsPerWorker: 1 },
    },
    replan: { intervalS: 0, windowS: 60 },
    limits: { maxQueue: 100_000 },
    logLevel: 'silent',
  });
  const timeout = batch === 1 ? 0 : kind === 'replay' ? 0.001 : 0.005;
  const gw = new Gateway({
    config,
    logger: pino({ level: 'silent' }),
    planFn: () => ({
      kind: 'serverless-plan',
      algorithm: 'bench',
      model: model.name,
      priceTable: 'prototype-cny',
      currency: 'CNY',
      compat: 'paper',
      totalCostPerRequest: 0,
      groups: [
        {
          apps: ['a'],
          function: { kind: 'cpu', vcpu: 1, memoryGb: 2 },
          batchSize: batch,
          timeouts: { a: timeout },
          costPerRequest: 0,
          trafficShare: 1,
          weightedCost: 0,
          rps: 100,
          latency: { avg: 0, max: 0 },
          slack: { a: 1 },
        },
      ],
      excluded: [],
      apps,
    }),
  });
  const { port, grpcPort } = await gw.start();
  console.log(`PORT ${port} GRPC ${grpcPort}`);
}

function start(role: Role): Promise<{ child: ChildProcess; url: string; grpcPort: number }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env['BENCH_SERVER_FLAGS'] ?? '').split(' ').filter(Boolean),
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--serve',
      role,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /PORT (\d+)(?: GRPC (\d+))?/.exec(out);
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}`, grpcPort: Number(m[2] ?? 0) });
    });
    child.once('exit', (code) => reject(new Error(`${role} server exited (${code})`)));
  });
}

/** The server process's CPU time (user + system), µs. */
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (u: NodeJS.CpuUsage) => resolve(u.user + u.system));
    child.send('cpu');
  });
}

async function stop(child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit');
  const done = new Promise((r) => child.once('exit', r));
  if (process.env['BENCH_SERVER_FLAGS']) {
    // A normal exit writes what the flags ask for (a CPU profile); killed if it takes too long.
    child.send('exit');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(t);
    return;
  }
  child.kill('SIGKILL');
  await done;
}

interface Throughput {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** A closed loop of JSON POSTs from autocannon: `connections` at a time for `seconds`. */
async function postLoad(
  url: string,
  body: string,
  connections: number,
  seconds: number,
  headers: Record<string, string>,
) {
  const autocannon = (await import('autocannon')).default;
  return autocannon({
    url,
    method: 'POST',
    body,
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

async function throughput(
  url: string,
  path: string,
  body: string,
  connections: number,
  headers: Record<string, string> = {},
): Promise<Throughput> {
  await postLoad(url + path, body, connections, 1, headers); // warm-up
  const r = await postLoad(url + path, body, connections, SECONDS, headers);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx + r.timeouts,
  };
}

interface Slice {
  rps: number;
  requests: number;
  /** The server's CPU time over the slice, µs. */
  cpuUs: number;
  errors: number;
}

/** One short closed-loop slice at 64 connections, with the server's CPU time over it. */
async function slice(
  s: { child: ChildProcess; url: string },
  path: string,
  body: string,
  headers: Record<string, string>,
  seconds: number,
): Promise<Slice> {
  const c0 = await cpuOf(s.child);
  const r = await postLoad(s.url + path, body, 64, seconds, headers);
  const c1 = await cpuOf(s.child);
  return {
    rps: r.requests.average,
    requests: r.requests.total,
    cpuUs: c1 - c0,
    errors: r.errors + r.non2xx + r.timeouts,
  };
}

/**
 * ModelInfer calls kept `inflight` at a time for SECONDS (after 1 s of warm-up), with the CPU time
 * per call of the server and of this process (the one grpc-js client): which of the two is the limit.
 */
async function grpcThroughput(
  server: { child: ChildProcess; grpcPort: number },
  inflight: number,
): Promise<Throughput & { serverCpuUs: number; clientCpuUs: number }> {
  const port = server.grpcPort;
  const grpc = await import('@grpc/grpc-js');
  const { loadService } = await import('../src/serve/grpc/server.ts');
  const pkg = loadService() as unknown as {
    inference: { GRPCInferenceService: new (addr: string, creds: unknown) => GrpcClient };
  };
  const client = new pkg.inference.GRPCInferenceService(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  );
  const req = {
    model_name: 'echo',
    parameters: { app: { string_param: 'a' } },
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [0.5, 1.5, -2, 3] } }],
  };
  const run = async (ms: number) => {
    const lat: number[] = [];
    let errors = 0;
    const end = performance.now() + ms;
    const worker = () =>
      new Promise<void>((done) => {
        const go = (): void => {
          if (performance.now() >= end) return done();
          const t0 = performance.now();
          client.ModelInfer(req, (err) => {
            if (err) errors++;
            else lat.push(performance.now() - t0);
            go();
          });
        };
        go();
      });
    await Promise.all(Array.from({ length: inflight }, worker));
    return { lat, errors };
  };
  await run(1000);
  const s0 = await cpuOf(server.child);
  const c0 = process.cpuUsage();
  const r = await run(SECONDS * 1000);
  const c = process.cpuUsage(c0);
  const s1 = await cpuOf(server.child);
  client.close();
  const calls = Math.max(1, r.lat.length);
  return {
    serverCpuUs: (s1 - s0) / calls,
    clientCpuUs: (c.user + c.system) / calls,
    rps: r.lat.length / SECONDS,
    p50: percentile(r.lat, 50),
    p99: percentile(r.lat, 99),
    errors: r.errors,
  };
}

interface GrpcClient {
  ModelInfer(req: unknown, cb: (err: Error | null) => void): void;
  close(): void;
}

/** Closed-loop requests at moderate concurrency; per-request gateway-internal timings and client latency. */
async function overhead(
  url: string,
  path: string,
  headers: Record<string, string>,
  n: number,
): Promise<{ internal: number[]; client: number[] }> {
  const pool = new Pool(url, { connections: 8 });
  const internal: number[] = [];
  const client: number[] = [];
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i++ < n) {
      const t0 = performance.now();
      const r = await pool.request({
        path,
        method: 'POST',
        body: BODY,
        headers: { 'content-type': 'application/json', ...headers },
      });
      const j = (await r.body.json()) as {
        parameters?: { gateway_ms: number; queue_ms: number; backend_ms: number };
      };
      client.push(performance.now() - t0);
      const p = j.parameters;
      if (p) internal.push(p.gateway_ms - p.queue_ms - p.backend_ms);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await pool.close();
  return { internal, client };
}

async function main(): Promise<void> {
  const B = 'gateway';
  const rows: string[] = [];
  const infer = '/v2/models/echo/infer';
  const app = { 'x-hetserve-app': 'a' };

  // Throughput in many short slices, the servers taking turns (the order rotates each cycle), so
  // that a neighbour's load on a shared machine hits all alike; each gateway slice is compared
  // with the bare slice of its own cycle. Beside requests/s, each server's CPU time per request
  // (process.cpuUsage over the slice), which a neighbour disturbs far less. Every cycle is printed.
  // With BENCH_BASELINE=<another checkout, built>, its gateway takes turns too (base-1, base-8):
  // a change is measured against the code it replaces in the same run.
  const baseline = process.env['BENCH_BASELINE'] !== undefined;
  const roles: R[] = [
    'bare',
    'hono',
    'replay-1',
    'replay-8',
    ...(baseline ? (['base-1', 'base-8'] as const) : []),
  ];
  type R = 'bare' | 'hono' | 'replay-1' | 'replay-8' | 'base-1' | 'base-8';
  const sliceS = Number(process.env['BENCH_SLICE_SECONDS'] ?? 1);
  const cycles = Math.max(5, Math.round((ROUNDS * SECONDS) / sliceS));
  const servers = {} as Record<R, Awaited<ReturnType<typeof start>>>;
  for (const role of roles) servers[role] = await start(role);
  const hdr = (role: R) => (role === 'bare' || role === 'hono' ? {} : app);
  // Warm-up: the first second of a fresh server runs largely unoptimised code.
  for (const role of roles) await slice(servers[role], infer, BODY, hdr(role), 2);
  const slices = Object.fromEntries(roles.map((r) => [r, [] as Slice[]])) as Record<R, Slice[]>;
  const perReq = (x: Slice) => x.cpuUs / Math.max(1, x.requests);
  const gateways = roles.filter((r) => r !== 'bare' && r !== 'hono');
  // Per gateway role, per cycle: req/s over bare's and bare's CPU per request over the gateway's
  // (what the throughput ratio would be on a free core).
  const ratio = Object.fromEntries(gateways.map((r) => [r, [] as number[]])) as Record<R, number[]>;
  const cpuRatio = Object.fromEntries(gateways.map((r) => [r, [] as number[]])) as Record<R, number[]>;
  for (let k = 0; k < cycles; k++) {
    for (let j = 0; j < roles.length; j++) {
      const role = roles[(k + j) % roles.length];
      const t = await slice(servers[role], infer, BODY, hdr(role), sliceS);
      if (t.errors > 0) rows.push(`  ${role} cycle ${k}: ${t.errors} errors`);
      slices[role].push(t);
    }
    const b = slices.bare[k];
    const f = (x: Slice) => `${x.rps.toFixed(0)} req/s ${perReq(x).toFixed(1)} µs/req`;
    const parts = [`bare ${f(b)}`, `hono ${f(slices.hono[k])}`];
    for (const r of gateways) {
      const g = slices[r][k];
      ratio[r].push(g.rps / b.rps);
      cpuRatio[r].push(perReq(b) / perReq(g));
      parts.push(`${r} ${f(g)} (x${ratio[r][k].toFixed(2)} req/s, x${cpuRatio[r][k].toFixed(2)} cpu)`);
    }
    rows.push(`cycle ${k}: ${parts.join(' | ')}`);
  }
  const rps = (r: R) => slices[r].map((x) => x.rps);
  const cpu = (r: R) => slices[r].map(perReq);
  const spread = (xs: number[]) =>
    `median ${median(xs).toFixed(2)} (p25 ${percentile(xs, 25).toFixed(2)}, p75 ${percentile(xs, 75).toFixed(2)}, min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
  rows.push(
    `${cycles} cycles of ${sliceS} s, median req/s: ${roles.map((r) => `${r} ${median(rps(r)).toFixed(0)}`).join(', ')}`,
    `  server CPU per request, median µs: ${roles.map((r) => `${r} ${median(cpu(r)).toFixed(1)}`).join(', ')}`,
    ...gateways.map((r) => `  ${r} / bare: req/s ${spread(ratio[r])}; CPU ${spread(cpuRatio[r])}`),
  );
  if (baseline)
    for (const n of ['1', '8']) {
      const mine = slices[`replay-${n}` as R];
      const theirs = slices[`base-${n}` as R];
      const r = mine.map((x, i) => perReq(theirs[i]) / perReq(x));
      rows.push(`  batch ${n}, baseline's CPU per request / this build's: ${spread(r)}`);
      figure(B, `cpu_ratio_baseline_to_this_batch${n}`, median(r), 'ratio');
    }
  figure(B, 'bare_node_http_rps', median(rps('bare')), 'req/s');
  figure(B, 'hono_echo_rps', median(rps('hono')), 'req/s');
  figure(B, 'hono_echo_ratio_to_bare', median(rps('hono').map((h, i) => h / rps('bare')[i])), 'ratio');
  figure(B, 'replay_batch1_rps', median(rps('replay-1')), 'req/s');
  figure(B, 'replay_batch8_rps', median(rps('replay-8')), 'req/s');
  const [ratio1, ratio8] = [ratio['replay-1'], ratio['replay-8']];
  figure(B, 'ratio_to_bare_node_http', median(ratio1.map((r, i) => Math.max(r, ratio8[i]))), 'ratio');
  figure(B, 'ratio_batch1_to_bare', median(ratio1), 'ratio');
  figure(B, 'ratio_batch1_to_bare_p25', percentile(ratio1, 25), 'ratio');
  figure(B, 'ratio_batch1_to_bare_p75', percentile(ratio1, 75), 'ratio');
  figure(B, 'ratio_batch8_to_bare', median(ratio8), 'ratio');
  figure(B, 'ratio_batch8_to_bare_p25', percentile(ratio8, 25), 'ratio');
  figure(B, 'ratio_batch8_to_bare_p75', percentile(ratio8, 75), 'ratio');
  figure(B, 'bare_cpu_per_request', median(cpu('bare')), 'µs');
  figure(B, 'replay_batch1_cpu_per_request', median(cpu('replay-1')), 'µs');
  figure(B, 'replay_batch8_cpu_per_request', median(cpu('replay-8')), 'µs');
  figure(B, 'cpu_ratio_batch1_to_bare', median(cpuRatio['replay-1']), 'ratio');
  figure(B, 'cpu_ratio_batch8_to_bare', median(cpuRatio['replay-8']), 'ratio');

  // gRPC beside REST, on the same gateways.
  const grpcRps: Record<'replay-1' | 'replay-8', number[]> = { 'replay-1': [], 'replay-8': [] };
  const grpcCpu: Record<'server' | 'client', number[]> = { server: [], client: [] };
  for (let round = 0; round < ROUNDS; round++)
    for (const role of ['replay-1', 'replay-8'] as const) {
      const g = await grpcThroughput(servers[role], 64);
      if (g.errors > 0) rows.push(`  ${role} gRPC round ${round}: ${g.errors} errors`);
      grpcRps[role].push(g.rps);
      grpcCpu.server.push(g.serverCpuUs);
      grpcCpu.client.push(g.clientCpuUs);
    }
  rows.push(
    `gRPC (${ROUNDS} rounds): batch 1 ${grpcRps['replay-1'].map((x) => x.toFixed(0)).join(' ')}, batch 8 ${grpcRps['replay-8'].map((x) => x.toFixed(0)).join(' ')} req/s`,
    `  CPU per call, median µs: gateway ${median(grpcCpu.server).toFixed(0)}, the grpc-js client ${median(grpcCpu.client).toFixed(0)}`,
  );
  figure(B, 'grpc_server_cpu_per_call', median(grpcCpu.server), 'µs');
  figure(B, 'grpc_client_cpu_per_call', median(grpcCpu.client), 'µs');
  figure(B, 'grpc_batch1_rps', median(grpcRps['replay-1']), 'req/s');
  figure(B, 'grpc_batch8_rps', median(grpcRps['replay-8']), 'req/s');
  for (const r of roles) if (r !== 'bare' && r !== 'replay-1') await stop(servers[r].child);

  // Overhead at moderate load (8 connections, batch 1).
  const ob = await overhead(servers.bare.url, infer, {}, 5000);
  await stop(servers.bare.child);
  const o = await overhead(servers['replay-1'].url, infer, app, 5000);
  await stop(servers['replay-1'].child);
  const p50 = percentile(o.internal, 50);
  const p99 = percentile(o.internal, 99);
  rows.push(
    `overhead inside the gateway (e2e - wait - backend): p50 ${p50.toFixed(3)} ms  p99 ${p99.toFixed(3)} ms`,
  );
  figure(B, 'overhead_internal_p50', p50, 'ms');
  figure(B, 'overhead_internal_p99', p99, 'ms');
  const d50 = percentile(o.client, 50) - percentile(ob.client, 50);
  const d99 = percentile(o.client, 99) - percentile(ob.client, 99);
  rows.push(`client latency minus the bare server's: p50 ${d50.toFixed(3)} ms  p99 ${d99.toFixed(3)} ms`);
  figure(B, 'overhead_vs_bare_p50', d50, 'ms');
  figure(B, 'overhead_vs_bare_p99', d99, 'ms');

  if (process.env['BENCH_ONNX'] === '0') {
    console.log(rows.join('\n'));
    return finish();
  }
  const mlpInfer = '/v2/models/mlp/infer';
  const onnx: Record<string, number> = {};
  for (const role of ['onnx-1', 'onnx-16'] as const) {
    const s = await start(role);
    const t = await throughput(s.url, mlpInfer, MLP_BODY, 64, app);
    await stop(s.child);
    onnx[role] = t.rps;
    rows.push(
      `onnx mlp ${role === 'onnx-1' ? 'unbatched  ' : 'batch 16   '}  ${t.rps.toFixed(0).padStart(8)} req/s  p50 ${t.p50} ms  p99 ${t.p99} ms  errors ${t.errors}`,
    );
    figure(B, `${role.replace('-', '_batch')}_rps`, t.rps, 'req/s');
  }
  figure(B, 'onnx_batched_over_unbatched', onnx['onnx-16'] / onnx['onnx-1'], 'ratio');
  rows.push(`onnx batched / unbatched = ${(onnx['onnx-16'] / onnx['onnx-1']).toFixed(2)}`);
  console.log(rows.join('\n'));
  finish();
}

if (process.argv[2] === '--serve') await serve(process.argv[3] as Role);
else await main();
