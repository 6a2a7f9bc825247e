import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { AnswerWriter } from '../../src/serve/http-util.ts';

/** A response that records what is done to it; `onEnd` runs inside `end` (re-entrancy). */
function fakeResponse(name: string, log: string[], opts: { throwOnHead?: boolean; onEnd?: () => void } = {}) {
  const res = {
    status: 0,
    headers: undefined as unknown,
    body: undefined as unknown,
    destroyed: false,
    writeHead(status: number, headers: unknown) {
      if (opts.throwOnHead) throw new TypeError(`invalid header for ${name}`);
      res.status = status;
      res.headers = headers;
      log.push(`${name}:head`);
    },
    end(body: unknown) {
      res.body = body;
      log.push(`${name}:end`);
      opts.onEnd?.();
    },
    destroy() {
      res.destroyed = true;
      log.push(`${name}:destroy`);
    },
  };
  return res;
}

const asRes = (r: ReturnType<typeof fakeResponse>) => r as unknown as ServerResponse;
const checkPhase = () => new Promise<void>((r) => setImmediate(r));

describe('AnswerWriter', () => {
  it('writes the answers of one turn together in its check phase, in order', async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    const w = new AnswerWriter((e) => errors.push(e));
    const a = fakeResponse('a', log);
    const b = fakeResponse('b', log);
    w.write(asRes(a), { 'content-type': 'application/json' }, '{"a":1}');
    w.write(asRes(b), { 'content-length': 3 }, Buffer.from('xyz'));
    assert.equal(w.pending, 2);
    // Not synchronously, not after the microtasks of this turn.
    await Promise.resolve();
    assert.deepEqual(log, []);
    await checkPhase();
    assert.deepEqual(log, ['a:head', 'a:end', 'b:head', 'b:end']);
    assert.equal(a.status, 200);
    assert.deepEqual(a.headers, { 'content-type': 'application/json' });
    assert.equal(a.body, '{"a":1}');
    assert.deepEqual(b.body, Buffer.from('xyz'));
    assert.equal(w.pending, 0);
    assert.deepEqual(errors, []);
  });

  it('a write that throws is reported and its connection closed; the others are still written', async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    const w = new AnswerWriter((e) => errors.push(e));
    w.write(asRes(fakeResponse('a', log)), {}, 'a');
    w.write(asRes(fakeResponse('bad', log, { throwOnHead: true })), {}, 'bad');
    w.write(asRes(fakeResponse('c', log)), {}, 'c');
    await checkPhase();
    assert.deepEqual(log, ['a:head', 'a:end', 'bad:destroy', 'c:head', 'c:end']);
    assert.equal(errors.length, 1);
    assert.match((errors[0] as Error).message, /invalid header for bad/);
  });

  it('an answer queued while others are written goes out in the same pass, and later turns still flush', async () => {
    const log: string[] = [];
    const w = new AnswerWriter(() => assert.fail('no error expected'));
    const late = fakeResponse('late', log);
    w.write(asRes(fakeResponse('a', log, { onEnd: () => w.write(asRes(late), {}, 'late') })), {}, 'a');
    await checkPhase();
    assert.deepEqual(log, ['a:head', 'a:end', 'late:head', 'late:end']);
    assert.equal(w.pending, 0);
    w.write(asRes(fakeResponse('next', log)), {}, 'next');
    await checkPhase();
    assert.deepEqual(log.slice(4), ['next:head', 'next:end']);
  });

  it('flush writes the queued answers at once (the gateway calls it before closing its connections)', async () => {
    const log: string[] = [];
    const w = new AnswerWriter(() => assert.fail('no error expected'));
    w.write(asRes(fakeResponse('a', log)), {}, 'a');
    w.flush();
    assert.deepEqual(log, ['a:head', 'a:end']);
    assert.equal(w.pending, 0);
    // The check phase that was armed finds nothing left to write.
    await checkPhase();
    assert.deepEqual(log, ['a:head', 'a:end']);
  });
});
