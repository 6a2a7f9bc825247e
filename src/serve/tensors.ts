/**
 * Open Inference Protocol (KServe v2) JSON tensors: decoding and validating an infer request
 * against the model's declared inputs, assembling a batch, splitting batched outputs back into
 * per-request answers. A request carries n samples (`[n, ...dims]`, or `dims` alone for one); the
 * gateway submits each sample to the batch manager on its own (`splitRows`) and stacks the answers.
 */
import { HetserveError, badField } from '../model/errors.ts';
import type { Datatype, TensorSpec } from '../model/serve-config.ts';

/** A tensor with a flat row-major buffer. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean>;
}

export interface ModelIO {
  name: string;
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** One validated request: a flat value array per model input (in the model's input order). */
export interface DecodedRequest {
  id: string | undefined;
  /** Application from parameters.app (the header wins in the gateway). */
  app: string | undefined;
  /** Per-request deadline, ms from arrival (parameters.deadline_ms). */
  deadlineMs: number | undefined;
  /**
   * When the front end first saw the request, s on the service's clock (the gateway's timers);
   * undefined: when the service got it. Deadlines count from it.
   */
  arrival?: number;
  /** Larger = more important (parameters.priority); informational for the batch manager. */
  priority: number | undefined;
  /** Flat values per model input (in the model's input order), `rows` samples each. */
  samples: number[][];
  /** Samples in this request (the leading dimension; 1 when the shape has no batch dimension). */
  rows: number;
  /** Requested output names (default all). */
  outputs: string[] | undefined;
  /**
   * Cluster mode's query size when it differs from `rows` (parameters.query_size: e.g. the items
   * one recommendation query scores); undefined = `rows`.
   */
  querySize?: number;
}

const INT_RANGE: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 255],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Largest finite float32. */
const FP32_MAX = 3.4028234663852886e38;

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Flatten KServe's nested row-major arrays (a flat array is accepted too). */
function flatten(data: unknown[], field: string, limit: number): unknown[] {
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (v: unknown[], depth: number): void => {
    if (depth > 16) throw badField('E_TENSOR_INVALID', field, '[...]', 'nested more than 16 levels');
    for (const x of v) {
      if (Array.isArray(x)) walk(x, depth + 1);
      else out.push(x);
      if (out.length > limit)
        throw badField('E_TENSOR_INVALID', field, out.length, `more than ${limit} values`);
    }
  };
  walk(data, 0);
  return out;
}

/**
 * Validate an OIP infer request body against a model; throws E_TENSOR_INVALID / E_INVALID_INPUT.
 * Each input is `[n, ...dims]` with the same 1 <= n <= maxRows for all inputs, or `dims` (n = 1).
 */
