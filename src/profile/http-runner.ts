/**
 * HTTP runner: measures a remote inference endpoint (a serverless function, a KServe/Triton server,
 * the hetserve gateway) over batch sizes and, through a user hook, over resource configurations.
 *
 * Each request carries one batch. The body is an Open Inference Protocol (KServe v2) JSON request
 * by default, or the user's template with placeholders filled in. Latency is client-observed: from
 * sending the request to reading the whole reply, so it includes the network.
 */
import { exec } from 'node:child_process';
import { HetserveError, badField } from '../model/errors.ts';
import type { Configuration, Measurement, ProgressFn, SweepResult } from './measure.ts';

export interface HttpProfileOptions {
  /** Endpoint URL (http or https), e.g. http://127.0.0.1:8080/v2/models/m/infer. Required. */
  url: string;
  /** Batch sizes, positive integers. Required. */
  batches: readonly number[];
  /**
   * vCPU values to sweep. The runner cannot change the endpoint itself: for each value the `hook`
   * is run (with HETSERVE_VCPU set) to resize it. Default none (one resource configuration).
   */
  vcpus?: readonly number[];
  /** Measured requests per configuration. Default 20. */
  runs?: number;
  /** Warm-up requests per configuration, discarded (they absorb cold starts). Default 2. */
  warmup?: number;
  /** Requests in flight at once; each request's own latency is recorded. Default 1. */
  concurrency?: number;
  /**
   * Request body template (text). `{{batch}}` becomes the batch size, `{{data}}` a flat JSON array
   * of batch × ∏inputShape numbers, `{{rows}}` a JSON array of `batch` rows of ∏inputShape numbers.
   * Default: an OIP v2 body `{"inputs":[{"name","shape":[batch,…inputShape],"datatype","data"}]}`.
   */
  template?: string;
  /**
   * Every input of an OIP body, each with the shape of one sample (no batch dimension); e.g. from
   * `oipInputs` (the endpoint's own metadata). When given, `inputName`, `inputShape` and `datatype`
   * are not used. Default: the one input those three describe.
   */
  inputs?: readonly OipInput[];
  /** OIP input name. Default "input". */
  inputName?: string;
  /** Per-sample input shape (without the batch dimension). Default [4]. */
  inputShape?: readonly number[];
  /** OIP datatype. Default "FP32". */
  datatype?: string;
  /** Content-Type of the request. Default "application/json". */
  contentType?: string;
  /** Extra request headers (e.g. authorization). Default none. */
  headers?: Readonly<Record<string, string>>;
  /**
   * Shell command run before each configuration, with HETSERVE_BATCH, HETSERVE_VCPU (if swept) and
   * HETSERVE_URL in its environment; a non-zero exit aborts with E_HOOK_FAILED. Default none.
   */
  hook?: string;
  /** Per-request timeout, ms. Default 30000. */
  timeoutMs?: number;
  /** Called after every request. Default none. */
  onProgress?: ProgressFn;
}

/** One input of an OIP request: its name, datatype and the shape of one sample. */
export interface OipInput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

/** Datatypes the runner can make values for (BYTES needs a template). */
const NUMERIC = /^(FP16|BF16|FP32|FP64|INT8|INT16|INT32|INT64|UINT8|UINT16|UINT32|UINT64|BOOL)$/;

function checkOptions(o: HttpProfileOptions): URL {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw badField('E_INVALID_OPTION', 'url', o.url, 'is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badField('E_INVALID_OPTION', 'url', o.url, 'must be an http:// or https:// URL');
  }
  if (o.batches.length === 0)
    throw badField('E_INVALID_OPTION', 'batch', o.batches, 'give at least one batch size');
  for (const b of o.batches) {
    if (!(Number.isInteger(b) && b >= 1))
      throw badField('E_INVALID_OPTION', 'batch', b, 'must be a positive integer');
  }
  for (const c of o.vcpus ?? []) {
    if (!(Number.isFinite(c) && c > 0)) throw badField('E_INVALID_OPTION', 'vcpu', c, 'must be > 0');
  }
  const ints: Array<[string, number | undefined, number]> = [
    ['runs', o.runs, 1],
    ['warmup', o.warmup, 0],
    ['concurrency', o.concurrency, 1],
    ['timeoutMs', o.timeoutMs, 1],
  ];
  for (const [field, v, min] of ints) {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) {
      throw badField('E_INVALID_OPTION', field, v, `must be an integer >= ${min}`);
    }
  }
  for (const d of o.inputShape ?? []) {
    if (!(Number.isInteger(d) && d >= 1))
      throw badField('E_INVALID_OPTION', 'inputShape', o.inputShape, 'must be positive integers');
  }
  if (o.inputs !== undefined && o.inputs.length === 0)
    throw badField('E_INVALID_OPTION', 'inputs', o.inputs, 'give at least one input');
  for (const i of o.inputs ?? []) {
    if (!i.shape.every((d) => Number.isInteger(d) && d >= 1))
      throw badField('E_INVALID_OPTION', `inputs.${i.name}.shape`, i.shape, 'must be positive integers');
    if (!NUMERIC.test(i.datatype))
      throw badField(
        'E_INVALID_OPTION',
        `inputs.${i.name}.datatype`,
        i.datatype,
        'has no generated values (BYTES and others): pass --template with the body the endpoint expects',
      );
  }
  return url;
}

