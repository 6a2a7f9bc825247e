/**
 * The Open Inference Protocol over gRPC: KServe v2's `inference.GRPCInferenceService` (the .proto
 * next to this file) on @grpc/grpc-js. ModelInfer goes through the same `runInfer` as REST
 * (admission, batching, statistics, metrics); the call's deadline is the request's deadline; the
 * application comes from the `app` request parameter or the `x-hetserve-app` metadata. Inputs are
 * read from typed `contents` or `raw_input_contents`; outputs are answered in
 * `raw_output_contents`, as Triton does. Errors are gRPC status codes carrying the message.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HetserveError, badField } from '../../model/errors.ts';
import { rawToValues, valuesToRaw } from '../oip/binary.ts';
import { runInfer, type InferContext } from '../oip/core.ts';
import { selectOutputs } from '../oip/infer.ts';

/**
 * The .proto: next to this module in src/, or (when running from dist/, which holds only
 * compiled code) in the package's src/ tree.
 */
export function protoPath(): string {
  const here = fileURLToPath(new URL('./grpc_predict_v2.proto', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../../src/serve/grpc/grpc_predict_v2.proto', import.meta.url));
}

/** proto-loader options shared by the server and the test client. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export function loadService(): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(protoPath(), LOADER_OPTIONS));
}

/** What the gRPC front end needs of the gateway besides inference. */
export interface GrpcHost {
  inferContext: InferContext;
  ready(): boolean;
  serverMetadata(): { name: string; version: string; extensions: string[] };
  /** Model metadata (shapes with -1 for the batch dimension); throws a 404 HetserveError. */
  modelMetadata(
    name: string,
    version: string | undefined,
  ): {
    name: string;
    versions: string[];
    platform: string;
    inputs: { name: string; datatype: string; shape: number[] }[];
    outputs: { name: string; datatype: string; shape: number[] }[];
  };
}

type Param = { parameter_choice?: string } & Record<string, unknown>;

/** InferParameter map -> plain values. */
function unwrap(params: Record<string, Param> | undefined): Record<string, unknown> | undefined {
  if (!params || Object.keys(params).length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(params)) if (p.parameter_choice) out[k] = p[p.parameter_choice];
  return out;
}

function wrap(v: unknown): Param {
  if (typeof v === 'boolean') return { bool_param: v };
  if (typeof v === 'number' && Number.isInteger(v)) return { int64_param: v };
  return { string_param: String(v) };
}

/** The typed-contents field of each datatype. */
const CONTENTS: Record<string, string> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

interface InputTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters: Record<string, Param>;
  contents: Record<string, unknown[]> | null;
}

/** A ModelInferRequest as the JSON body REST would carry (one validator for both). */
export function requestBody(req: {
  id: string;
  parameters: Record<string, Param>;
  inputs: InputTensor[];
  outputs: { name: string; parameters: Record<string, Param> }[];
  raw_input_contents: Buffer[];
}): Record<string, unknown> {
  const raw = req.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== req.inputs.length)
    throw badField(
      'E_TENSOR_INVALID',
      'raw_input_contents',
      raw.length,
      `must hold one entry per input (${req.inputs.length}) when used`,
    );
  const inputs = req.inputs.map((t, k) => {
    let data: unknown[];
    if (raw.length > 0) data = rawToValues(raw[k], t.datatype, `inputs[${k}]`);
    else {
      const field = CONTENTS[t.datatype];
      if (!field)
        throw badField('E_TENSOR_INVALID', `inputs[${k}].datatype`, t.datatype, 'has no typed contents');
      const values = (t.contents?.[field] ?? []) as unknown[];
      data = t.datatype === 'BYTES' ? values.map((b) => (b as Buffer).toString('utf8')) : values;
    }
    return { name: t.name, datatype: t.datatype, shape: t.shape.map(Number), data };
  });
  const params = unwrap(req.parameters);
  return {
    ...(req.id ? { id: req.id } : {}),
    ...(params ? { parameters: params } : {}),
    inputs,
    ...(req.outputs.length > 0
      ? { outputs: req.outputs.map((o) => ({ name: o.name, parameters: unwrap(o.parameters) })) }
      : {}),
  };
}

