/**
 * Regenerate docs/dashboard.png: the default deployment with its demo load, after `SECONDS`
 * (default 45) of traffic. Run: `npx tsx test-e2e/screenshot.ts [seconds]`.
 */
import { Cleanup, launchChromium, startDemo } from './dashboard-helpers.ts';

const seconds = Number(process.argv[2] ?? 45);
const cleanup = new Cleanup();
try {
  const demo = await startDemo(1);
  cleanup.add(demo.stop);
  const browser = await launchChromium();
  cleanup.add(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1150 } });
  await page.goto(`${demo.url}/`);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await page.screenshot({ path: 'docs/dashboard.png', fullPage: true });
  console.log('wrote docs/dashboard.png');
} finally {
  await cleanup.run();
}
