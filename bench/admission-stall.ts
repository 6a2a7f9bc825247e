/**
 * The live admission flood of test/serve/admission.test.ts ('gateway: a flood from one app ...')
 * with host stalls injected: every second the process's event loop is blocked for STALL_MS x
 * (0.5-1.5) ms (default 500), as a loaded machine deschedules it, so the gateway measures batch
 * latencies that jump while a0 floods (120 connections) and the quiet app a3 (SLO 1 s, within its
 * planned share) sends 30 requests, one every 30 ms after its answer. Reports, per run, how many
 * of a3's requests were refused (429) or late, and the flood's answers.
 *
 * Run: `npm run bench -- admission-stall` (ADMISSION_STALL_RUNS, default 3; STALL_MS).
 */
import pino from 'pino';
import { Pool } from 'undici';
import { parseServeConfig } from '../src/model/serve-config.ts';
import { Gateway } from '../src/serve/gateway.ts';
import { APPS, floodConfig, handPlan } from '../test/helpers/serve.ts';
import { figure, finish, median } from './lib.ts';

const RUNS = Number(process.env['ADMISSION_STALL_RUNS'] ?? 3);
const STALL_MS = Number(process.env['STALL_MS'] ?? 500);
async function run(): Promise<{
  quiet: Record<number, number>;
  late: number;
  flood: Record<number, number>;
}> {
  // The live test's gateway and plan, built by the same helpers.
  const config = parseServeConfig(floodConfig());
  const gw = new Gateway({
    config,
    logger: pino({ level: 'silent' }),
    planFn: () => {
      const p = handPlan([{ apps: APPS.map((a) => a.name), batchSize: 4, timeout: 0.005 }]);
      p.groups[0]!.latency = { avg: 0.02, max: 0.025 };
      return p;
    },
  });
  const { url } = await gw.start();
  const pool = new Pool(url, { connections: 150 });
  const send = async (app: string): Promise<{ status: number; s: number }> => {
    const t0 = performance.now();
    const r = await pool.request({
      path: '/v2/models/echo/infer',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hetserve-app': app },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }),
    });
    await r.body.dump();
    return { status: r.statusCode, s: (performance.now() - t0) / 1000 };
  };
  const stall = setInterval(() => {
    const end = performance.now() + STALL_MS * (0.5 + Math.random());
    while (performance.now() < end);
  }, 1000);
  try {
    let flooding = true;
    const flood: number[] = [];
    const flooders = Array.from({ length: 120 }, async () => {
      while (flooding) flood.push((await send('a0')).status);
    });
    const quiet: { status: number; s: number }[] = [];
    for (let i = 0; i < 30; i++) {
      quiet.push(await send('a3'));
      await new Promise((r) => setTimeout(r, 30));
    }
    flooding = false;
    await Promise.all(flooders);
    const count = (xs: number[]): Record<number, number> =>
      xs.reduce<Record<number, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});
    return {
      quiet: count(quiet.map((q) => q.status)),
      // The first request also waits for the flood's 120 connections to open.
      late: quiet.slice(1).filter((q) => q.status === 200 && q.s > 1).length,
      flood: count(flood),
    };
  } finally {
    clearInterval(stall);
    await pool.close();
    await gw.close();
  }
}

const refused: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const r = await run();
  refused.push(r.quiet[429] ?? 0);
  console.log(
    `run ${i + 1} (stalls ${STALL_MS} ms x 0.5-1.5 every second): quiet a3 ${JSON.stringify(r.quiet)}, of its 200s ${r.late} after its 1 s SLO; flood a0 ${JSON.stringify(r.flood)}`,
  );
}
figure('admission-stall', 'quiet_refused_median', median(refused), 'of 30');
figure('admission-stall', 'quiet_refused_max', Math.max(...refused), 'of 30');
finish();
