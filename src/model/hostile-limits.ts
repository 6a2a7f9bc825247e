/**
 * The gateway's limits against careless and hostile clients (config `limits.*`), with their
 * defaults; enforced by src/serve/hostile.ts. Semantics: docs/reference/hostile-input.md.
 */
export interface HostileLimits {
  /** Deepest nesting of arrays/objects in a JSON body (default 32): beyond it 400 E_JSON_TOO_DEEP. */
  maxJsonDepth: number;
  /** The request line and headers must arrive within this, ms (default 10000): else 408 and close. */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this, ms (default 30000): else 408. */
  requestTimeoutMs: number;
  /** A body that stops arriving for this long, ms, is answered 408 and closed (default 5000). */
  bodyIdleTimeoutMs: number;
  /** An idle keep-alive connection is closed after this, ms (default 65000). */
  keepAliveTimeoutMs: number;
}

export const HOSTILE_DEFAULTS: HostileLimits = {
  maxJsonDepth: 32,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  bodyIdleTimeoutMs: 5_000,
  keepAliveTimeoutMs: 65_000,
};
