/**
 * Triton's request options on top of the Open Inference Protocol's infer request, read the same
 * way over REST and gRPC: binary outputs (`binary_data_output`, per output `binary_data`), the
 * request `timeout` (µs), and the classification extension (per output `classification` = top K,
 * answered as BYTES "value:index" strings, as Triton does). The response is built here too.
 */
import { badField } from '../../model/errors.ts';
import type { ModelIO, Tensor } from '../tensors.ts';
import { valuesToRaw } from './binary.ts';

export interface OutputRequest {
  name: string;
  /** Binary form for this output (undefined: the request's binary_data_output). */
  binary: boolean | undefined;
  /** Top-K classification of this output; undefined = the raw tensor. */
  classification: number | undefined;
}

export interface InferOptions {
  /** All outputs in binary unless an output says otherwise (REST only). */
  binaryOutput: boolean;
  /** Triton's `timeout` parameter as ms (undefined or 0 µs: none). */
  timeoutMs: number | undefined;
  /** Outputs asked for, in order; undefined = every output of the model. */
  outputs: OutputRequest[] | undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A parameter value as given: JSON, or gRPC's InferParameter already unwrapped by the caller. */
type Params = Record<string, unknown> | undefined;

/** Read Triton's options from a request's parameters and its outputs (their names already checked). */
export function inferOptions(
  params: Params,
  outputs: readonly { name: string; parameters?: Params }[] | undefined,
): InferOptions {
  let binaryOutput = false;
  let timeoutMs: number | undefined;
  if (params) {
    const b = params['binary_data_output'];
    if (b !== undefined) {
      if (typeof b !== 'boolean')
        throw badField('E_INVALID_INPUT', 'parameters.binary_data_output', b, 'must be a boolean');
      binaryOutput = b;
    }
    const t = params['timeout'];
    if (t !== undefined) {
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0)
        throw badField('E_INVALID_INPUT', 'parameters.timeout', t, 'must be a whole number of µs >= 0');
      if (t > 0) timeoutMs = t / 1000;
    }
  }
  const outs = outputs?.map((o, k): OutputRequest => {
    const p = o.parameters;
    let binary: boolean | undefined;
    let classification: number | undefined;
    if (p !== undefined) {
      if (!isRecord(p)) throw badField('E_INVALID_INPUT', `outputs[${k}].parameters`, p, 'must be an object');
      const b = p['binary_data'];
      if (b !== undefined) {
        if (typeof b !== 'boolean')
          throw badField('E_INVALID_INPUT', `outputs[${k}].parameters.binary_data`, b, 'must be a boolean');
        binary = b;
      }
      const c = p['classification'];
      if (c !== undefined) {
        if (typeof c !== 'number' || !Number.isInteger(c) || c < 0)
          throw badField(
            'E_INVALID_INPUT',
            `outputs[${k}].parameters.classification`,
            c,
            'must be a whole number of classes >= 0',
          );
        if (c > 0) classification = c;
      }
      if (p['shared_memory_region'] !== undefined)
        throw badField(
          'E_UNSUPPORTED',
          `outputs[${k}].parameters.shared_memory_region`,
          p['shared_memory_region'],
          'shared-memory outputs are not supported; send the tensors in the request body',
        );
    }
    return { name: o.name, binary, classification };
  });
  return { binaryOutput, timeoutMs, outputs: outs };
}

/** Triton's value formatting in classification strings (std::to_string: 6 decimals for floats). */
function formatClassValue(v: number, datatype: string): string {
  return datatype.startsWith('FP') ? v.toFixed(6) : String(v);
}

/** Top-K "value:index" per row of `t` (shape [n, ...]): a BYTES tensor of shape [n, K]. */
export function classify(t: Tensor, k: number): Tensor {
  const rows = t.shape[0] ?? 1;
  const per = rows > 0 ? t.data.length / rows : 0;
  const kk = Math.min(k, per);
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const idx = Array.from({ length: per }, (_, j) => j);
    const val = (j: number) => Number(t.data[r * per + j]);
    idx.sort((a, b) => val(b) - val(a) || a - b);
    for (let j = 0; j < kk; j++) out.push(`${formatClassValue(val(idx[j]), t.datatype)}:${idx[j]}`);
  }
  return { name: t.name, datatype: 'BYTES' as Tensor['datatype'], shape: [rows, kk], data: out as never };
}

/** The output tensors to answer with, in the order asked, classification applied. */
export function selectOutputs(
  outputs: readonly Tensor[],
  opts: InferOptions,
): { tensor: Tensor; binary: boolean }[] {
  if (!opts.outputs) return outputs.map((tensor) => ({ tensor, binary: opts.binaryOutput }));
  return opts.outputs.map((o) => {
    const t = outputs.find((x) => x.name === o.name)!;
    return {
      tensor: o.classification !== undefined ? classify(t, o.classification) : t,
      binary: o.binary ?? opts.binaryOutput,
    };
  });
}

function jsonData(t: Tensor): unknown[] {
  return Array.isArray(t.data) ? t.data : Array.from(t.data as ArrayLike<number>);
}

/**
 * The REST infer response: JSON alone, or (any output in binary) the JSON header followed by the
 * binary outputs, with the header's length to send as Inference-Header-Content-Length.
 */
export function restInferResponse(
  io: ModelIO,
  id: string | undefined,
  outputs: readonly Tensor[],
  opts: InferOptions,
  parameters: Record<string, unknown>,
): { body: Buffer | string; headerLength: number | undefined } {
  const raws: Buffer[] = [];
  let outs: unknown[];
  if (!opts.outputs && !opts.binaryOutput) {
    // Every output as JSON (the usual request): no selection to make.
    outs = new Array(outputs.length);
    for (let i = 0; i < outputs.length; i++) {
      const t = outputs[i];
      outs[i] = { name: t.name, datatype: t.datatype, shape: t.shape, data: jsonData(t) };
    }
  } else
    outs = selectOutputs(outputs, opts).map(({ tensor: t, binary }) => {
      if (!binary) return { name: t.name, datatype: t.datatype, shape: t.shape, data: jsonData(t) };
      const raw = valuesToRaw(t.data, t.datatype);
      raws.push(raw);
      return {
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
        parameters: { binary_data_size: raw.length },
      };
    });
  const doc: Record<string, unknown> = { model_name: io.name, model_version: '1' };
  if (id !== undefined) doc['id'] = id;
  doc['parameters'] = parameters;
  doc['outputs'] = outs;
  const json = JSON.stringify(doc);
  // JSON alone goes out as the string (the socket encodes it; no copy through a Buffer).
  if (raws.length === 0) return { body: json, headerLength: undefined };
  const header = Buffer.from(json);
  return { body: Buffer.concat([header, ...raws]), headerLength: header.length };
}
