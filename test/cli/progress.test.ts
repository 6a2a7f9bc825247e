/**
 * The CLI progress bar (src/cli/progress.ts): drawn on a terminal only, and with `untilFirstUpdate`
 * only once work has started, so a command that fails first leaves no bar (nor a hidden cursor).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressBar } from '../../src/cli/progress.ts';

async function capture(isTTY: boolean, fn: () => Promise<void>): Promise<string> {
  const err = process.stderr as NodeJS.WriteStream & { isTTY: boolean };
  const tty = err.isTTY;
  const write = err.write;
  let out = '';
  err.isTTY = isTTY;
  err.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof err.write;
  try {
    await fn();
  } finally {
    err.isTTY = tty;
    err.write = write;
  }
  return out;
}

test('progress bar: nothing off a terminal; on one, from the first update when asked', async () => {
  const piped = await capture(false, async () => {
    const bar = await progressBar(5, 'verifying');
    bar.update(3, 5);
    bar.stop();
  });
  assert.equal(piped, '');

  const failedFirst = await capture(true, async () => {
    const bar = await progressBar(5, 'verifying', false, true);
    bar.stop();
  });
  assert.equal(failedFirst, '', 'no update: no bar, no cursor escape codes');

  const ran = await capture(true, async () => {
    const bar = await progressBar(5, 'verifying', false, true);
    bar.update(2, 4);
    bar.stop();
  });
  assert.match(ran, /verifying .*2\/4/);
  assert.ok(ran.includes('\u001b[?25h'), 'the cursor is shown again at the end');

  const profiling = await capture(true, async () => {
    const bar = await progressBar(0, 'profiling', false, true, { unit: 'runs', etaBuffer: 200 });
    bar.update(30, 800, 'vCPU 0.5, batch 2');
    bar.stop();
  });
  assert.match(profiling, /profiling .*30\/800 runs vCPU 0\.5, batch 2/, 'the unit and the step label');
  assert.doesNotMatch(profiling, / 0\/0 /, 'no frame drawn with the initial total before the first update');

  const past = await capture(true, async () => {
    const bar = await progressBar(2, 'simulate');
    bar.tick(1, 'kairos');
    bar.tick(2, 'kairos');
    bar.stop();
  });
  assert.match(past, /simulate .*3\/3 kairos/, 'ticks past an estimated total grow it');

  const quiet = await capture(true, async () => {
    const bar = await progressBar(5, 'verifying', true);
    bar.tick();
    bar.stop();
  });
  assert.equal(quiet, '');
});
