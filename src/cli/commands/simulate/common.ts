/** CLI plumbing shared by `hetserve simulate` and `hetserve reproduce`: apps files, option lists. */
import { AppListSchema, type App } from '../../../model/app.ts';
import { HetserveError } from '../../../model/errors.ts';
import { parseWith } from '../../../model/validate.ts';
import { readAppsInput } from '../../../plan/serverless/apps-input.ts';

/**
 * Read apps from JSON (`[{"name","slo","rps"}]`) or CSV (header `name,slo,rps`; SLO in s, rate in
 * req/s). Errors name the file, the field and the value.
 */
export function readAppsFile(path: string): App[] {
  // Reading and CSV/JSON parsing are the plan command's (one reader for every command); the
  // simulator needs the apps validated up front, before any planner runs.
  const apps = parseWith(AppListSchema, readAppsInput({ file: path }), 'E_APP_INVALID', 'apps');
  if (apps.length === 0)
    throw new HetserveError('E_APPS_EMPTY', `apps: ${JSON.stringify(path)} lists no application`, {
      field: 'apps',
      value: [],
    });
  const seen = new Set<string>();
  for (const a of apps) {
    if (seen.has(a.name))
      throw new HetserveError(
        'E_APP_DUPLICATE',
        `apps: application name ${JSON.stringify(a.name)} appears twice`,
        { field: 'apps.name', value: a.name },
      );
    seen.add(a.name);
  }
  return apps;
}

/** Parse a comma list, rejecting empty items. */
export function parseList(option: string, raw: string): string[] {
  const items = raw.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw new HetserveError('E_INVALID_OPTION', `${option}: empty item in ${JSON.stringify(raw)}`, {
      field: option,
      value: raw,
    });
  return items;
}

/** `p:seconds`, e.g. `0.05:1.5` = 5 % of batches start cold and take 1.5 s longer. */
export function parseColdStart(raw: string): { probability: number; durationS: number } {
  const m = /^([0-9.eE+-]+):([0-9.eE+-]+)$/.exec(raw.trim());
  const p = m ? Number(m[1]) : NaN;
  const d = m ? Number(m[2]) : NaN;
  if (!(p >= 0 && p <= 1) || !(d >= 0) || !Number.isFinite(d))
    throw new HetserveError(
      'E_INVALID_OPTION',
      `cold-start: expected <probability 0..1>:<seconds >= 0> (got ${JSON.stringify(raw)})`,
      {
        field: 'cold-start',
        value: raw,
      },
    );
  return { probability: p, durationS: d };
}

/** `factor:normalS:burstS`, e.g. `4:120:20` = 4× the rates for ~20 s out of every ~140 s. */
export function parseBurst(raw: string): { factor: number; normalS: number; burstS: number } {
  const parts = raw.split(':').map((x) => Number(x.trim()));
  const [factor, normalS, burstS] = parts;
  if (
    parts.length !== 3 ||
    !(factor > 0) ||
    !(normalS > 0) ||
    !(burstS > 0) ||
    parts.some((x) => !Number.isFinite(x))
  )
    throw new HetserveError(
      'E_INVALID_OPTION',
      `burst: expected <factor > 0>:<normal seconds > 0>:<burst seconds > 0> (got ${JSON.stringify(raw)})`,
      {
        field: 'burst',
        value: raw,
      },
    );
  return { factor, normalS, burstS };
}
