/** Shared by the browser test and the screenshot script: the default gateway plus demo load, and chromium. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import pino from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { parseServeConfig } from '../src/model/serve-config.ts';
import { defaultServeConfig } from '../src/serve/defaults.ts';
import { Gateway } from '../src/serve/gateway.ts';
import { runLoad } from '../src/serve/load.ts';

/**
 * Chromium as `.ci/run` finds it: $CHROMIUM_PATH when set, else `chromium` on the PATH (what
 * `command -v chromium` answers). Throws a clear error when there is none.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['CHROMIUM_PATH'];
  if (override) return override;
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'chromium');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error('no chromium on the PATH; install it (apt-get install -y chromium) or set CHROMIUM_PATH');
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-dev-shm-usage',
      '--no-first-run',
    ],
  });
}

/** The bundled default deployment on 127.0.0.1:0 with its demo load running. */
export async function startDemo(scale = 1): Promise<{ gw: Gateway; url: string; stop: () => Promise<void> }> {
  const config = parseServeConfig({ ...defaultServeConfig(), listen: { host: '127.0.0.1', port: 0 } });
  const gw = new Gateway({ config, logger: pino({ level: 'silent' }) });
  const { url } = await gw.start();
  const ctrl = new AbortController();
  const load = runLoad({
    url,
    model: 'mlp',
    apps: config.applications,
    scale,
    durationS: Infinity,
    signal: ctrl.signal,
  });
  return {
    gw,
    url,
    stop: async () => {
      ctrl.abort();
      await load.catch(() => undefined);
      await gw.close();
    },
  };
}

/**
 * Cleanups run in reverse order, each once, whatever fails: everything a browser test starts is
 * registered here right after it started, so a failing step cannot leave a server or load running.
 */
export class Cleanup {
  readonly #steps: (() => unknown)[] = [];

  add(step: () => unknown): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // the next cleanup must still run
      }
    }
  }
}
