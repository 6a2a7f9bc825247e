/**
 * The dashboard in a real headless browser (Debian's chromium via playwright-core): the default
 * deployment with its demo load; live data must arrive and be drawn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, startDemo } from './dashboard-helpers.ts';

test(
  'dashboard shows the plan and live latency, rate, batch and cost data',
  { timeout: 60_000 },
  async () => {
    const demo = await startDemo(2);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${demo.url}/`);
      await page.waitForSelector('#model-mlp .plan-table tr:nth-child(2)', { timeout: 15_000 });
      // Live data: the series grows and latency points appear for every app.
      await page.waitForFunction(
        () => Number(document.querySelector('#model-mlp')?.getAttribute('data-points') ?? 0) >= 4,
        undefined,
        {
          timeout: 20_000,
        },
      );
      const first = Number(await page.getAttribute('#model-mlp', 'data-last-t'));
      await page.waitForFunction(
        (t) => Number(document.querySelector('#model-mlp')?.getAttribute('data-last-t')) > t,
        first,
        { timeout: 10_000 },
      );
      assert.match((await page.textContent('#status')) ?? '', /live/);
      const planText = (await page.textContent('#model-mlp .plan-table')) ?? '';
      for (const app of ['app0', 'app1', 'app2', 'app3'])
        assert.ok(planText.includes(app), `plan table lists ${app}`);
      const charts = await page.$$eval('#model-mlp .uplot', (els) => els.length);
      assert.equal(charts, 4 + 3, 'one latency chart per app + rate, batch, cost');
      // The API the page draws from holds measured latencies for every app.
      const live = await (await fetch(`${demo.url}/api/live`)).json();
      const pts = live.models[0].series as { apps: Record<string, { p99: number | null }> }[];
      for (const app of ['app0', 'app1', 'app2', 'app3'])
        assert.ok(
          pts.some((p) => (p.apps[app]?.p99 ?? 0) > 0),
          `latency data for ${app}`,
        );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await demo.stop();
    }
  },
);
