/**
 * The Open Inference Protocol's binary tensor extension (Triton's `binary_tensor_data`) and the
 * raw tensor layout gRPC shares with it: little-endian row-major values, BYTES elements as a
 * 4-byte length then the bytes. Also compressed request bodies and responses (gzip / deflate).
 */
import { gunzipSync, gzipSync, inflateSync, deflateSync } from 'node:zlib';
import { HetserveError, badField } from '../../model/errors.ts';
import { parseJsonBody } from '../http-util.ts';

/** Bytes per element of the fixed-size datatypes (BYTES is variable-sized). */
export const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  BF16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** A copy aligned for a typed-array view (a slice of a body may start at any byte). */
function aligned(buf: Uint8Array): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/**
 * Values of a raw tensor as the JSON form would carry them (numbers, booleans, BYTES as UTF-8
 * strings), so that one validator checks both forms. `field` names the tensor in errors.
 */
export function rawToValues(raw: Uint8Array, datatype: string, field: string): unknown[] {
  if (datatype === 'BYTES') return decodeBytesElements(raw, field);
  const width = ELEMENT_BYTES[datatype];
  if (width === undefined || datatype === 'FP16' || datatype === 'BF16')
    throw badField('E_UNSUPPORTED', `${field}.datatype`, datatype, 'has no raw decoding here');
  if (raw.byteLength % width !== 0)
    throw badField(
      'E_TENSOR_INVALID',
      field,
      raw.byteLength,
      `${raw.byteLength} bytes is not a whole number of ${datatype} elements (${width} bytes each)`,
    );
  const ab = aligned(raw);
  switch (datatype) {
    case 'BOOL':
      return Array.from(new Uint8Array(ab), (v) => v !== 0);
    case 'UINT8':
      return Array.from(new Uint8Array(ab));
    case 'INT8':
      return Array.from(new Int8Array(ab));
    case 'UINT16':
      return Array.from(new Uint16Array(ab));
    case 'INT16':
      return Array.from(new Int16Array(ab));
    case 'UINT32':
      return Array.from(new Uint32Array(ab));
    case 'INT32':
      return Array.from(new Int32Array(ab));
    case 'FP32':
      return Array.from(new Float32Array(ab));
    case 'FP64':
      return Array.from(new Float64Array(ab));
    case 'INT64':
      return Array.from(new BigInt64Array(ab), Number);
    default:
      return Array.from(new BigUint64Array(ab), Number);
  }
}

/** BYTES elements: each a 4-byte little-endian length, then that many bytes (UTF-8 text here). */
export function decodeBytesElements(raw: Uint8Array, field: string): string[] {
  const out: string[] = [];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let at = 0;
  while (at < raw.byteLength) {
    if (at + 4 > raw.byteLength)
      throw badField('E_TENSOR_INVALID', field, raw.byteLength, 'BYTES element length cut short');
    const n = view.getUint32(at, true);
    at += 4;
    if (at + n > raw.byteLength)
      throw badField('E_TENSOR_INVALID', field, n, 'BYTES element longer than the data left');
    out.push(Buffer.from(raw.buffer, raw.byteOffset + at, n).toString('utf8'));
    at += n;
  }
  return out;
}

export function encodeBytesElements(values: ArrayLike<unknown>): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const b = Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(b.length, 0);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

/** Raw little-endian bytes of a tensor's values. */
export function valuesToRaw(values: ArrayLike<unknown>, datatype: string): Buffer {
  if (datatype === 'BYTES') return encodeBytesElements(values);
  const n = values.length;
  const num = (i: number) => Number(values[i]);
  let t: ArrayBufferView;
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
      t = Uint8Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'INT8':
      t = Int8Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'UINT16':
      t = Uint16Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'INT16':
      t = Int16Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'UINT32':
      t = Uint32Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'INT32':
      t = Int32Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'FP32':
      t = values instanceof Float32Array ? values : Float32Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'FP64':
      t = Float64Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'INT64':
      t = BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.trunc(num(i))));
      break;
    case 'UINT64':
      t = BigUint64Array.from({ length: n }, (_, i) => BigInt(Math.trunc(num(i))));
      break;
    default:
      throw badField('E_UNSUPPORTED', 'datatype', datatype, 'has no raw encoding here');
  }
  return Buffer.from(t.buffer, t.byteOffset, t.byteLength);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Split a body of the binary extension: `headerLength` bytes of JSON, then the inputs that carry
 * `parameters.binary_data_size`, in order. Fills each such input's `data` with its values, so the
 * result reads like an all-JSON request. Without a header length the body is JSON only.
 */
