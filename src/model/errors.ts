/**
 * The one catalogue of coded errors. Every error hetserve raises on purpose is a `HetserveError`
 * carrying a stable code from this table; the CLI maps it to an exit code, the gateway to an HTTP
 * status and an RFC 9457 problem body. Codes never change meaning once released: add, never reuse.
 *
 * Exit codes: 2 = bad input, 3 = nothing feasible (the input is valid but no plan meets it),
 * 4 = an external resource failed (file, endpoint, backend), 1 = an internal bug.
 *
 * Each area keeps its codes in its own section below; add new codes to your section.
 */

export interface ErrorSpec {
  /** Human-readable summary; details go in the error's message. */
  readonly title: string;
  readonly exitCode: number;
  readonly httpStatus: number;
}

const BAD_INPUT = { exitCode: 2, httpStatus: 400 } as const;
const INFEASIBLE = { exitCode: 3, httpStatus: 422 } as const;
const EXTERNAL = { exitCode: 4, httpStatus: 502 } as const;

export const ERROR_CATALOGUE = {
  // ── general ─────────────────────────────────────────────────────────────
  E_INVALID_INPUT: { title: 'Invalid input', ...BAD_INPUT },
  E_INVALID_OPTION: { title: 'Invalid option value', ...BAD_INPUT },
  E_FILE_NOT_FOUND: { title: 'File not found', ...BAD_INPUT },
  E_FILE_PARSE: { title: 'File could not be parsed', ...BAD_INPUT },
  E_INTERNAL: { title: 'Internal error', exitCode: 1, httpStatus: 500 },

  // ── model: apps, profiles, prices ───────────────────────────────────────
  E_UNKNOWN_MODEL: { title: 'Unknown model', ...BAD_INPUT },
  E_UNKNOWN_PRICE_TABLE: { title: 'Unknown price table', ...BAD_INPUT },
  E_APPS_EMPTY: { title: 'No applications given', ...BAD_INPUT },
  E_APP_DUPLICATE: { title: 'Duplicate application name', ...BAD_INPUT },
  E_APP_INVALID: { title: 'Invalid application', ...BAD_INPUT },
  E_PROFILE_INVALID: { title: 'Invalid model profile', ...BAD_INPUT },

  // ── serverless planning ─────────────────────────────────────────────────
  E_SLO_UNREACHABLE: { title: 'An SLO no function can meet', ...INFEASIBLE },
  E_UNKNOWN_ALGORITHM: { title: 'Unknown planning algorithm', ...BAD_INPUT },
  E_PLAN_INVALID: { title: 'Invalid plan', ...BAD_INPUT },

  // ── cluster allocation ──────────────────────────────────────────────────
  E_BUDGET_TOO_LOW: { title: 'Budget below the cheapest feasible configuration', ...INFEASIBLE },
  E_NO_BASE_TYPE: { title: 'No base instance type', ...BAD_INPUT },
  E_QOS_UNREACHABLE: { title: 'A QoS target no instance type meets', ...INFEASIBLE },
  E_UNKNOWN_INSTANCE_TYPE: { title: 'Unknown instance type', ...BAD_INPUT },
  E_POOL_INVALID: { title: 'Invalid instance pool', ...BAD_INPUT },
  E_ALLOCATION_INVALID: { title: 'Invalid allocation', ...BAD_INPUT },

  // ── dispatch ────────────────────────────────────────────────────────────
  E_QUEUE_FULL: { title: 'Queue full', exitCode: 4, httpStatus: 429 },
  E_DEADLINE_LOST: { title: 'Deadline can no longer be met', exitCode: 4, httpStatus: 503 },
  E_UNKNOWN_APP: { title: 'Unknown application', exitCode: 2, httpStatus: 404 },
  E_DISPATCH_CONFIG: { title: 'Invalid dispatch configuration', ...BAD_INPUT },

  // ── simulation ──────────────────────────────────────────────────────────
  E_TRACE_INVALID: { title: 'Invalid trace', ...BAD_INPUT },
  E_PLAN_APPS_MISMATCH: { title: 'Plan does not match the applications', ...BAD_INPUT },

  // ── profiling ───────────────────────────────────────────────────────────
  E_NOT_ONNX: { title: 'Not an ONNX model', ...BAD_INPUT },
  E_FIXED_BATCH_DIM: { title: 'Model batch dimension is fixed', ...BAD_INPUT },
  E_TOO_FEW_POINTS: { title: 'Too few measurements to fit', ...BAD_INPUT },
  E_ENDPOINT_UNREACHABLE: { title: 'Endpoint unreachable', ...EXTERNAL },
  E_ENDPOINT_STATUS: { title: 'Endpoint answered with an error status', ...EXTERNAL },
  E_HOOK_FAILED: { title: 'Per-configuration hook command failed', ...EXTERNAL },
  E_NO_SAMPLES: { title: 'No measured latency samples for a configuration', ...BAD_INPUT },

  // ── serving gateway ─────────────────────────────────────────────────────
  E_CONFIG_INVALID: { title: 'Invalid configuration', ...BAD_INPUT },
  E_BODY_TOO_LARGE: { title: 'Request body too large', exitCode: 2, httpStatus: 413 },
  E_MALFORMED_JSON: { title: 'Malformed JSON', ...BAD_INPUT },
  E_TENSOR_INVALID: { title: 'Invalid tensor', ...BAD_INPUT },
  E_UNKNOWN_MODEL_ENDPOINT: { title: 'Unknown model', exitCode: 2, httpStatus: 404 },
  E_UNAUTHORIZED: { title: 'Unauthorized', exitCode: 2, httpStatus: 401 },
  E_BACKEND_FAILED: { title: 'Backend failed', exitCode: 4, httpStatus: 502 },
  E_BACKEND_TIMEOUT: { title: 'Backend timed out', exitCode: 4, httpStatus: 504 },
  E_SHUTTING_DOWN: { title: 'Shutting down', exitCode: 4, httpStatus: 503 },
  // Open Inference Protocol front ends (REST extensions, gRPC)
  E_APP_REQUIRED: { title: 'Application not named', ...BAD_INPUT },
  E_UNSUPPORTED: { title: 'Protocol feature not supported', ...BAD_INPUT },
  // hostile traffic (src/serve/hostile.ts) and deadline-aware admission (src/serve/admission.ts)
  E_JSON_TOO_DEEP: { title: 'JSON nested too deeply', ...BAD_INPUT },
  E_METHOD_NOT_ALLOWED: { title: 'Method not allowed', exitCode: 2, httpStatus: 405 },
  E_REQUEST_TIMEOUT: { title: 'Request not received in time', exitCode: 2, httpStatus: 408 },
  E_OVERLOADED: { title: 'Overloaded: the deadline cannot be met', exitCode: 4, httpStatus: 429 },

  // ── exporters ───────────────────────────────────────────────────────────
  E_UNKNOWN_TARGET: { title: 'Unknown export target', ...BAD_INPUT },
  E_TARGET_UNSUPPORTED: { title: 'Target cannot express this plan', ...INFEASIBLE },
  E_APPLY_UNAVAILABLE: { title: 'Applying to a cluster is not available', ...BAD_INPUT },
  E_APPLY_FAILED: { title: 'The cluster refused an exported object', ...EXTERNAL },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An expected, user-facing failure. `details` is machine-readable (field, value, hints). */
export class HetserveError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'HetserveError';
    this.code = code;
    this.details = details;
  }

  get spec(): ErrorSpec {
    return ERROR_CATALOGUE[this.code];
  }
  get exitCode(): number {
    return this.spec.exitCode;
  }
  get httpStatus(): number {
    return this.spec.httpStatus;
  }

  /** RFC 9457 problem details body. */
  toProblem(instance?: string): Record<string, unknown> {
    return {
      type: `https://hetserve.dev/errors/${this.code}`,
      title: this.spec.title,
      status: this.httpStatus,
      detail: this.message,
      code: this.code,
      ...(instance ? { instance } : {}),
      ...this.details,
    };
  }
}

export function isHetserveError(e: unknown): e is HetserveError {
  return e instanceof HetserveError;
}

/** Shorthand: throw a coded error naming the field and the offending value. */
export function badField(
  code: ErrorCode,
  field: string,
  value: unknown,
  why: string,
  extra: Record<string, unknown> = {},
): HetserveError {
  return new HetserveError(code, `${field}: ${why} (got ${formatValue(value)})`, { field, value, ...extra });
}

/**
 * A short printable form of any value for an error message. Never throws: values too deep or
 * cyclic for JSON, BigInts and non-finite numbers (which JSON would print as null) get a
 * description instead.
 */
export function formatValue(v: unknown): string {
  const clip = (s: string): string => (s.length > 120 ? s.slice(0, 117) + '...' : s);
  try {
    if (typeof v === 'string') return clip(JSON.stringify(v));
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : clip(s);
  } catch {
    if (Array.isArray(v)) return `[an array of ${v.length}, too deep or cyclic to print]`;
    return v !== null && typeof v === 'object' ? '{an object too deep or cyclic to print}' : typeof v;
  }
}