export function decodeInferRequest(body: unknown, model: ModelIO, maxRows = 1): DecodedRequest {
  if (!isRecord(body)) throw badField('E_INVALID_INPUT', 'body', body, 'must be a JSON object');
  const id = body['id'];
  if (id !== undefined && typeof id !== 'string')
    throw badField('E_INVALID_INPUT', 'id', id, 'must be a string');
  let app: string | undefined;
  let deadlineMs: number | undefined;
  let priority: number | undefined;
  let querySize: number | undefined;
  const params = body['parameters'];
  if (params !== undefined) {
    if (!isRecord(params)) throw badField('E_INVALID_INPUT', 'parameters', params, 'must be an object');
    const a = params['app'];
    if (a !== undefined) {
      if (typeof a !== 'string' || a === '')
        throw badField('E_INVALID_INPUT', 'parameters.app', a, 'must be a string');
      app = a;
    }
    const d = params['deadline_ms'];
    if (d !== undefined) {
      if (typeof d !== 'number' || !(d > 0) || !Number.isFinite(d))
        throw badField('E_INVALID_INPUT', 'parameters.deadline_ms', d, 'must be a positive number of ms');
      deadlineMs = d;
    }
    const qs = params['query_size'];
    if (qs !== undefined) {
      if (typeof qs !== 'number' || !Number.isInteger(qs) || qs < 1)
        throw badField('E_INVALID_INPUT', 'parameters.query_size', qs, 'must be an integer >= 1');
      querySize = qs;
    }
    const p = params['priority'];
    if (p !== undefined) {
      if (typeof p !== 'number' || !Number.isInteger(p))
        throw badField('E_INVALID_INPUT', 'parameters.priority', p, 'must be an integer');
      priority = p;
    }
  }
  const inputs = body['inputs'];
  if (!Array.isArray(inputs) || inputs.length === 0)
    throw badField('E_TENSOR_INVALID', 'inputs', inputs, 'must be a non-empty array of tensors');
  const samples: number[][] = new Array(model.inputs.length);
  let rows: number | undefined;
  for (let k = 0; k < inputs.length; k++) {
    const t: unknown = inputs[k];
    const f = `inputs[${k}]`;
    if (!isRecord(t)) throw badField('E_TENSOR_INVALID', f, t, 'must be a tensor object');
    const name = t['name'];
    const idx = model.inputs.findIndex((s) => s.name === name);
    if (idx < 0)
      throw badField(
        'E_TENSOR_INVALID',
        `${f}.name`,
        name,
        `unknown input; expected one of ${model.inputs.map((s) => s.name).join(', ')}`,
      );
    if (samples[idx] !== undefined) throw badField('E_TENSOR_INVALID', `${f}.name`, name, 'given twice');
    const spec = model.inputs[idx];
    if (t['datatype'] !== spec.datatype)
      throw badField('E_TENSOR_INVALID', `${f}.datatype`, t['datatype'], `expected ${spec.datatype}`);
    const shape = t['shape'];
    const dims = spec.shape;
    let n = 0;
    if (Array.isArray(shape)) {
      if (shape.length === dims.length + 1 && dims.every((d, i) => shape[i + 1] === d))
        n = shape[0] as number;
      else if (shape.length === dims.length && dims.every((d, i) => shape[i] === d)) n = 1;
    }
    if (!Number.isInteger(n) || n < 1 || n > maxRows)
      throw badField(
        'E_TENSOR_INVALID',
        `${f}.shape`,
        shape,
        `expected [n, ${dims.join(', ')}] with 1 <= n <= ${maxRows} (limits.maxSamplesPerRequest)`,
      );
    if (rows !== undefined && n !== rows)
      throw badField(
        'E_TENSOR_INVALID',
        `${f}.shape`,
        shape,
        `batch dimension ${n} differs from the other inputs' ${rows}`,
      );
    rows = n;
    const per = size(dims);
    const raw = t['data'];
    if (!Array.isArray(raw)) throw badField('E_TENSOR_INVALID', `${f}.data`, raw, 'must be an array');
    const flat = flatten(raw, `${f}.data`, n * per);
    if (flat.length !== n * per)
      throw badField('E_TENSOR_INVALID', `${f}.data`, flat.length, `expected ${n * per} values`);
    samples[idx] = checkValues(flat, spec.datatype, `${f}.data`);
  }
  for (let i = 0; i < model.inputs.length; i++) {
    if (samples[i] === undefined)
      throw badField('E_TENSOR_INVALID', 'inputs', model.inputs[i].name, 'missing input', {
        missing: model.inputs[i].name,
      });
  }
  let outputs: string[] | undefined;
  const outs = body['outputs'];
  if (outs !== undefined) {
    if (!Array.isArray(outs)) throw badField('E_TENSOR_INVALID', 'outputs', outs, 'must be an array');
    outputs = outs.map((o, k) => {
      const name = isRecord(o) ? o['name'] : undefined;
      if (typeof name !== 'string' || !model.outputs.some((s) => s.name === name))
        throw badField(
          'E_TENSOR_INVALID',
          `outputs[${k}].name`,
          name,
          `unknown output; expected one of ${model.outputs.map((s) => s.name).join(', ')}`,
        );
      return name;
    });
  }
  return {
    id,
    app,
    deadlineMs,
    priority,
    samples,
    rows: rows ?? 1,
    outputs,
    ...(querySize !== undefined ? { querySize } : {}),
  };
}

function checkValues(flat: unknown[], dt: Datatype, field: string): number[] {
  const out = new Array<number>(flat.length);
  if (dt === 'BOOL') {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      if (typeof v !== 'boolean')
        throw badField('E_TENSOR_INVALID', `${field}[${i}]`, v, 'expected a boolean');
      out[i] = v ? 1 : 0;
    }
    return out;
  }
  const range = INT_RANGE[dt];
  // FP32 holds magnitudes up to 3.4028235e38: a larger value would silently become Infinity.
  const maxAbs = dt === 'FP32' ? FP32_MAX : Infinity;
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw badField(
        'E_TENSOR_INVALID',
        `${field}[${i}]`,
        v,
        typeof v === 'number'
          ? `outside the range of a JSON number (it overflows to ${v}); expected a finite ${dt} number`
          : `expected a finite ${dt} number`,
      );
    if (Math.abs(v) > maxAbs)
      throw badField('E_TENSOR_INVALID', `${field}[${i}]`, v, `outside the range of FP32 (±${FP32_MAX})`);
    if (range && (!Number.isInteger(v) || v < range[0] || v > range[1]))
      throw badField(
        'E_TENSOR_INVALID',
        `${field}[${i}]`,
        v,
        `expected an integer in [${range[0]}, ${range[1]}]`,
      );
    out[i] = v;
  }
  return out;
}

type AnyTyped =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Int32Array | BigInt64Array;

