/**
 * Child process of test/serve/never-die.test.ts: batches of [64, 256] on two onnx workers, most
 * aborted at a random point while ONNX Runtime runs them, and a worker crash injected every 50
 * batches. Prints one JSON line with the counts; a process abort shows as exit 134 in the parent.
 */
import { OnnxBackend } from '../../../src/serve/backends/onnx.ts';

const ITER = Number(process.env['ITER'] ?? 150);
const b = new OnnxBackend(
  { type: 'onnx', workers: 2, threadsPerWorker: 1 },
  {
    id: 'storm',
    baseDir: '.',
    model: { name: 'mlp', source: { synthetic: 'mlp', seed: 1, options: { inputs: 256, hidden: 512 } } },
  },
);
const io = await b.start();
const n = 64;
const batch = (signal: AbortSignal): Promise<unknown> =>
  b.infer({
    inputs: [
      {
        name: io.inputs[0].name,
        datatype: 'FP32',
        shape: [n, 256],
        data: new Float32Array(n * 256).fill(0.5),
      },
    ],
    size: n,
    signal,
  });
// One batch's run time here, so aborts land inside runs rather than before or after them.
const t0 = performance.now();
for (let i = 0; i < 5; i++) await batch(new AbortController().signal);
const runMs = (performance.now() - t0) / 5;
const counts = { ok: 0, timeout: 0, failed: 0, other: 0 };
// The workers are unref'd (a gateway's server keeps its process alive; this script has none), so
// hold the event loop open while a replaced worker loads: a batch that never settles then shows
// as the parent's time-out, not as Node's exit 13 for an unsettled top-level await.
const keepAlive = setInterval(() => undefined, 1000);
await Promise.all(
  [0, 1].map(async (lane) => {
    for (let i = 0; i < ITER; i++) {
      const ctrl = new AbortController();
      const p = batch(ctrl.signal);
      setTimeout(() => ctrl.abort(new Error('deadline')), runMs * Math.random() * 1.5);
      try {
        await p;
        counts.ok++;
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'E_BACKEND_TIMEOUT') counts.timeout++;
        else if (code === 'E_BACKEND_FAILED') counts.failed++;
        else counts.other++;
      }
      if (i % 50 === 25) await b.killWorker(lane);
    }
  }),
);
// After the storm the backend still answers.
await batch(new AbortController().signal);
clearInterval(keepAlive);
console.log(JSON.stringify({ runMs, ...counts, restarts: b.restarts }));
await b.close();
