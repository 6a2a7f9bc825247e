import type { z } from 'zod';
import { HetserveError, formatValue, type ErrorCode } from './errors.ts';

/**
 * Parse `input` with a zod schema; on failure throw a coded error naming the first bad field
 * (as a dotted path prefixed by `where`) and the value found there.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  code: ErrorCode,
  where: string,
): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.map(String);
  const field = [where, ...path].filter(Boolean).join('.');
  const value = valueAt(input, path);
  const more = r.error.issues.length > 1 ? ` (+${r.error.issues.length - 1} more)` : '';
  throw new HetserveError(code, `${field}: ${issue.message} (got ${formatValue(value)})${more}`, {
    field,
    value,
    issues: r.error.issues.map((i) => ({
      path: [where, ...i.path.map(String)].join('.'),
      message: i.message,
    })),
  });
}

function valueAt(input: unknown, path: string[]): unknown {
  let v: unknown = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}
