/** Shared by the browser test and the screenshot script: the default gateway plus demo load, and chromium. */
import pino from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { parseServeConfig } from '../src/model/serve-config.ts';
import { defaultServeConfig } from '../src/serve/defaults.ts';
import { Gateway } from '../src/serve/gateway.ts';
import { runLoad } from '../src/serve/load.ts';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
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
