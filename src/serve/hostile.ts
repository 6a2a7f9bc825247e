/**
 * Limits against careless and hostile clients, kept apart from the protocol code: the JSON
 * nesting bound (checked on the raw bytes, before parsing builds anything), the methods each
 * route allows (405 with `Allow`), and the connection timeouts that close slow or stalled
 * requests (slowloris). Defaults and semantics: docs/reference/hostile-input.md.
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { HetserveError } from '../model/errors.ts';

export { HOSTILE_DEFAULTS, type HostileLimits } from '../model/hostile-limits.ts';
import type { HostileLimits } from '../model/hostile-limits.ts';

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Throws E_JSON_TOO_DEEP when `buf` nests arrays/objects deeper than `max`. One pass over the
 * bytes (strings skipped), so a body of 100,000 brackets costs nothing and never reaches the
 * parser or, later, any recursive code (formatters, validators).
 */
export function checkJsonDepth(buf: Uint8Array, max: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max)
        throw new HetserveError(
          'E_JSON_TOO_DEEP',
          `body: JSON nested more than ${max} levels (limits.maxJsonDepth), at byte ${i}`,
          { field: 'body', value: `depth > ${max}`, limit: max },
        );
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
}

const GET = ['GET', 'HEAD'];
const POST = ['POST'];

/**
 * Methods a path answers, for the 405's `Allow` header; undefined when no route has the path
 * (404). `isAsset` says whether a path is a dashboard asset.
 */
export function allowedMethods(path: string, isAsset: (p: string) => boolean): string[] | undefined {
  if (/^\/v2\/models\/[^/]+(?:\/versions\/[^/]+)?\/infer$/.test(path)) return POST;
  if (path.startsWith('/admin/')) return POST;
  if (
    path === '/v2' ||
    path === '/v2/health/live' ||
    path === '/v2/health/ready' ||
    path === '/metrics' ||
    path === '/api/live' ||
    /^\/v2\/models\/[^/]+(?:\/versions\/[^/]+)?(?:\/ready)?$/.test(path) ||
    isAsset(path)
  )
    return GET;
  return undefined;
}

/** The 405 for `method` on a path that answers `allow`. */
export function methodNotAllowed(method: string, path: string, allow: readonly string[]): HetserveError {
  return new HetserveError(
    'E_METHOD_NOT_ALLOWED',
    `method: ${method} is not allowed on ${path}; allowed: ${allow.join(', ')}`,
    { field: 'method', value: method, allow: [...allow] },
  );
}

/**
 * node:http server options for the limits. Node checks the header and request deadlines on a
 * timer (30 s by default), which would let a slow client hold a connection up to twice as long
 * as configured: the check runs at a tenth of the shorter deadline (at least every second).
 */
export function serverOptions(l: HostileLimits): ServerOptions {
  return {
    keepAliveTimeout: l.keepAliveTimeoutMs,
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(
      10,
      Math.min(1000, Math.floor(Math.min(l.headersTimeoutMs, l.requestTimeoutMs) / 10)),
    ),
  };
}

/** Apply the limits to a created server (the options alone do not set every one in Node 20). */
export function applyServerLimits(server: Server, l: HostileLimits): void {
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  server.headersTimeout = l.headersTimeoutMs;
  server.requestTimeout = l.requestTimeoutMs;
}

/**
 * While the body of `req` is read: a stall longer than `ms` answers 408 and closes the
 * connection. Returns the function that stops the watch (call it once the body is in).
 */
export function watchBodyIdle(req: IncomingMessage, res: ServerResponse, ms: number): () => void {
  if (req.complete || ms <= 0) return NO_WATCH;
  const socket = req.socket;
  const onTimeout = (): void => {
    if (!res.headersSent) {
      const text = JSON.stringify(
        new HetserveError(
          'E_REQUEST_TIMEOUT',
          `body: no bytes for ${ms} ms (limits.bodyIdleTimeoutMs); connection closed`,
          { field: 'body', value: null, limit: ms },
        ).toProblem(req.url),
      );
      res.writeHead(408, {
        'content-type': 'application/problem+json',
        'content-length': Buffer.byteLength(text),
        connection: 'close',
      });
      res.end(text);
    }
    // The client may never read the answer: the socket goes regardless.
    setTimeout(() => socket.destroy(), 100).unref();
  };
  // Armed after the chunk that carried the headers has been handled (the next turn of the event
  // loop), and only when the body is still arriving: a body that came with its headers, the usual
  // small request, has been read by then and costs no timer.
  let armed = false;
  const arm = setImmediate(() => {
    if (req.complete) return;
    armed = true;
    // On the request, not the socket: node:http then leaves the socket to this handler instead of
    // destroying it before the 408 is written.
    req.setTimeout(ms, onTimeout);
  });
  return () => {
    clearImmediate(arm);
    if (armed) {
      armed = false;
      req.setTimeout(0);
      req.off('timeout', onTimeout);
    }
  };
}

const NO_WATCH = (): void => undefined;