/**
 * The inputs an Open Inference Protocol endpoint declares: GET of its model metadata
 * (`…/v2/models/<name>[/versions/<v>]`, the infer URL without `/infer`), each input's shape per
 * sample (its leading −1, the batch dimension, dropped). undefined when `url` is not an OIP infer
 * URL or the metadata cannot be read (not there, not JSON, no inputs): the caller keeps its
 * defaults. A dynamic dimension other than the batch one cannot be guessed: E_INVALID_OPTION.
 */
export async function oipInputs(
  url: string,
  headers: Readonly<Record<string, string>> = {},
  timeoutMs = 10_000,
): Promise<{ inputs: OipInput[]; metadataUrl: string } | undefined> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (!/\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/infer\/?$/.test(u.pathname)) return undefined;
  const meta = new URL(u.href);
  meta.pathname = u.pathname.replace(/\/infer\/?$/, '');
  let body: { inputs?: { name?: unknown; datatype?: unknown; shape?: unknown }[] };
  try {
    const res = await fetch(meta, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    body = (await res.json()) as typeof body;
  } catch {
    return undefined;
  }
  if (!Array.isArray(body?.inputs) || body.inputs.length === 0) return undefined;
  const inputs: OipInput[] = [];
  for (const i of body.inputs) {
    if (typeof i?.name !== 'string' || typeof i.datatype !== 'string' || !Array.isArray(i.shape))
      return undefined;
    const dims = (i.shape as unknown[]).map(Number);
    const shape = dims[0] === -1 ? dims.slice(1) : dims;
    if (!shape.every((d) => Number.isInteger(d) && d >= 1))
      throw badField(
        'E_INVALID_OPTION',
        `inputs.${i.name}.shape`,
        dims,
        `(from ${meta.href}) has a dynamic dimension besides the batch one: pass --input-shape or --template`,
      );
    inputs.push({ name: i.name, datatype: i.datatype, shape });
  }
  return { inputs, metadataUrl: meta.href };
}

/** Deterministic pseudo-random values in [−1, 1), rounded so the JSON stays short. */
function values(n: number, salt: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(Math.sin((i + 1) * 12.9898 + salt * 78.233) * 1000) / 1000;
  return out;
}

/** The request body for one batch (exported for tests and for `--dry-run` style inspection). */
export function requestBody(o: HttpProfileOptions, batch: number): string {
  const shape = [...(o.inputShape ?? [4])];
  const per = shape.reduce((a, b) => a * b, 1);
  const data = values(batch * per, batch);
  if (o.template !== undefined) {
    const rows = Array.from({ length: batch }, (_, i) => data.slice(i * per, (i + 1) * per));
    return o.template
      .replaceAll('{{batch}}', String(batch))
      .replaceAll('{{data}}', JSON.stringify(data))
      .replaceAll('{{rows}}', JSON.stringify(rows));
  }
  if (o.inputs !== undefined) {
    return JSON.stringify({
      inputs: o.inputs.map((input, k) => {
        const n = batch * input.shape.reduce((a, b) => a * b, 1);
        return {
          name: input.name,
          shape: [batch, ...input.shape],
          datatype: input.datatype,
          data: valuesOf(input.datatype, values(n, batch + 31 * k)),
        };
      }),
    });
  }
  return JSON.stringify({
    inputs: [
      { name: o.inputName ?? 'input', shape: [batch, ...shape], datatype: o.datatype ?? 'FP32', data },
    ],
  });
}

/** Values in [−1, 1) as the datatype holds them: floats as they are, small integers, booleans. */
function valuesOf(datatype: string, v: number[]): (number | boolean)[] {
  if (datatype === 'BOOL') return v.map((x) => x > 0);
  if (datatype.startsWith('UINT')) return v.map((x) => Math.abs(Math.round(x * 100)));
  if (datatype.startsWith('INT')) return v.map((x) => Math.round(x * 100));
  return v;
}

