/**
 * Child process of test/serve/never-die.test.ts: the bundled demo deployment (synthetic MLP on
 * onnx workers) flooded with valid [64, 256] requests, FLOOD in total and INFLIGHT at once. Prints
 * one JSON line (status counts, then the status of one request after the flood); a process abort
 * shows as exit 134 in the parent.
 */
import pino from 'pino';
import { Pool } from 'undici';
import { parseServeConfig } from '../../../src/model/serve-config.ts';
import { defaultServeConfig } from '../../../src/serve/defaults.ts';
import { Gateway } from '../../../src/serve/gateway.ts';

const TOTAL = Number(process.env['FLOOD'] ?? 600);
const INFLIGHT = Number(process.env['INFLIGHT'] ?? 300);
const cfg = defaultServeConfig();
cfg.listen = { host: '127.0.0.1', port: 0 };
cfg.replan = { intervalS: 0, windowS: 60 };
const gw = new Gateway({ config: parseServeConfig(cfg), logger: pino({ level: 'silent' }) });
const { url } = await gw.start();
const data = Array.from({ length: 64 * 256 }, (_, i) => (i % 17) / 17);
const body = (app: string, rows: number): string =>
  JSON.stringify({
    parameters: { app },
    inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 256], data: data.slice(0, rows * 256) }],
  });
const flood = body('app0', 64);
const pool = new Pool(url, { connections: INFLIGHT });
const request = async (b: string): Promise<{ status: number; retryAfterS: number }> => {
  const r = await pool.request({
    path: '/v2/models/mlp/infer',
    method: 'POST',
    body: b,
    headers: { 'content-type': 'application/json' },
  });
  await r.body.text();
  return { status: r.statusCode, retryAfterS: Number(r.headers['retry-after'] ?? 1) };
};
const send = async (b: string): Promise<number> => (await request(b)).status;
const counts: Record<string, number> = {};
let sent = 0;
await Promise.all(
  Array.from({ length: INFLIGHT }, async () => {
    while (sent < TOTAL) {
      sent++;
      const s = await send(flood);
      counts[s] = (counts[s] ?? 0) + 1;
    }
  }),
);
// Serving after the flood: batches that timed out still finish on the workers (they are never
// ended mid-run), so admission may first answer 429 with Retry-After; a client honouring it is
// served. `after` is the first status other than 429/503/504 within 20 polite retries.
let after = 0;
for (let i = 0; i < 20; i++) {
  const r = await request(body('app3', 1));
  after = r.status;
  if (after !== 429 && after !== 503 && after !== 504) break;
  await new Promise((res) => setTimeout(res, Math.min(Math.max(r.retryAfterS, 0.1), 2) * 1000));
}
console.log(JSON.stringify({ counts, after }));
await pool.close();
await gw.close();
