/** The http backend: the conformance suite against a minimal OIP endpoint, then its faults. */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import diagnostics from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import { HttpBackend } from '../../../src/serve/backends/index.ts';
import { assembleBatch } from '../../../src/serve/tensors.ts';
import { ECHO, runBackendConformance, sample } from './backend.case.ts';
import type { ModelIO } from '../../../src/serve/tensors.ts';

/** One sample, no batch deadline. */
function inferOne(b: HttpBackend, io: ModelIO) {
  return b.infer({
    inputs: assembleBatch(io, [{ samples: sample(io, 1) }]),
    size: 1,
    signal: new AbortController().signal,
  });
}

let echoServer: Server;
let echoUrl = '';
runBackendConformance(
  'http',
  async () => {
    // A minimal OIP endpoint: answers each input tensor as an output of the same name.
    echoServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const j = JSON.parse(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ model_name: 'm', outputs: j.inputs }));
      });
    });
    await new Promise<void>((r) => echoServer.listen(0, '127.0.0.1', () => r()));
    echoUrl = `http://127.0.0.1:${(echoServer.address() as AddressInfo).port}`;
    return new HttpBackend(
      { type: 'http', url: echoUrl, timeoutMs: 2000, retries: 1, headers: {} },
      { id: 'h', model: ECHO, baseDir: '.' },
    );
  },
  0,
);
after(() => echoServer?.close());

describe('http faults', () => {
  test('an unreachable endpoint fails with E_BACKEND_FAILED after its retries', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const b = new HttpBackend(
      { type: 'http', url: `http://127.0.0.1:${port}`, timeoutMs: 500, retries: 2, headers: {} },
      { id: 'h2', model: ECHO, baseDir: '.' },
    );
    const io = await b.start();
    try {
      await assert.rejects(inferOne(b, io), (e: Error & { code?: string }) => e.code === 'E_BACKEND_FAILED');
    } finally {
      await b.close();
    }
  });

  test('a hanging endpoint times out per attempt (E_BACKEND_TIMEOUT)', async () => {
    // Attempts counted where the backend makes them (undici's request-created channel): on a
    // loaded host a timed-out attempt can be aborted before the server has read it.
    let attempts = 0;
    let seen = 0;
    const s = createServer((req) => {
      if (req.url?.endsWith('/infer')) seen++;
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as AddressInfo).port;
    const onCreate = (m: unknown): void => {
      const r = (m as { request: { origin: unknown; path: string } }).request;
      if (String(r.origin).endsWith(`:${port}`) && r.path.endsWith('/infer')) attempts++;
    };
    diagnostics.subscribe('undici:request:create', onCreate);
    const b = new HttpBackend(
      {
        type: 'http',
        url: `http://127.0.0.1:${port}`,
        timeoutMs: 100,
        retries: 1,
        headers: {},
      },
      { id: 'h3', model: ECHO, baseDir: '.' },
    );
    const io = await b.start();
    try {
      // No deadline on the batch: only the per-attempt timeout can end it, once per attempt.
      await assert.rejects(inferOne(b, io), (e: Error & { code?: string }) => e.code === 'E_BACKEND_TIMEOUT');
      assert.equal(attempts, 2, 'the first attempt and one retry');
      assert.ok(seen <= 2, `the server saw ${seen} requests`);
    } finally {
      diagnostics.unsubscribe('undici:request:create', onCreate);
      await b.close();
      s.closeAllConnections();
      s.close();
    }
  });
});