/** A HetserveError's HTTP status as the gRPC status Triton answers with. */
export function grpcStatus(e: unknown): grpc.status {
  if (!(e instanceof HetserveError)) return grpc.status.INTERNAL;
  switch (e.httpStatus) {
    case 400:
    case 422:
      return grpc.status.INVALID_ARGUMENT;
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 404:
      return grpc.status.NOT_FOUND;
    case 413:
    case 429:
      return grpc.status.RESOURCE_EXHAUSTED;
    case 503:
      return grpc.status.UNAVAILABLE;
    case 504:
      return grpc.status.DEADLINE_EXCEEDED;
    default:
      return grpc.status.INTERNAL;
  }
}

function toServiceError(e: unknown): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (e instanceof HetserveError) {
    metadata.set('hetserve-code', e.code);
    if (typeof e.details['field'] === 'string') metadata.set('hetserve-field', e.details['field']);
  }
  return {
    code: grpcStatus(e),
    details: e instanceof HetserveError ? e.message : 'internal error',
    metadata,
  };
}

function unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Res | Promise<Res>) {
  return (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => cb(null, res),
        (e: unknown) => cb(toServiceError(e)),
      );
  };
}

function metadataApp(call: grpc.ServerUnaryCall<unknown, unknown>): string | undefined {
  const v = call.metadata.get('x-hetserve-app')[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** ms until the call's deadline, undefined when it has none. */
function deadlineMs(call: grpc.ServerUnaryCall<unknown, unknown>): number | undefined {
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : d;
  if (!Number.isFinite(at)) return undefined;
  return Math.max(1, at - Date.now());
}

export function createGrpcServer(host: GrpcHost, maxMessageBytes: number): grpc.Server {
  const pkg = loadService() as unknown as {
    inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
  };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxMessageBytes,
  });
  server.addService(pkg.inference.GRPCInferenceService.service, {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: host.ready() })),
    ModelReady: unary((req: { name: string; version: string }) => {
      host.modelMetadata(req.name, req.version || undefined);
      return { ready: host.ready() };
    }),
    ServerMetadata: unary(() => host.serverMetadata()),
    ModelMetadata: unary((req: { name: string; version: string }) =>
      host.modelMetadata(req.name, req.version || undefined),
    ),
    ModelInfer: unary(
      async (
        req: Parameters<typeof requestBody>[0] & { model_name: string; model_version: string },
        call,
      ) => {
        const r = await runInfer(host.inferContext, {
          model: req.model_name,
          version: req.model_version || undefined,
          body: async () => requestBody(req),
          app: metadataApp(call),
          deadlineMs: deadlineMs(call),
        });
        const chosen = selectOutputs(r.outputs, r.opts);
        return {
          model_name: r.io.name,
          model_version: '1',
          id: r.id ?? '',
          parameters: Object.fromEntries(
            Object.entries({ app: r.app, ...r.timing }).map(([k, v]) => [
              k,
              wrap(k === 'app' ? v : String(v)),
            ]),
          ),
          outputs: chosen.map(({ tensor }) => ({
            name: tensor.name,
            datatype: tensor.datatype,
            shape: tensor.shape,
          })),
          raw_output_contents: chosen.map(({ tensor }) => valuesToRaw(tensor.data, tensor.datatype)),
        };
      },
    ),
  });
  return server;
}

/** Bind and start; resolves with the bound port. */
export function bindGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) =>
    server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err
        ? reject(
            new HetserveError(
              'E_CONFIG_INVALID',
              `listen.grpcPort: cannot listen on ${addr} (${err.message})`,
              {
                field: 'listen.grpcPort',
                value: port,
              },
            ),
          )
        : resolve(bound),
    ),
  );
}

/** Stop: wait for calls in flight up to `graceMs`, then cut the rest. */
export function stopGrpc(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    t.unref();
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