function runHook(cmd: string, env: Record<string, string>, config: Configuration): Promise<void> {
  return new Promise((resolve, reject) => {
    exec(cmd, { env: { ...process.env, ...env }, timeout: 10 * 60_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      reject(
        new HetserveError(
          'E_HOOK_FAILED',
          `hook: ${JSON.stringify(cmd)} failed before ${JSON.stringify(config)} (exit ${err.code ?? err.signal ?? '?'}): ${stderr.trim().slice(0, 300)}`,
          {
            field: 'hook',
            value: cmd,
            hint: 'run the hook by hand with the same HETSERVE_* variables to see why',
          },
        ),
      );
    });
  });
}

function describeNetworkError(e: unknown): string {
  const err = e as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  return err.cause?.code ?? err.code ?? err.cause?.message ?? err.message ?? String(e);
}

/** The model name of an OIP URL (/v2/models/<name>/…), else the host. */
export function endpointName(url: URL): string {
  const parts = url.pathname.split('/').filter(Boolean);
  const i = parts.indexOf('models');
  return i >= 0 && parts[i + 1] ? decodeURIComponent(parts[i + 1]!) : url.host;
}

/** Profile an HTTP endpoint: for each vCPU (via the hook) × batch size, `runs` timed requests. */
export async function profileHttp(opts: HttpProfileOptions): Promise<SweepResult> {
  const url = checkOptions(opts);
  const { Agent, request } = await import('undici');
  const runs = opts.runs ?? 20;
  const warmup = opts.warmup ?? 2;
  const concurrency = opts.concurrency ?? 1;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const batches = [...new Set(opts.batches)].sort((a, b) => a - b);
  const vcpus: Array<number | undefined> =
    opts.vcpus && opts.vcpus.length > 0 ? [...opts.vcpus] : [undefined];
  const total = vcpus.length * batches.length * (runs + warmup);
  const agent = new Agent({ connections: concurrency, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const headers = { 'content-type': opts.contentType ?? 'application/json', ...(opts.headers ?? {}) };
  let done = 0;
  const started = performance.now();
  const measurements: Measurement[] = [];

  const once = async (body: string): Promise<number> => {
    const t0 = performance.now();
    let res;
    try {
      res = await request(url, { method: 'POST', body, headers, dispatcher: agent });
    } catch (e) {
      throw new HetserveError(
        'E_ENDPOINT_UNREACHABLE',
        `url: cannot reach ${url.href} (${describeNetworkError(e)})`,
        {
          field: 'url',
          value: url.href,
          hint: 'check the URL, that the server is up, and any proxy or firewall in between',
        },
      );
    }
    const text = await res.body.text();
    const elapsed = (performance.now() - t0) / 1000;
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new HetserveError(
        'E_ENDPOINT_STATUS',
        `url: ${url.href} answered ${res.statusCode}: ${text.slice(0, 200)}`,
        {
          field: 'url',
          value: url.href,
          status: res.statusCode,
          hint:
            res.statusCode === 404
              ? 'check the path (OIP: /v2/models/<name>/infer)'
              : 'check the request body: --input-name, --input-shape and --datatype, or --template with the body the endpoint expects',
        },
      );
    }
    return elapsed;
  };

  try {
    for (const vcpu of vcpus) {
      for (const batch of batches) {
        const config: Configuration = vcpu === undefined ? { batch } : { vcpu, batch };
        if (opts.hook) {
          await runHook(
            opts.hook,
            {
              HETSERVE_BATCH: String(batch),
              HETSERVE_URL: url.href,
              ...(vcpu === undefined ? {} : { HETSERVE_VCPU: String(vcpu) }),
            },
            config,
          );
        }
        const body = requestBody(opts, batch);
        for (let i = 0; i < warmup; i++) {
          await once(body);
          opts.onProgress?.(++done, total, config);
        }
        const samples: number[] = [];
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < runs) {
            next++;
            samples.push(await once(body));
            opts.onProgress?.(++done, total, config);
          }
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, runs) }, worker));
        measurements.push({ ...config, samples });
      }
    }
  } finally {
    await agent.close();
  }
  return {
    name: endpointName(url),
    source: `hetserve profile http ${url.href} (${runs} requests + ${warmup} warm-up per configuration, concurrency ${concurrency}, client-observed latency)`,
    measurements,
    sweepSeconds: (performance.now() - started) / 1000,
    notes: [
      ...(opts.vcpus && opts.vcpus.length > 1 && !opts.hook
        ? ['several vCPU values but no hook: every value measured the same, unchanged endpoint']
        : []),
      ...(opts.inputs && opts.template === undefined
        ? [
            `inputs: ${opts.inputs.map((i) => `${i.name} ${i.datatype} [batch, ${i.shape.join(', ')}]`).join('; ')}`,
          ]
        : []),
    ],
  };
}
