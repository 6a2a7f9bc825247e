/**
 * Soak benchmark: the onnx scenario of bench/overload.ts at 1.5x its capacity for SOAK_SECONDS
 * (default 30; minutes for a real soak, e.g. SOAK_SECONDS=600), with an onnx worker crashing every
 * SOAK_KILL_EVERY_S seconds (default 5). Checks, and prints:
 * - the gateway never dies (its child process is still up at the end);
 * - every request is answered exactly once: per application, the client's count of answers
 *   by status equals the gateway's hetserve_requests_total by code;
 * - RSS stays bounded: the last quarter's peak against the first quarter's (target < 1.5x).
 *
 * Run: `npm run bench -- soak`.
 */
import { Pool } from 'undici';
import { runLoad } from '../src/serve/load.ts';
import { APPS, capacityOf, scenarios, spawnGateway } from './overload.ts';
import { figure, finish } from './lib.ts';

const SECONDS = Number(process.env['SOAK_SECONDS'] ?? 30);
const KILL_EVERY_S = Number(process.env['SOAK_KILL_EVERY_S'] ?? 5);

async function main(): Promise<void> {
  const [s] = await scenarios(['onnx']);
  const c = capacityOf(s);
  console.log(
    `onnx: batch ${s.batch}, ${(s.latencyS * 1000).toFixed(1)} ms per batch -> capacity ${c.toFixed(1)} req/s; offered 1.5x for ${SECONDS} s, a worker crash every ${KILL_EVERY_S} s`,
  );
  const { url, child, rss, stop } = await spawnGateway(s, 'deadline', {
    OVERLOAD_KILL_EVERY_S: String(KILL_EVERY_S),
  });
  try {
    const total = 1.5 * c;
    const planned = APPS.reduce((x, a) => x + a.share, 0);
    const report = await runLoad({
      url,
      model: s.model.name,
      // Every app 1.5x over its planned share of the capacity, so all of them press on admission.
      apps: APPS.map((a) => ({ name: a.name, slo: a.slo, rps: (total * a.share) / planned })),
      durationS: SECONDS,
      connections: 256,
      timeoutMs: 60_000,
      seed: 11,
    });
    const alive = child.exitCode === null;
    const pool = new Pool(url, { connections: 1 });
    const metrics = await (await pool.request({ path: '/metrics', method: 'GET' })).body.text();
    await pool.close();
    let mismatches = 0;
    for (const a of report.apps) {
      const client: Record<string, number> = { '200': a.ok, ...a.errors };
      const server: Record<string, number> = {};
      for (const m of metrics.matchAll(
        new RegExp(
          `hetserve_requests_total\\{model="${s.model.name}",app="${a.app}",code="(\\d+)"\\} (\\d+)`,
          'g',
        ),
      ))
        server[m[1]] = Number(m[2]);
      const codes = [...new Set([...Object.keys(client), ...Object.keys(server)])].sort();
      const same = codes.every((k) => (client[k] ?? 0) === (server[k] ?? 0));
      if (!same) mismatches++;
      console.log(
        `${a.app}: sent ${a.sent}; client ${JSON.stringify(client)}; /metrics ${JSON.stringify(server)}${same ? '' : '  MISMATCH'}; SLO attainment ${((a.sloAttainment ?? 0) * 100).toFixed(1)}%`,
      );
    }
    const q = Math.max(1, Math.floor(rss.length / 4));
    const first = Math.max(...rss.slice(0, q));
    const last = Math.max(...rss.slice(-q));
    console.log(
      `gateway alive: ${alive}; RSS first quarter peak ${(first / 2 ** 20).toFixed(0)} MiB, last quarter peak ${(last / 2 ** 20).toFixed(0)} MiB (x${(last / first).toFixed(2)})`,
    );
    figure('soak', 'gateway_alive', alive ? 1 : 0, 'bool');
    figure('soak', 'count_mismatches', mismatches, 'apps');
    figure('soak', 'rss_growth', +(last / first).toFixed(3), 'ratio');
    figure('soak', 'requests', report.sent, 'requests');
    finish();
    if (!alive || mismatches > 0) process.exitCode = 1;
  } finally {
    await stop();
  }
}

await main();
