/**
 * What the interop tests share: the gateway they start (model "echo": inputs x FP32 [4] and ids
 * INT64 [3], echoed back, default application a3, on free REST and gRPC ports) and running a
 * Python client script with Debian's python3.
 */
import { spawn } from 'node:child_process';
import type { Gateway } from '../src/serve/gateway.ts';
import { APPS, handPlan, startGateway, twoInputsConfig } from '../test/helpers/serve.ts';

export const PYTHON = '/usr/bin/python3';

export function startInteropGateway(): Promise<{ gw: Gateway; url: string; grpcPort: number | undefined }> {
  const cfg = twoInputsConfig('a3', {
    listen: { host: '127.0.0.1', port: 0, grpcPort: 0 },
    serving: { mode: 'serverless', backend: { type: 'replay', latency: 1 } },
  });
  return startGateway(cfg, {
    planFn: () => handPlan([{ apps: APPS.map((a) => a.name), batchSize: 8, timeout: 0.002 }]),
  });
}

/** Run `script args…` with python3 and `PYTHONPATH`; its exit code and output. */
export function runPython(
  script: string,
  args: readonly string[],
  pythonPath: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(PYTHON, [script, ...args], {
      env: { ...process.env, PYTHONPATH: pythonPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', rej);
    child.once('exit', (code) => res({ code, stdout, stderr }));
  });
}
