import type { z } from 'zod';
import { HetserveError, formatValue, type ErrorCode } from './errors.ts';
import { closest, knownKeys } from './suggest.ts';

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
  // A misspelled key also shows as a missing one: report it as the unknown key it is.
  const issue = r.error.issues.find((i) => i.code === 'unrecognized_keys') ?? r.error.issues[0];
  const more = r.error.issues.length > 1 ? ` (+${r.error.issues.length - 1} more)` : '';
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const path = [...issue.path.map(String), key];
    const field = [where, ...path].filter(Boolean).join('.');
    const hint = closest(key, knownKeys(schema, issue.path));
    throw new HetserveError(
      code,
      `${field}: unknown key${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}${more}`,
      {
        field,
        value: valueAt(input, path),
        unknownKey: key,
        ...(hint ? { didYouMean: hint } : {}),
        issues: r.error.issues.map((i) => ({
          path: [where, ...i.path.map(String)].join('.'),
          message: i.message,
        })),
      },
    );
  }
  const path = issue.path.map(String);
  const field = [where, ...path].filter(Boolean).join('.');
  const value = valueAt(input, path);
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
