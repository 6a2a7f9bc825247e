/**
 * The dashboard in a real headless browser (Debian's chromium via playwright-core): the default
 * deployment with its demo load; live data must arrive and be drawn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cleanup, launchChromium, startDemo } from './dashboard-helpers.ts';

test(
  'dashboard shows the plan and live latency, rate, batch and cost data',
  { timeout: 60_000 },
  async () => {
    const cleanup = new Cleanup();
    try {
      const demo = await startDemo(2);
      cleanup.add(demo.stop);
      const browser = await launchChromium();
      cleanup.add(() => browser.close());
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
      assert.equal(charts, 4 + 3 + 1, 'one latency chart per app + rate, batch, cost + calibration');
      // Calibration: measured vs predicted per group, with the profile version and refits.
      assert.match((await page.textContent('#model-mlp .cal-info')) ?? '', /profile v\d+; \d+ refit/);
      const cal = (await page.textContent('#model-mlp .calibration')) ?? '';
      assert.match(cal, /measured/);
      assert.match(cal, /predicted/);
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
      await cleanup.run();
    }
  },
);

test('dashboard of a cluster-mode model shows the pool and live latency', { timeout: 60_000 }, async () => {
  const pino = (await import('pino')).default;
  const { parseServeConfig } = await import('../src/model/serve-config.ts');
  const { Gateway } = await import('../src/serve/gateway.ts');
  const { runLoad } = await import('../src/serve/load.ts');
  const config = parseServeConfig({
    listen: { host: '127.0.0.1', port: 0 },
    models: [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }] }],
    applications: [{ name: 'a0', slo: 0.5, rps: 20 }],
    serving: {
      mode: 'cluster',
      qosMs: 100,
      baseType: 'fast',
      latencyMs: { fast: 2, slow: 10 },
      instances: [
        { name: 'f0', type: 'fast', backend: { type: 'replay', latency: 2 } },
        { name: 's0', type: 'slow', backend: { type: 'replay', latency: 10 } },
      ],
    },
    replan: { intervalS: 0 },
    logLevel: 'silent',
  });
  const cleanup = new Cleanup();
  try {
    const gw = new Gateway({ config, logger: pino({ level: 'silent' }) });
    cleanup.add(() => gw.close());
    const { url } = await gw.start();
    const ctrl = new AbortController();
    const load = runLoad({
      url,
      model: 'echo',
      apps: [{ name: 'a0', rps: 40, slo: 0.5 }],
      durationS: Infinity,
      signal: ctrl.signal,
    });
    cleanup.add(() => {
      ctrl.abort();
      return load.catch(() => undefined);
    });
    const browser = await launchChromium();
    cleanup.add(() => browser.close());
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/`);
    await page.waitForSelector('#model-echo .plan-table tr:nth-child(3)', { timeout: 15_000 });
    await page.waitForFunction(
      () => Number(document.querySelector('#model-echo')?.getAttribute('data-points') ?? 0) >= 3,
      undefined,
      {
        timeout: 20_000,
      },
    );
    const text = (await page.textContent('#model-echo .plan')) ?? '';
    assert.match(text, /Kairos/);
    assert.ok(text.includes('f0') && text.includes('s0'));
    // pool per type, QoS-met ratio and cost per hour (no prices for these made-up types: 0)
    assert.match(text, /fast\s*1/);
    assert.match(text, /QoS met [\d.]+ %; [\d.]+ q\/s; 0\.000 \$\/h/);
    assert.equal(
      await page.$$eval('#model-echo .uplot', (els) => els.length),
      1 + 2,
      'latency chart + rate and cost',
    );
    assert.deepEqual(errors, []);
  } finally {
    await cleanup.run();
  }
});