function allocate(dt: Datatype, n: number): AnyTyped {
  switch (dt) {
    case 'FP32':
      return new Float32Array(n);
    case 'FP64':
      return new Float64Array(n);
    case 'INT8':
      return new Int8Array(n);
    case 'UINT8':
    case 'BOOL':
      return new Uint8Array(n);
    case 'INT16':
      return new Int16Array(n);
    case 'INT32':
      return new Int32Array(n);
    case 'INT64':
      return new BigInt64Array(n);
  }
}

/** One request per sample (the batch manager batches samples). */
export function splitRows(req: DecodedRequest, model: ModelIO): DecodedRequest[] {
  if (req.rows === 1) return [req];
  const per = model.inputs.map((s) => size(s.shape));
  return Array.from({ length: req.rows }, (_, r) => ({
    ...req,
    rows: 1,
    samples: req.samples.map((v, i) => v.slice(r * per[i], (r + 1) * per[i])),
  }));
}

/** Stack per-sample answers (shape [1, ...]) back into one tensor per output (shape [n, ...]). */
export function concatRows(parts: readonly Tensor[][]): Tensor[] {
  if (parts.length === 1) return parts[0];
  return parts[0].map((t, k) => {
    const data: (number | boolean)[] = [];
    for (const p of parts) for (const v of Array.from(p[k].data as ArrayLike<number>)) data.push(v);
    return {
      name: t.name,
      datatype: t.datatype,
      shape: [parts.length, ...t.shape.slice(1)],
      data: data as ArrayLike<number>,
    };
  });
}

/** Stack one sample per request into batched tensors `[B, ...dims]` (typed buffers). */
export function assembleBatch(model: ModelIO, requests: readonly { samples: number[][] }[]): Tensor[] {
  const b = requests.length;
  return model.inputs.map((spec, i) => {
    const n = size(spec.shape);
    const buf = allocate(spec.datatype, b * n);
    for (let r = 0; r < b; r++) {
      const s = requests[r].samples[i];
      if (buf instanceof BigInt64Array) for (let j = 0; j < n; j++) buf[r * n + j] = BigInt(s[j]);
      else buf.set(s, r * n);
    }
    return { name: spec.name, datatype: spec.datatype, shape: [b, ...spec.shape], data: buf };
  });
}

/** Per-request output tensors (shape [1, ...dims]) from batched outputs; checks batch shapes. */
export function splitBatch(model: ModelIO, outputs: readonly Tensor[], batch: number): Tensor[][] {
  const per: Tensor[][] = new Array<Tensor[]>(batch);
  for (let r = 0; r < batch; r++) per[r] = [];
  for (const spec of model.outputs) {
    let t: Tensor | undefined;
    for (const o of outputs)
      if (o.name === spec.name) {
        t = o;
        break;
      }
    if (!t)
      throw new HetserveError(
        'E_BACKEND_FAILED',
        `backend answered without output ${JSON.stringify(spec.name)}`,
      );
    const n = size(spec.shape);
    if (t.shape[0] !== batch || t.data.length !== batch * n)
      throw new HetserveError(
        'E_BACKEND_FAILED',
        `backend output ${spec.name}: shape ${JSON.stringify(t.shape)} does not fit batch ${batch} x ${JSON.stringify(spec.shape)}`,
      );
    const bool = spec.datatype === 'BOOL';
    for (let r = 0; r < batch; r++) {
      // Filled by push: a packed array, which JSON.stringify writes on its fast path.
      const vals: (number | boolean)[] = [];
      for (let j = 0; j < n; j++) {
        const v = t.data[r * n + j];
        vals.push(bool ? Boolean(v) : Number(v));
      }
      per[r].push({
        name: spec.name,
        datatype: spec.datatype,
        shape: [1, ...spec.shape],
        data: vals as ArrayLike<number>,
      });
    }
  }
  return per;
}

/** OIP infer response body. */
export function encodeInferResponse(
  model: ModelIO,
  id: string | undefined,
  outputs: readonly Tensor[],
  wanted: readonly string[] | undefined,
  parameters?: Record<string, unknown>,
): string {
  const outs = wanted ? outputs.filter((o) => wanted.includes(o.name)) : outputs;
  return JSON.stringify({
    model_name: model.name,
    model_version: '1',
    ...(id !== undefined ? { id } : {}),
    ...(parameters ? { parameters } : {}),
    outputs: outs.map((o) => ({
      name: o.name,
      datatype: o.datatype,
      shape: o.shape,
      data: Array.isArray(o.data) ? o.data : Array.from(o.data as ArrayLike<number>),
    })),
  });
}

/** Outputs to return when a backend has none declared: the inputs echoed (replay default). */
export function echoSpecs(inputs: readonly TensorSpec[]): TensorSpec[] {
  return inputs.map((s) => ({ ...s }));
}
