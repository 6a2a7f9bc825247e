/**
 * Small ONNX models built in code, so tests, benchmarks and the demo gateway need no download.
 *
 * Both models take one float32 input whose first dimension is the symbolic `batch`, and return one
 * float32 output `[batch, classes]`. Weights come from a seeded PRNG, so the same options always give
 * byte-identical models. The weights are also returned, so callers can check the outputs with an
 * independent computation.
 *
 * - `mlp`: input `[batch, inputs]` → (Gemm → Relu) × `layers` → Gemm → output `[batch, classes]`.
 * - `cnn`: input `[batch, channels, size, size]` → (Conv 3×3 pad 1 → Relu) × `layers` →
 *   GlobalAveragePool → Flatten → Gemm → output `[batch, classes]`.
 */
import { seededRandom as prng } from '../model/random.ts';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { badField } from '../model/errors.ts';

const { onnx } = onnxProto;

/** ONNX IR version written; onnxruntime ≥ 1.10 reads it. */
const IR_VERSION = 8;
/** Default-domain opset written; every operator used is unchanged since opset 13. */
const OPSET = 13;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

export type SyntheticKind = 'mlp' | 'cnn';
export const SYNTHETIC_KINDS: readonly SyntheticKind[] = ['mlp', 'cnn'];

export interface MlpOptions {
  /** Features per sample. Default 256. */
  inputs?: number;
  /** Width of each hidden layer. Default 512. */
  hidden?: number;
  /** Number of hidden (Gemm + Relu) layers. Default 2. */
  layers?: number;
  /** Output width. Default 10. */
  classes?: number;
  /** PRNG seed of the weights. Default 1. */
  seed?: number;
  /** Declare this fixed batch size instead of the symbolic `batch` dimension. Default none (symbolic). */
  fixedBatch?: number;
}

export interface CnnOptions {
  /** Input channels. Default 3. */
  channels?: number;
  /** Input height = width, pixels. Default 32. */
  size?: number;
  /** Filters per convolution layer. Default 16. */
  filters?: number;
  /** Number of Conv 3×3 + Relu layers. Default 2. */
  layers?: number;
  /** Output width. Default 10. */
  classes?: number;
  /** PRNG seed of the weights. Default 1. */
  seed?: number;
  /** Declare this fixed batch size instead of the symbolic `batch` dimension. Default none (symbolic). */
  fixedBatch?: number;
}

/** A named float32 tensor with its dimensions (row-major). */
export interface WeightTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

export interface SyntheticModel {
  kind: SyntheticKind;
  /** Serialised ONNX ModelProto. */
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  /** Input shape without the batch dimension. */
  inputShape: number[];
  /** Output shape without the batch dimension. */
  outputShape: number[];
  /** Initialisers in graph order, for independent checks. */
  weights: WeightTensor[];
  /** The resolved options (defaults filled in). */
  options: Required<Omit<MlpOptions, 'fixedBatch'>> | Required<Omit<CnnOptions, 'fixedBatch'>>;
}

/** Uniform(−s, s) with s = sqrt(3 / fanIn): keeps activations O(1) through the layers. */
function randomTensor(rand: () => number, name: string, dims: number[], fanIn: number): WeightTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const s = Math.sqrt(3 / fanIn);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * s;
  return { name, dims, data };
}

function positiveInt(field: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw badField('E_INVALID_OPTION', field, v, `must be an integer in 1..${max}`);
  }
  return v;
}

function tensorProto(w: WeightTensor): OnnxTypes.ITensorProto {
  // raw_data is little-endian by the ONNX spec; write it explicitly rather than rely on host order.
  const raw = new Uint8Array(w.data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < w.data.length; i++) view.setFloat32(i * 4, w.data[i]!, true);
  return { name: w.name, dims: w.dims, dataType: FLOAT, rawData: raw };
}

function valueInfo(name: string, shape: number[], fixedBatch?: number): OnnxTypes.IValueInfoProto {
  const batchDim = fixedBatch === undefined ? { dimParam: 'batch' } : { dimValue: fixedBatch };
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: [batchDim, ...shape.map((d) => ({ dimValue: d }))] },
      },
    },
  };
}

function intAttr(name: string, i: number): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}
function intsAttr(name: string, ints: number[]): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints };
}

