/** The open-loop load generator against an in-process gateway. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLoad, formatLoadReport } from '../../src/serve/load.ts';
import { startGateway } from '../helpers/serve.ts';

test('Poisson load: per-app counts near rate x duration, every request answered, percentiles reported', async () => {
  const { gw, url } = await startGateway();
  try {
    // SLO attainment is checked as logic, not speed: an SLO no answer can miss (1e6 s) and one
    // none can meet (1 ns).
    const apps = [
      { name: 'a0', rps: 40, slo: 1e6 },
      { name: 'a3', rps: 120, slo: 1e-9 },
    ];
    const r = await runLoad({ url, model: 'echo', apps, durationS: 2, seed: 7 });
    for (const [i, a] of r.apps.entries()) {
      const mean = apps[i].rps * 2;
      assert.ok(
        Math.abs(a.sent - mean) < 5 * Math.sqrt(mean),
        `${a.app}: ${a.sent} sent, expected about ${mean}`,
      );
      assert.equal(a.ok, a.sent);
      assert.ok(a.p50Ms !== null && a.p99Ms !== null && a.p50Ms <= a.p99Ms);
      assert.equal(a.sloAttainment, i === 0 ? 1 : 0);
    }
    assert.match(formatLoadReport(r), /a3 +\d+/);
    // the gateway saw the same number of requests per app
    const m = await (await fetch(`${url}/metrics`)).text();
    const a0 = Number(/hetserve_requests_total\{model="echo",app="a0",code="200"\} (\d+)/.exec(m)![1]);
    assert.equal(a0, r.apps[0].sent);
  } finally {
    await gw.close();
  }
});

test('trace load: per-minute counts replayed at segment speed', async () => {
  const { gw, url } = await startGateway();
  try {
    // two "minutes" of 0.5 s each: 30 then 0 requests for a0, 0 then 30 for a1
    const r = await runLoad({
      url,
      model: 'echo',
      apps: [
        { name: 'a0', rps: 0 },
        { name: 'a1', rps: 0 },
      ],
      traces: [
        [30, 0],
        [0, 30],
      ],
      segmentS: 0.5,
      durationS: 1,
      seed: 3,
    });
    for (const a of r.apps) assert.ok(a.sent > 10 && a.sent < 55, `${a.app}: ${a.sent}`);
  } finally {
    await gw.close();
  }
});

test('an unreachable endpoint is a coded error', async () => {
  await assert.rejects(
    runLoad({ url: 'http://127.0.0.1:1', model: 'm', apps: [{ name: 'a', rps: 1 }], durationS: 0.1 }),
    (e: Error & { code?: string }) => e.code === 'E_ENDPOINT_UNREACHABLE',
  );
});
