// Worker thread of the onnx backend (plain JS so it runs without a TypeScript loader): one ONNX
// Runtime session, one batch at a time. In: {type:'init', bytes, threads} | {type:'run', id, feeds}.
// Out: {type:'ready', inputs, outputs} | {type:'result', id, outputs} | {type:'error', id?, message}.
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';

let session;
const port = parentPort;

const meta = (m) =>
  m.map((v) =>
    v.isTensor
      ? { name: v.name, type: v.type, shape: [...v.shape] }
      : { name: v.name, type: 'non-tensor', shape: [] },
  );

async function handle(msg) {
  if (msg.type === 'init') {
    session = await ort.InferenceSession.create(msg.bytes, {
      intraOpNumThreads: msg.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    port.postMessage({
      type: 'ready',
      inputs: meta(session.inputMetadata),
      outputs: meta(session.outputMetadata),
    });
    return;
  }
  if (msg.type === 'run') {
    if (!session) throw new Error('session not initialised');
    const feeds = {};
    for (const f of msg.feeds) feeds[f.name] = new ort.Tensor(f.type, f.data, f.dims);
    const res = await session.run(feeds);
    const outputs = [];
    const transfer = [];
    for (const [name, t] of Object.entries(res)) {
      outputs.push({ name, type: t.type, dims: [...t.dims], data: t.data });
      transfer.push(t.data.buffer);
    }
    port.postMessage({ type: 'result', id: msg.id, outputs }, transfer);
  }
}

port.on('message', (msg) => {
  handle(msg).catch((e) =>
    port.postMessage({ type: 'error', id: msg.id, message: e instanceof Error ? e.message : String(e) }),
  );
});
