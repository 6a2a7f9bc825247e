/** Price tables: bundled by name (data/prices/<name>.json) or loaded from a user file. */
import { readFileSync } from 'node:fs';
import { HetserveError, badField } from '../model/errors.ts';
import { PriceTableSchema, type PriceTable } from '../model/prices.ts';
import { parseWith } from '../model/validate.ts';

/** Names of the bundled price tables; the first is the default. */
export const PRICE_TABLE_NAMES = ['prototype-cny', 'paper-usd', 'alibaba-cu-2024'] as const;
export type PriceTableName = (typeof PRICE_TABLE_NAMES)[number];
/** The default: the prototype's CNY prices, which the reference numbers use. */
export const DEFAULT_PRICE_TABLE: PriceTableName = 'prototype-cny';

const cache = new Map<string, PriceTable>();

function readJson(path: string | URL, field: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HetserveError(
      'E_FILE_NOT_FOUND',
      `${field}: cannot read ${JSON.stringify(String(path))} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { field, value: String(path) },
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HetserveError(
      'E_FILE_PARSE',
      `${field}: ${JSON.stringify(String(path))} is not valid JSON (${(e as Error).message})`,
      { field, value: String(path) },
    );
  }
}

/** A bundled price table by name. */
export function bundledPriceTable(name: string): PriceTable {
  const hit = cache.get(name);
  if (hit) return hit;
  if (!(PRICE_TABLE_NAMES as readonly string[]).includes(name)) {
    throw badField(
      'E_UNKNOWN_PRICE_TABLE',
      'prices',
      name,
      `unknown price table; bundled: ${PRICE_TABLE_NAMES.join(', ')}`,
      {
        hint: 'or pass a JSON file (see `hetserve schema prices`)',
      },
    );
  }
  const t = parseWith(
    PriceTableSchema,
    readJson(new URL(`../../data/prices/${name}.json`, import.meta.url), 'prices'),
    'E_INVALID_INPUT',
    'prices',
  );
  cache.set(name, t);
  return t;
}

/** Read and validate a price-table file. */
export function loadPriceTableFile(path: string): PriceTable {
  return parseWith(PriceTableSchema, readJson(path, 'prices'), 'E_INVALID_INPUT', 'prices');
}

/** A bundled name, a file path (anything ending in .json or containing a separator), or a table. */
export function resolvePriceTable(spec: string | PriceTable | undefined): PriceTable {
  if (spec === undefined) return bundledPriceTable(DEFAULT_PRICE_TABLE);
  if (typeof spec !== 'string') return parseWith(PriceTableSchema, spec, 'E_INVALID_INPUT', 'prices');
  if (/\.json$/i.test(spec) || spec.includes('/') || spec.includes('\\')) return loadPriceTableFile(spec);
  return bundledPriceTable(spec);
}
