/**
 * Static dashboard assets: web/ files and uPlot vendored from node_modules. A fixed whitelist of
 * names: no request path ever reaches the file system.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: join(webDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/index.html': { file: join(webDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: join(webDir, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: join(webDir, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': {
    file: join(uplotDir, 'uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/vendor/uPlot.min.css': { file: join(uplotDir, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

const cache = new Map<string, Buffer>();

export function dashboardAsset(path: string): { body: Buffer; type: string } | undefined {
  const f = FILES[path];
  if (!f) return undefined;
  let body = cache.get(path);
  if (!body) {
    try {
      body = readFileSync(f.file);
    } catch {
      return undefined;
    }
    cache.set(path, body);
  }
  return { body, type: f.type };
}
