/** Reading the apps of `hetserve plan`: a JSON array, a CSV (name,slo,rps) or `name:slo:rps` strings. */
import { readFileSync } from 'node:fs';
import type { App } from '../../model/app.ts';
import { HetserveError, badField } from '../../model/errors.ts';

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new HetserveError(
      'E_FILE_NOT_FOUND',
      `--apps: cannot read ${JSON.stringify(path)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { field: '--apps', value: path },
    );
  }
}

/** A number from text, or E_APP_INVALID naming the field and the raw value. */
function num(field: string, raw: string): number {
  const v = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(v)) throw badField('E_APP_INVALID', field, raw, 'not a number');
  return v;
}

/** Parse CSV text with a header containing name, slo and rps (any order; extra columns ignored). */
export function parseAppsCsv(text: string, source = 'apps'): unknown[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) return [];
  const header = lines[0].split(',').map((h) => h.trim().toLowerCase());
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw badField('E_APP_INVALID', `${source}: header`, lines[0], `needs columns name,slo,rps`);
    return i;
  };
  const [iName, iSlo, iRps] = [col('name'), col('slo'), col('rps')];
  return lines.slice(1).map((line, k) => {
    const cells = line.split(',');
    const where = `apps[${k}]`;
    return {
      name: (cells[iName] ?? '').trim(),
      slo: num(`${where}.slo`, cells[iSlo] ?? ''),
      rps: num(`${where}.rps`, cells[iRps] ?? ''),
    };
  });
}

/** Parse `name:slo:rps` (the name may itself contain ':'). */
export function parseAppSpec(spec: string, index: number): unknown {
  const parts = spec.split(':');
  if (parts.length < 3) throw badField('E_APP_INVALID', `--app[${index}]`, spec, 'expected name:slo:rps');
  const rps = parts.pop()!;
  const slo = parts.pop()!;
  return {
    name: parts.join(':'),
    slo: num(`--app[${index}].slo`, slo),
    rps: num(`--app[${index}].rps`, rps),
  };
}

/**
 * Apps from a file (.csv → CSV, anything else → JSON array) plus inline `name:slo:rps` specs.
 * Values are checked later by the planner (E_APP_INVALID / E_APPS_EMPTY / E_APP_DUPLICATE).
 */
export function readAppsInput(input: { file?: string; inline?: readonly string[] }): unknown[] {
  const out: unknown[] = [];
  if (input.file) {
    const text = readText(input.file);
    if (/\.csv$/i.test(input.file)) out.push(...parseAppsCsv(text));
    else {
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        throw new HetserveError(
          'E_FILE_PARSE',
          `--apps: ${JSON.stringify(input.file)} is not valid JSON (${(e as Error).message})`,
          { field: '--apps', value: input.file },
        );
      }
      if (!Array.isArray(doc))
        throw badField('E_APP_INVALID', 'apps', doc, 'must be a JSON array of {name, slo, rps}');
      out.push(...doc);
    }
  }
  (input.inline ?? []).forEach((s, i) => out.push(parseAppSpec(s, i)));
  if (out.length === 0) {
    throw new HetserveError(
      'E_APPS_EMPTY',
      'apps: no applications given (use --apps FILE or --app name:slo:rps)',
      {
        field: 'apps',
        value: [],
      },
    );
  }
  return out;
}

export type { App };