function serialise(
  graphName: string,
  nodes: OnnxTypes.INodeProto[],
  weights: WeightTensor[],
  input: OnnxTypes.IValueInfoProto,
  output: OnnxTypes.IValueInfoProto,
): Uint8Array {
  const model: OnnxTypes.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'hetserve',
    producerVersion: '0.1.0',
    graph: {
      name: graphName,
      node: nodes,
      initializer: weights.map(tensorProto),
      input: [input],
      output: [output],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/** Build the MLP described in the module comment. */
export function buildMlp(opts: MlpOptions = {}): SyntheticModel {
  const o: Required<Omit<MlpOptions, 'fixedBatch'>> = {
    inputs: positiveInt('inputs', opts.inputs ?? 256, 1 << 16),
    hidden: positiveInt('hidden', opts.hidden ?? 512, 1 << 16),
    layers: positiveInt('layers', opts.layers ?? 2, 64),
    classes: positiveInt('classes', opts.classes ?? 10, 1 << 16),
    seed: opts.seed ?? 1,
  };
  const rand = prng(o.seed);
  const weights: WeightTensor[] = [];
  const nodes: OnnxTypes.INodeProto[] = [];
  let prev = 'input';
  let width = o.inputs;
  for (let l = 0; l < o.layers; l++) {
    const w = randomTensor(rand, `fc${l}.weight`, [width, o.hidden], width);
    const b = randomTensor(rand, `fc${l}.bias`, [o.hidden], width);
    weights.push(w, b);
    nodes.push({ opType: 'Gemm', input: [prev, w.name, b.name], output: [`fc${l}`], name: `fc${l}` });
    nodes.push({ opType: 'Relu', input: [`fc${l}`], output: [`relu${l}`], name: `relu${l}` });
    prev = `relu${l}`;
    width = o.hidden;
  }
  const w = randomTensor(rand, 'head.weight', [width, o.classes], width);
  const b = randomTensor(rand, 'head.bias', [o.classes], width);
  weights.push(w, b);
  nodes.push({ opType: 'Gemm', input: [prev, w.name, b.name], output: ['output'], name: 'head' });
  const bytes = serialise(
    'hetserve_mlp',
    nodes,
    weights,
    valueInfo('input', [o.inputs], opts.fixedBatch),
    valueInfo('output', [o.classes], opts.fixedBatch),
  );
  return {
    kind: 'mlp',
    bytes,
    inputName: 'input',
    outputName: 'output',
    inputShape: [o.inputs],
    outputShape: [o.classes],
    weights,
    options: o,
  };
}

/** Build the small CNN described in the module comment. */
export function buildCnn(opts: CnnOptions = {}): SyntheticModel {
  const o: Required<Omit<CnnOptions, 'fixedBatch'>> = {
    channels: positiveInt('channels', opts.channels ?? 3, 1024),
    size: positiveInt('size', opts.size ?? 32, 4096),
    filters: positiveInt('filters', opts.filters ?? 16, 4096),
    layers: positiveInt('layers', opts.layers ?? 2, 64),
    classes: positiveInt('classes', opts.classes ?? 10, 1 << 16),
    seed: opts.seed ?? 1,
  };
  const rand = prng(o.seed);
  const weights: WeightTensor[] = [];
  const nodes: OnnxTypes.INodeProto[] = [];
  let prev = 'input';
  let ch = o.channels;
  for (let l = 0; l < o.layers; l++) {
    const fanIn = ch * 9;
    const w = randomTensor(rand, `conv${l}.weight`, [o.filters, ch, 3, 3], fanIn);
    const b = randomTensor(rand, `conv${l}.bias`, [o.filters], fanIn);
    weights.push(w, b);
    nodes.push({
      opType: 'Conv',
      input: [prev, w.name, b.name],
      output: [`conv${l}`],
      name: `conv${l}`,
      attribute: [intsAttr('kernel_shape', [3, 3]), intsAttr('pads', [1, 1, 1, 1])],
    });
    nodes.push({ opType: 'Relu', input: [`conv${l}`], output: [`relu${l}`], name: `relu${l}` });
    prev = `relu${l}`;
    ch = o.filters;
  }
  nodes.push({ opType: 'GlobalAveragePool', input: [prev], output: ['gap'], name: 'gap' });
  nodes.push({
    opType: 'Flatten',
    input: ['gap'],
    output: ['flat'],
    name: 'flat',
    attribute: [intAttr('axis', 1)],
  });
  const w = randomTensor(rand, 'head.weight', [ch, o.classes], ch);
  const b = randomTensor(rand, 'head.bias', [o.classes], ch);
  weights.push(w, b);
  nodes.push({ opType: 'Gemm', input: ['flat', w.name, b.name], output: ['output'], name: 'head' });
  const inputShape = [o.channels, o.size, o.size];
  const bytes = serialise(
    'hetserve_cnn',
    nodes,
    weights,
    valueInfo('input', inputShape, opts.fixedBatch),
    valueInfo('output', [o.classes], opts.fixedBatch),
  );
  return {
    kind: 'cnn',
    bytes,
    inputName: 'input',
    outputName: 'output',
    inputShape,
    outputShape: [o.classes],
    weights,
    options: o,
  };
}

/** Build a synthetic model by kind name (as `hetserve profile synth <kind>` does). */
export function buildSynthetic(kind: string, opts: MlpOptions & CnnOptions = {}): SyntheticModel {
  if (kind === 'mlp') return buildMlp(opts);
  if (kind === 'cnn') return buildCnn(opts);
  throw badField('E_INVALID_OPTION', 'kind', kind, `must be one of ${SYNTHETIC_KINDS.join(', ')}`);
}
