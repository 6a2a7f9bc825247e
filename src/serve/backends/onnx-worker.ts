/**
 * Worker thread of the onnx backend: one ONNX Runtime session, one batch at a time. Messages:
 * in {type:'init', bytes, threads} | {type:'run', id, feeds}; out {type:'ready', inputs, outputs}
 * | {type:'result', id, outputs} | {type:'error', id?, message}.
 */
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';

interface WireTensor {
  name: string;
  type: string;
  dims: number[];
  data: ArrayBufferView;
}

let session: ort.InferenceSession | undefined;
const port = parentPort!;

port.on(
  'message',
  (msg: { type: string; id?: number; bytes?: Uint8Array; threads?: number; feeds?: WireTensor[] }) => {
    void handle(msg).catch((e: unknown) =>
      port.postMessage({ type: 'error', id: msg.id, message: (e as Error).message }),
    );
  },
);

async function handle(msg: {
  type: string;
  id?: number;
  bytes?: Uint8Array;
  threads?: number;
  feeds?: WireTensor[];
}): Promise<void> {
  if (msg.type === 'init') {
    session = await ort.InferenceSession.create(msg.bytes!, {
      intraOpNumThreads: msg.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const meta = (m: readonly ort.InferenceSession.ValueMetadata[]) =>
      m.map((v) =>
        v.isTensor
          ? { name: v.name, type: v.type, shape: v.shape }
          : { name: v.name, type: 'non-tensor', shape: [] },
      );
    port.postMessage({
      type: 'ready',
      inputs: meta(session.inputMetadata),
      outputs: meta(session.outputMetadata),
    });
    return;
  }
  if (msg.type === 'run') {
    if (!session) throw new Error('session not initialised');
    const feeds: Record<string, ort.Tensor> = {};
    for (const f of msg.feeds!)
      feeds[f.name] = new ort.Tensor(f.type as 'float32', f.data as Float32Array, f.dims);
    const res = await session.run(feeds);
    const outputs: WireTensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(res)) {
      const data = t.data as unknown as ArrayBufferView;
      outputs.push({ name, type: t.type, dims: [...t.dims], data });
      transfer.push(data.buffer as ArrayBuffer);
    }
    port.postMessage({ type: 'result', id: msg.id, outputs }, transfer);
  }
}
