// Worker thread of the onnx backend (plain JS so it runs without a TypeScript loader): one ONNX
// Runtime session, one batch at a time. In: {type:'init', bytes, threads} | {type:'run', id, feeds}
// | {type:'crash'}. Out: {type:'ready', inputs, outputs} | {type:'result', id, outputs} |
// {type:'error', id?, message}.
//
// Ending this thread while ONNX Runtime runs a batch aborts the whole process (a native
// exception escapes the torn-down environment), so the thread only ever ends between runs: the
// parent never terminates a busy worker, and an injected crash waits for the run in progress.
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';

let session;
let running = false;
let crashArmed = false;
const port = parentPort;

const meta = (m) =>
  m.map((v) =>
    v.isTensor
      ? { name: v.name, type: v.type, shape: [...v.shape] }
      : { name: v.name, type: 'non-tensor', shape: [] },
  );

async function handle(msg) {
  if (msg.type === 'init') {
    running = true;
    try {
      session = await ort.InferenceSession.create(msg.bytes, {
        intraOpNumThreads: msg.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } finally {
      running = false;
    }
    if (crashArmed) process.exit(70);
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
    running = true;
    let res;
    try {
      res = await session.run(feeds);
    } finally {
      running = false;
    }
    // Fault injection: die with the batch unanswered, as a crashed process would.
    if (crashArmed) process.exit(70);
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
  if (msg.type === 'crash') {
    crashArmed = true;
    if (!running) process.exit(70);
    return;
  }
  handle(msg).catch((e) => {
    if (crashArmed && !running) process.exit(70);
    port.postMessage({ type: 'error', id: msg.id, message: e instanceof Error ? e.message : String(e) });
  });
});
