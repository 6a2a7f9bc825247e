/** Writing an export to disk: files only, never outside the output directory. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { HetserveError } from '../model/errors.ts';
import type { ExportResult } from './types.ts';

/** Write every file of `result` under `outDir` (created as needed); returns the paths written. */
export function writeExport(result: ExportResult, outDir: string): string[] {
  const written: string[] = [];
  for (const f of result.files) {
    const rel = normalize(f.path);
    if (isAbsolute(rel) || rel.startsWith('..')) {
      throw new HetserveError('E_INTERNAL', `export file path escapes the output directory: ${f.path}`, {
        field: 'path',
        value: f.path,
      });
    }
    const p = join(outDir, rel);
    try {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.content);
    } catch (e) {
      throw new HetserveError(
        'E_INVALID_OPTION',
        `--out: cannot write ${JSON.stringify(p)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        {
          field: 'out',
          value: outDir,
        },
      );
    }
    written.push(p);
  }
  return written;
}
