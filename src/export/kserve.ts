/**
 * KServe: one InferenceService per plan group serving the ONNX model (`modelFormat: onnx`,
 * `storageUri`) on the serving runtime KServe picks, with KServe's request batcher forming the
 * batches (maxBatchSize = batch size, maxLatency = the group's smallest timeout). There is no
 * typed model of KServe's CRD in kubernetes-models, so the emitted fields are checked with a zod
 * schema and the resources/env with the core Container model.
 */
import { z } from 'zod';
import { Container } from 'kubernetes-models/v1/Container';
import type { Plan } from '../model/plan.ts';
import {
  baseLabels,
  fmt,
  checkedDoc,
  checkedK8s,
  envList,
  groupEnv,
  groupName,
  groupRef,
  minTimeout,
  replicaBounds,
  knativeTimeoutS,
  toYaml,
} from './common.ts';
import { podResources } from './knative.ts';
import type { Exporter, ExportUnit } from './types.ts';

const dns = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
/** The fields of serving.kserve.io/v1beta1 InferenceService that this exporter emits. */
export const InferenceServiceSchema = z
  .object({
    apiVersion: z.literal('serving.kserve.io/v1beta1'),
    kind: z.literal('InferenceService'),
    metadata: z
      .object({
        name: dns.max(63),
        namespace: dns,
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()),
      })
      .strict(),
    spec: z
      .object({
        predictor: z
          .object({
            minReplicas: z.number().int().nonnegative(),
            maxReplicas: z.number().int().positive(),
            scaleMetric: z.enum(['concurrency', 'rps', 'cpu', 'memory']),
            scaleTarget: z.number().int().positive(),
            containerConcurrency: z.number().int().nonnegative(),
            timeout: z.number().int().positive(),
            batcher: z
              .object({
                maxBatchSize: z.number().int().positive(),
                /** Milliseconds; 0 would mean KServe's default, so it must be positive. */
                maxLatency: z.number().int().positive(),
              })
              .strict()
              .optional(),
            model: z
              .object({
                modelFormat: z.object({ name: z.string().min(1) }).strict(),
                /** Open Inference Protocol: the only one Triton (KServe's ONNX runtime) serves. */
                protocolVersion: z.literal('v2'),
                storageUri: z
                  .string()
                  .regex(/^[a-z0-9+.-]+:\/\/\S+$/, 'must be a URI such as pvc://claim/path'),
                resources: z
                  .object({
                    requests: z.record(z.string(), z.string()),
                    limits: z.record(z.string(), z.string()),
                  })
                  .strict(),
                env: z.array(z.object({ name: z.string(), value: z.string() }).strict()),
              })
              .strict(),
          })
          .strict()
          .refine((p) => p.maxReplicas >= p.minReplicas, 'maxReplicas < minReplicas')
          .refine((p) => !p.batcher || p.containerConcurrency >= p.batcher.maxBatchSize, {
            message: 'containerConcurrency below the batch size',
          }),
      })
      .strict(),
  })
  .strict();

export const kserveExporter: Exporter = {
  target: 'kserve',
  description: "KServe: one InferenceService per plan group, batched by KServe's batcher",
  accepts: 'plan',
  splitApps:
    'each InferenceService has its own URL and KServe has no weighted route across InferenceServices, so a client cannot send one app to two of them in proportion',
  kubernetes: true,
  export(doc, _kind, o) {
    const plan = doc as Plan;
    const warnings: string[] = [];
    const units: ExportUnit[] = [];
    const objects = plan.groups.map((g, i) => {
      const ref = groupRef(i);
      const name = groupName(o, i);
      units.push({ ref, name });
      const { min, max } = replicaBounds(g, o);
      const tMin = minTimeout(g);
      const maxLatency = Math.max(1, Math.floor(tMin * 1000 + 1e-6));
      if (g.batchSize > 1 && maxLatency > tMin * 1000 + 1e-6) {
        warnings.push(`${ref}: timeout ${fmt(tMin)} s is below KServe's 1 ms batcher resolution; using 1 ms`);
      }
      if (g.batchSize > 1 && new Set(g.apps.map((a) => g.timeouts[a] ?? 0)).size > 1) {
        warnings.push(
          `${ref}: KServe's batcher has one wait per batch, not one per app; using the smallest timeout ` +
            `(${fmt(tMin)} s), which keeps every SLO but may form smaller batches than planned`,
        );
      }
      const resources = podResources(g, ref, o, warnings);
      // The model spec is a container spec without image (the runtime supplies it): validate the
      // parts we set with the core Container model.
      checkedK8s(
        'kserve',
        new Container({ name: 'kserve-container', resources, env: envList(groupEnv(plan, g, i)) }),
      );
      const model = {
        modelFormat: { name: 'onnx' },
        // KServe defaults to v1, which Triton (the ONNX runtime of a default install) does not serve.
        protocolVersion: 'v2',
        storageUri: o.storageUri ?? `pvc://hetserve-models/${encodeURIComponent(plan.model)}.onnx`,
        resources,
        env: envList(groupEnv(plan, g, i)),
      };
      const labels = { ...baseLabels(o), 'hetserve.dev/group': String(i) };
      return checkedDoc('kserve', InferenceServiceSchema, {
        apiVersion: 'serving.kserve.io/v1beta1',
        kind: 'InferenceService',
        metadata: {
          name,
          namespace: o.namespace,
          labels,
          annotations: { 'serving.kserve.io/deploymentMode': 'Serverless' },
        },
        spec: {
          predictor: {
            minReplicas: min,
            maxReplicas: max,
            scaleMetric: 'concurrency',
            scaleTarget: g.batchSize,
            containerConcurrency: g.batchSize,
            timeout: knativeTimeoutS(plan, g, ref, warnings),
            ...(g.batchSize > 1 ? { batcher: { maxBatchSize: g.batchSize, maxLatency } } : {}),
            model,
          },
        },
      }) as Record<string, unknown>;
    });
    return {
      target: 'kserve',
      files: [{ path: 'kserve.yaml', content: toYaml(objects), objects }],
      units,
      warnings,
    };
  },
};
