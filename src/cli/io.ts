/** Shared CLI plumbing: coded-error reporting, file reading, option parsing, output. */
import { readFileSync, writeSync } from 'node:fs';
import { CommanderError } from 'commander';
import { HetserveError, isHetserveError, type ErrorCode } from '../model/errors.ts';

/** Print an error the way users should see it (code + message, never a stack) and exit. */
export function reportAndExit(e: unknown): never {
  if (e instanceof CommanderError) {
    // help/version are "errors" in exitOverride mode with code 0; usage errors exit 2.
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  if (isHetserveError(e)) {
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    const hint = e.details['hint'];
    if (typeof hint === 'string') process.stderr.write(`hint: ${hint}\n`);
    process.exit(e.exitCode);
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`error [E_INTERNAL]: ${msg}\n`);
  if (process.env['HETSERVE_DEBUG'] && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}

export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new HetserveError(
      'E_FILE_NOT_FOUND',
      `${what}: cannot read ${JSON.stringify(path)} (${code ?? 'error'})`,
      { field: what, value: path },
    );
  }
}

export function readJsonFile(path: string, what: string): unknown {
  const text = readTextFile(path, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HetserveError(
      'E_FILE_PARSE',
      `${what}: ${JSON.stringify(path)} is not valid JSON (${(e as Error).message})`,
      {
        field: what,
        value: path,
      },
    );
  }
}

/** Parse a number option, naming the option on failure. */
export function parseNumber(
  option: string,
  raw: string,
  /** `min`: the least value allowed; `above`: a bound the value must exceed (e.g. 0 for a rate). */
  opts: { min?: number; above?: number; integer?: boolean } = {},
): number {
  const v = Number(raw);
  const bad =
    raw.trim() === '' ||
    !Number.isFinite(v) ||
    (opts.integer && !Number.isInteger(v)) ||
    (opts.min !== undefined && v < opts.min) ||
    (opts.above !== undefined && !(v > opts.above));
  if (bad) {
    const bound =
      opts.above !== undefined ? ` > ${opts.above}` : opts.min !== undefined ? ` >= ${opts.min}` : '';
    const want = `${opts.integer ? 'an integer' : 'a number'}${bound}`;
    throw new HetserveError('E_INVALID_OPTION', `${option}: expected ${want} (got ${JSON.stringify(raw)})`, {
      field: option,
      value: raw,
    });
  }
  return v;
}

/** Parse a comma-separated number list such as "0.5,1,2". */
export function parseNumberList(
  option: string,
  raw: string,
  opts: { min?: number; above?: number; integer?: boolean } = {},
): number[] {
  return raw.split(',').map((s) => parseNumber(option, s, opts));
}

export function fail(code: ErrorCode, message: string, details: Record<string, unknown> = {}): never {
  throw new HetserveError(code, message, details);
}

export function printJson(value: unknown): void {
  writeOutput(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Write a command's result to stdout in synchronous writes of its file descriptor: getting
 * `process.stdout` builds a stream (for a pipe, a net.Socket and the stream modules), ~5 ms of a
 * cold `hetserve allocate` or `plan` that writes once. When a write fails (a non-blocking pipe
 * that is full, a closed one), the rest goes through `process.stdout` as before. For output
 * written after anything else a command wrote to stdout, stay with `process.stdout`: a stream
 * may still hold earlier text where its writes are asynchronous (pipes on macOS).
 */
export function writeOutput(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(1, bytes, done, bytes.length - done);
  } catch {
    process.stdout.write(bytes.subarray(done));
  }
}
