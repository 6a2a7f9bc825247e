/**
 * Options shared by every exporter. Each option has a default; `parseExportOptions` fills them in
 * and rejects bad values with E_INVALID_OPTION naming the option and the value.
 */
import { z } from 'zod';
import { parseWith } from '../model/validate.ts';

const dns1123 = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase DNS-1123 label (a-z, 0-9, -)')
  .max(63);
/** Object names: Services need DNS-1035 (a leading letter); room is left for the suffixes. */
const objectName = z
  .string()
  .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase DNS-1035 label (a letter, then a-z, 0-9, -)')
  .max(40, 'must be at most 40 characters (room is left for group and type suffixes)');

export const ExportOptionsSchema = z
  .object({
    /**
     * Base name of every emitted object. Default: the model name of the document, lower-cased,
     * with characters outside [a-z0-9-] replaced by '-', prefixed by 'm-' when it does not start
     * with a letter, at most 40 characters. Objects are named `<name>-g<i>` (plan
     * groups) or `<name>-<instance type>` (allocations).
     */
    name: objectName.optional(),
    /** Kubernetes namespace of every namespaced object. Default 'default'. */
    namespace: dns1123.default('default'),
    /**
     * Container image of the model server: the hetserve image (deploy/Dockerfile) for Knative and
     * KEDA workers; for Lambda and FC an image answering one invocation with one batch. Default
     * 'hetserve:0.1.0'.
     */
    image: z.string().min(1).default('hetserve:0.1.0'),
    /** Container image of the gateway. Default: the same as `image`. */
    gatewayImage: z.string().min(1).optional(),
    /** Port the model server and the gateway listen on inside the container. Default 8080. */
    port: z.number().int().min(1).max(65535).default(8080),
    /**
     * Smallest replica count the autoscalers may scale to. Default 1: scale-to-zero puts a cold
     * start in front of the first request, which the plan's latency model does not include.
     */
    minReplicas: z.number().int().nonnegative().default(1),
    /**
     * Head-room factor on the replica count a group needs at its planned rate (Little's law:
     * rps / batchSize × avg batch latency). maxReplicas = max(minReplicas, 1, ceil(need × headroom)).
     * Default 2.
     */
    headroom: z.number().min(1).default(2),
    /**
     * Knative/KServe: resource name for a GPU group. 'nvidia.com/gpu' (default) requests one whole
     * GPU per pod (the plan's GPU share is then not expressed, and a warning says so);
     * 'aliyun.com/gpu-mem' requests the plan's GPU memory in GiB on Alibaba ACK's shared-GPU
     * scheduler, which is the time-sliced share the plan assumes.
     */
    gpuResource: z.enum(['nvidia.com/gpu', 'aliyun.com/gpu-mem']).default('nvidia.com/gpu'),
    /** KServe: storageUri of the ONNX model. Default `pvc://hetserve-models/<model>.onnx`. */
    storageUri: z
      .string()
      .regex(/^[a-z0-9+.-]+:\/\/\S+$/, 'must be a URI such as pvc://claim/path')
      .optional(),
    /** Ray: memory of one physical GPU in GB; num_gpus = gpuMemoryGb / this. Default 24 (A10). */
    gpuTotalMemoryGb: z.number().positive().default(24),
    /**
     * Ray: import path of the Serve application. Default 'hetserve_ray:app', the application
     * shipped in deploy/ray/hetserve_ray.py (the export writes a copy next to serve.yaml).
     */
    rayImportPath: z
      .string()
      .regex(/^[\w.]+:[\w.]+$/, 'must be module:attribute')
      .default('hetserve_ray:app'),
    /** Lambda: instruction set. Default 'x86_64' (the profiles were measured on x86). */
    architecture: z.enum(['x86_64', 'arm64']).default('x86_64'),
    /** FC: region of the Serverless Devs project. Default 'cn-hangzhou'. */
    region: z.string().min(1).default('cn-hangzhou'),
    /** FC: GPU type of GPU groups. Default 'fc.gpu.ampere.1' (A10, 24 GB, as in the paper). */
    fcGpuType: z.enum(['fc.gpu.tesla.1', 'fc.gpu.ampere.1', 'fc.gpu.ada.1']).default('fc.gpu.ampere.1'),
    /**
     * Lambda and FC: where batches are formed. 'gateway' (default, as in HarmonyBatch): the
     * hetserve gateway buffers requests and invokes the function once per batch, so one instance
     * runs one invocation at a time. 'function' (FC only): the function batches concurrent
     * requests itself, so instanceConcurrency = batch size.
     */
    batching: z.enum(['gateway', 'function']).default('gateway'),
    /** KEDA: address of the Prometheus server scraping the gateway. Default 'http://prometheus-server.monitoring.svc:80'. */
    prometheusAddress: z.string().url().default('http://prometheus-server.monitoring.svc:80'),
    /**
     * KEDA: PromQL query of a type's load; `{type}` and `{model}` are replaced by the instance
     * type and the model name. Default: the gateway's in-flight requests of the model,
     * `sum(hetserve_inflight_requests{model="{model}"})`.
     */
    kedaQuery: z.string().min(1).default('sum(hetserve_inflight_requests{model="{model}"})'),
    /**
     * KEDA: in-flight requests per instance at which every type is at its allocated count. Each
     * type's threshold is this × (total instances / the type's count). Default 1 (Kairos routes
     * one query at a time to an instance).
     */
    kedaThreshold: z.number().positive().default(1),
  })
  .strict();

export type ExportOptions = z.output<typeof ExportOptionsSchema> & { name: string; gatewayImage: string };
export type ExportOptionsInput = z.input<typeof ExportOptionsSchema>;

/** Validate options and fill in the defaults that depend on the document (`name`, `gatewayImage`). */
export function parseExportOptions(input: ExportOptionsInput | undefined, model: string): ExportOptions {
  const o = parseWith(ExportOptionsSchema, input ?? {}, 'E_INVALID_OPTION', 'options');
  return { ...o, name: o.name ?? defaultName(model), gatewayImage: o.gatewayImage ?? o.image };
}

/** A DNS-1035 label from a model name: 'VGG19' -> 'vgg19', 'rm2/v1' -> 'rm2-v1', '3D' -> 'm-3d'. */
export function defaultName(model: string): string {
  const s = model
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const named = /^[a-z]/.test(s) ? s : `m-${s}`;
  return named.slice(0, 40).replace(/-+$/g, '');
}
