/** Worker thread of the simulation oracle: prepares the latency table once, then serves tasks. */
import { parentPort, workerData } from 'node:worker_threads';
import { evaluateTask, prepare } from './oracle-task.ts';
import type { OracleTask, OracleWorkerInit } from './oracle.ts';

const port = parentPort!;
try {
  const ctx = prepare(workerData as OracleWorkerInit);
  port.on('message', (t: OracleTask) => {
    try {
      port.postMessage({ index: t.index, result: evaluateTask(ctx, t) });
    } catch (e) {
      const err = e as Error & { code?: string; details?: Record<string, unknown> };
      port.postMessage({ error: { message: err.message, code: err.code, details: err.details } });
    }
  });
  port.postMessage({ ready: true });
} catch (e) {
  const err = e as Error & { code?: string };
  port.postMessage({ error: { message: err.message, code: err.code } });
}
