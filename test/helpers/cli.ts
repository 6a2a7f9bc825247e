/** Run the `hetserve` CLI (bin/hetserve.js, as a user would) in a child process from the repo root. */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'hetserve.js');

export interface CliRun {
  /** Exit code (1 when the process died without one). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How long a CLI child may run before it is killed. Only a guard against a hung child, not a
 * speed target: a loaded CI machine can take minutes where an idle one takes seconds. A kill says
 * so on stderr, so it is never mistaken for the command failing.
 */
export const HANG_GUARD_MS = 300_000;

export function guardNote(err: unknown): string {
  const e = err as { killed?: boolean; signal?: string } | null;
  return e?.killed ? `\n[killed by the test's hang guard after ${HANG_GUARD_MS} ms (${e.signal})]` : '';
}

// HETSERVE_DEBUG would add stack traces to error output, which some tests assert are absent.
const env = { ...process.env, HETSERVE_DEBUG: '' };

export function runCli(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env, timeout: HANG_GUARD_MS },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr: stderr + guardNote(err) });
      },
    );
  });
}

export function runCliSync(...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: HANG_GUARD_MS,
  });
  const killed = r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  return {
    code: r.status ?? 1,
    stdout: r.stdout,
    stderr: r.stderr + (killed ? `\n[killed by the test's hang guard after ${HANG_GUARD_MS} ms]` : ''),
  };
}
