/**
 * "Did you mean" for unknown keys: the keys a zod object schema accepts at a path, and the closest
 * one to a misspelling (edit distance), so a typo is reported as the unknown key it is.
 */
import type { z } from 'zod';

interface Def {
  type?: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
  options?: unknown[];
  left?: unknown;
  right?: unknown;
}

const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } })?._zod?.def;

/** Every object schema reachable at `path` (unions give several). */
function objectsAt(schema: unknown, path: readonly PropertyKey[], depth = 0): Def[] {
  const d = defOf(schema);
  if (!d || depth > 64) return [];
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return objectsAt(d.innerType, path, depth + 1);
    case 'pipe':
      return objectsAt(d.in, path, depth + 1);
    case 'union':
      return (d.options ?? []).flatMap((o) => objectsAt(o, path, depth + 1));
    case 'intersection':
      return [...objectsAt(d.left, path, depth + 1), ...objectsAt(d.right, path, depth + 1)];
    case 'array':
      return path.length && typeof path[0] === 'number' ? objectsAt(d.element, path.slice(1), depth + 1) : [];
    case 'object':
      if (path.length === 0) return [d];
      return d.shape && String(path[0]) in d.shape
        ? objectsAt(d.shape[String(path[0])], path.slice(1), depth + 1)
        : [];
    default:
      return [];
  }
}

/** Keys accepted at `path` of `schema`. */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((d) => Object.keys(d.shape ?? {})))];
}

function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length];
}

/** The candidate closest to `word` when it is close enough to be a typo of it. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
