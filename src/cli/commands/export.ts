import type { Command } from 'commander';
import { HetserveError } from '../../model/errors.ts';
import { parseNumber, printJson, readJsonFile } from '../io.ts';

const TARGETS = 'knative, kserve, lambda, fc, ray, keda, gateway';

interface ExportCliOptions {
  target: string;
  out: string;
  apply?: boolean;
  kubeconfig?: string;
  context?: string;
  dryRun?: boolean;
  json?: boolean;
  strict?: boolean;
  name?: string;
  namespace?: string;
  image?: string;
  gatewayImage?: string;
  port?: string;
  minReplicas?: string;
  headroom?: string;
  gpuResource?: string;
  gpuTotalMemory?: string;
  storageUri?: string;
  rayImportPath?: string;
  architecture?: string;
  region?: string;
  fcGpuType?: string;
  batching?: string;
  prometheus?: string;
  kedaQuery?: string;
  kedaThreshold?: string;
}

export function register(program: Command): void {
  program
    .command('export')
    .argument('<file>', 'plan.json (hetserve plan --json) or alloc.json (hetserve allocate --json)')
    .description('Write the configuration of an engine that runs a plan or allocation beyond one machine')
    .requiredOption('-t, --target <target>', `engine: ${TARGETS}`)
    .option(
      '-o, --out <dir>',
      'directory to write the files into (created if missing; the default is git- and prettier-ignored in a checkout)',
      'hetserve-export',
    )
    .option('--apply', 'after writing, server-side apply the Kubernetes objects to the current cluster')
    .option(
      '--kubeconfig <path>',
      'with --apply: kubeconfig file (default $KUBECONFIG, ~/.kube/config, in-cluster)',
    )
    .option('--context <name>', 'with --apply: kubeconfig context (default: the current one)')
    .option('--dry-run', 'with --apply: server-side dry run (validated by the API server, nothing persisted)')
    .option('--json', 'print the result (files, units, warnings) as JSON instead of a summary')
    .option('--strict', 'fail (exit 3) when the target cannot express some group or type, instead of warning')
    .option('--name <name>', 'base name of every object (default: the model name, lower-cased)')
    .option('--namespace <ns>', 'Kubernetes namespace (default "default")')
    .option('--image <image>', 'model server image, built from deploy/Dockerfile (default "hetserve:0.1.0")')
    .option('--gateway-image <image>', 'gateway image (default: --image)')
    .option('--port <port>', 'container port of the model server and gateway (default 8080)')
    .option(
      '--min-replicas <n>',
      'autoscaler floor; lambda: provisioned concurrency per function, fc: minInstances (default 1; 0 allows scale-to-zero and cold starts)',
    )
    .option(
      '--headroom <x>',
      'max replicas = ceil(needed replicas at the planned rate x this), >= 1 (default 2)',
    )
    .option(
      '--gpu-resource <res>',
      'knative/kserve GPU resource: nvidia.com/gpu (whole GPU, default) or aliyun.com/gpu-mem',
    )
    .option(
      '--storage-uri <uri>',
      'kserve: storageUri of the ONNX model (default "pvc://hetserve-models/<model>.onnx")',
    )
    .option('--gpu-total-memory <gb>', 'ray: memory of one GPU in GB; num_gpus = share / this (default 24)')
    .option(
      '--ray-import-path <path>',
      'ray: module:attribute of the Serve application (default "hetserve_ray:app")',
    )
    .option('--architecture <arch>', 'lambda: x86_64 (default) or arm64')
    .option('--region <region>', 'fc: region (default "cn-hangzhou")')
    .option('--fc-gpu-type <type>', 'fc: fc.gpu.tesla.1, fc.gpu.ampere.1 (default) or fc.gpu.ada.1')
    .option(
      '--batching <where>',
      'lambda/fc: gateway (default: the gateway forms batches) or function (fc only)',
    )
    .option(
      '--prometheus <url>',
      'keda: Prometheus address (default "http://prometheus-server.monitoring.svc:80")',
    )
    .option(
      '--keda-query <promql>',
      'keda: load query, {model}/{type} substituted (default sum(hetserve_inflight_requests{model="{model}"}))',
    )
    .option(
      '--keda-threshold <x>',
      'keda: in-flight requests per instance at full count; per type x total/count (default 1)',
    )
    .action(async (file: string, opts: ExportCliOptions) => {
      const { exportDocument, getExporter, writeExport } = await import('../../export/index.ts');
      const num = (flag: string, v: string | undefined, o: { min?: number; integer?: boolean } = {}) =>
        v === undefined ? undefined : parseNumber(flag, v, o);
      const options = Object.fromEntries(
        Object.entries({
          name: opts.name,
          namespace: opts.namespace,
          image: opts.image,
          gatewayImage: opts.gatewayImage,
          port: num('--port', opts.port, { integer: true }),
          minReplicas: num('--min-replicas', opts.minReplicas, { integer: true, min: 0 }),
          headroom: num('--headroom', opts.headroom, { min: 1 }),
          gpuResource: opts.gpuResource,
          storageUri: opts.storageUri,
          gpuTotalMemoryGb: num('--gpu-total-memory', opts.gpuTotalMemory),
          rayImportPath: opts.rayImportPath,
          architecture: opts.architecture,
          region: opts.region,
          fcGpuType: opts.fcGpuType,
          batching: opts.batching,
          prometheusAddress: opts.prometheus,
          kedaQuery: opts.kedaQuery,
          kedaThreshold: num('--keda-threshold', opts.kedaThreshold),
        }).filter(([, v]) => v !== undefined),
      );
      const result = exportDocument(readJsonFile(file, 'file'), opts.target, options);
      if (opts.apply && !getExporter(opts.target).kubernetes) {
        throw new HetserveError(
          'E_APPLY_UNAVAILABLE',
          `--apply: ${opts.target} is not a Kubernetes target; deploy its files with the engine's own tool`,
          { field: 'apply', value: opts.target, hint: 'use --apply with knative, kserve, keda or gateway' },
        );
      }
      const unsupported = result.units.filter((u) => u.unsupported);
      if (opts.strict && unsupported.length > 0) {
        throw new HetserveError(
          'E_TARGET_UNSUPPORTED',
          `${opts.target} cannot express ${unsupported.map((u) => `${u.ref} (${u.unsupported})`).join('; ')}`,
          { field: 'target', value: opts.target },
        );
      }
      const written = writeExport(result, opts.out);
      let applied: { kind: string; name: string; namespace?: string }[] | undefined;
      if (opts.apply) {
        const { applyExport } = await import('../../export/apply.ts');
        applied = await applyExport(result, {
          kubeconfig: opts.kubeconfig,
          context: opts.context,
          dryRun: opts.dryRun,
        });
      }
      if (opts.json) {
        printJson({
          target: result.target,
          written,
          applied,
          units: result.units,
          warnings: result.warnings,
        });
        return;
      }
      for (const p of written) process.stdout.write(`wrote ${p}\n`);
      for (const a of applied ?? []) {
        process.stdout.write(
          `applied ${a.kind}/${a.name}${a.namespace ? ` in ${a.namespace}` : ''}${opts.dryRun ? ' (dry run)' : ''}\n`,
        );
      }
      for (const u of result.units) {
        process.stdout.write(
          u.unsupported ? `  ${u.ref}: NOT EXPORTED: ${u.unsupported}\n` : `  ${u.ref} -> ${u.name}\n`,
        );
      }
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    });
}
