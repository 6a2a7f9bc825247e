/** Run the `hetserve` CLI (bin/hetserve.js, as a user would) in a child process from the repo root. */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'hetserve.js');

export interface CliRun {
  /** Exit code (1 when the process died without one). */
  code: number;
  stdout: string;
  stderr: string;
}

// HETSERVE_DEBUG would add stack traces to error output, which some tests assert are absent.
const env = { ...process.env, HETSERVE_DEBUG: '' };

export function runCli(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function runCliSync(...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