export function parseInferBody(body: Buffer, headerLength: string | undefined): unknown {
  if (headerLength === undefined) return parseJsonBody(body);
  const n = Number(headerLength);
  if (!Number.isInteger(n) || n < 0 || n > body.length)
    throw badField(
      'E_INVALID_INPUT',
      'Inference-Header-Content-Length',
      headerLength,
      `must be an integer between 0 and the body's ${body.length} bytes`,
    );
  const json = parseJsonBody(body.subarray(0, n));
  let at = n;
  const inputs = isRecord(json) ? json['inputs'] : undefined;
  if (Array.isArray(inputs)) {
    inputs.forEach((t: unknown, k) => {
      if (!isRecord(t) || !isRecord(t['parameters'])) return;
      const size = t['parameters']['binary_data_size'];
      if (size === undefined) return;
      const f = `inputs[${k}].parameters.binary_data_size`;
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0)
        throw badField('E_TENSOR_INVALID', f, size, 'must be a non-negative integer');
      if (t['data'] !== undefined)
        throw badField('E_TENSOR_INVALID', `inputs[${k}].data`, '[...]', 'given with binary_data_size');
      if (at + size > body.length)
        throw badField('E_TENSOR_INVALID', f, size, `only ${body.length - at} bytes of binary data are left`);
      t['data'] = rawToValues(body.subarray(at, at + size), String(t['datatype']), `inputs[${k}]`);
      at += size;
    });
  }
  if (at !== body.length)
    throw badField(
      'E_TENSOR_INVALID',
      'body',
      body.length - at,
      "bytes of binary data that no input's binary_data_size claims",
    );
  return json;
}

/** Inflate a gzip / deflate request body, never beyond `limit` bytes. */
export function decodeContent(body: Buffer, encoding: string | undefined, limit: number): Buffer {
  if (encoding === undefined || encoding === '' || encoding === 'identity') return body;
  const enc = encoding.trim().toLowerCase();
  if (enc !== 'gzip' && enc !== 'deflate')
    throw badField('E_UNSUPPORTED', 'content-encoding', encoding, 'supported: gzip, deflate, identity');
  try {
    return enc === 'gzip'
      ? gunzipSync(body, { maxOutputLength: limit })
      : inflateSync(body, { maxOutputLength: limit });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new HetserveError('E_BODY_TOO_LARGE', `body: inflates beyond limits.maxBodyBytes = ${limit}`, {
        field: 'body',
        value: encoding,
        limit,
      });
    throw badField('E_INVALID_INPUT', 'body', encoding, `not valid ${enc} (${(e as Error).message})`);
  }
}

/**
 * Answers shorter than this go out uncompressed whatever Accept-Encoding says (identity is always
 * acceptable): compressing a few hundred bytes costs more CPU than it saves on the wire, and most
 * HTTP clients offer gzip by default.
 */
export const COMPRESS_MIN_BYTES = 1024;

/** The encoding to answer with, from Accept-Encoding (gzip first, as Triton); undefined = none. */
export function responseEncoding(accept: string | undefined, bytes: number): 'gzip' | 'deflate' | undefined {
  if (!accept || bytes < COMPRESS_MIN_BYTES) return undefined;
  const offered = accept
    .toLowerCase()
    .split(',')
    .map((s) => s.trim())
    .filter((s) => !/;\s*q=0(\.0*)?$/.test(s))
    .map((s) => s.split(';')[0].trim());
  if (offered.includes('gzip')) return 'gzip';
  if (offered.includes('deflate')) return 'deflate';
  return undefined;
}

export function encodeContent(body: Buffer, enc: 'gzip' | 'deflate'): Buffer {
  return enc === 'gzip' ? gzipSync(body) : deflateSync(body);
}
