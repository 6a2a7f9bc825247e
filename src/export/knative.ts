/**
 * Knative Serving: one Service per plan group. The pod runs `hetserve serve` on a per-group config
 * (ConfigMap `<name>-g<i>-config`: the group's apps, onnx backend, re-planning off), so batches
 * are formed in the pod and a pod must accept at least a batch of concurrent requests:
 * containerConcurrency = batch size, and the autoscaler targets one full batch in flight per pod.
 * The env repeats batch size, per-app timeouts and SLOs for a custom in-pod batch manager.
 */
import { Service } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { GATEWAY_CONFIG_DIR, MODEL_DIR, checkedServeConfig, groupServeConfig } from './gateway.ts';
import type { Plan, PlanGroup } from '../model/plan.ts';
import {
  baseLabels,
  checkedK8s,
  cpuQuantity,
  envList,
  groupEnv,
  groupName,
  groupRef,
  memoryQuantity,
  replicaBounds,
  knativeTimeoutS,
  toYaml,
} from './common.ts';
import type { ExportOptions } from './options.ts';
import type { Exporter, ExportUnit } from './types.ts';

/** Container resources of a group; `warnings` says what the chosen GPU resource cannot express. */
export function podResources(
  g: PlanGroup,
  ref: string,
  o: ExportOptions,
  warnings: string[],
): { requests: Record<string, string>; limits: Record<string, string> } {
  const f = g.function;
  const requests: Record<string, string> = { cpu: cpuQuantity(f.vcpu), memory: memoryQuantity(f.memoryGb) };
  const limits: Record<string, string> = { ...requests };
  if (f.kind === 'gpu') {
    if (o.gpuResource === 'aliyun.com/gpu-mem') {
      limits['aliyun.com/gpu-mem'] = String(f.gpuMemoryGb);
    } else {
      limits['nvidia.com/gpu'] = '1';
      warnings.push(
        `${ref}: the plan gives this group ${f.gpuMemoryGb} GB of a time-sliced GPU; nvidia.com/gpu can only ` +
          `request whole GPUs, so each pod gets one (use --gpu-resource aliyun.com/gpu-mem for the planned share)`,
      );
    }
  }
  return { requests, limits };
}

export function knativeService(plan: Plan, g: PlanGroup, i: number, o: ExportOptions, warnings: string[]) {
  const name = groupName(o, i);
  const { min, max } = replicaBounds(g, o);
  const labels = { ...baseLabels(o), 'hetserve.dev/group': String(i) };
  return checkedK8s(
    'knative',
    new Service({
      metadata: { name, namespace: o.namespace, labels },
      spec: {
        template: {
          metadata: {
            labels,
            annotations: {
              'autoscaling.knative.dev/class': 'kpa.autoscaling.knative.dev',
              'autoscaling.knative.dev/metric': 'concurrency',
              'autoscaling.knative.dev/target': String(g.batchSize),
              'autoscaling.knative.dev/min-scale': String(min),
              'autoscaling.knative.dev/max-scale': String(max),
            },
          },
          spec: {
            containerConcurrency: g.batchSize,
            timeoutSeconds: knativeTimeoutS(plan, g, groupRef(i), warnings),
            containers: [
              {
                name: 'model',
                image: o.image,
                args: ['serve', '--config', `${GATEWAY_CONFIG_DIR}/config.json`],
                ports: [{ containerPort: o.port }],
                env: envList(groupEnv(plan, g, i)),
                resources: podResources(g, groupRef(i), o, warnings),
                volumeMounts: [{ name: 'config', mountPath: GATEWAY_CONFIG_DIR, readOnly: true }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: `${name}-config` } }],
          },
        },
      },
    }),
  );
}

export const knativeExporter: Exporter = {
  target: 'knative',
  description: 'Knative Serving: one Service per plan group (containerConcurrency = batch size)',
  accepts: 'plan',
  splitApps:
    "Knative splits traffic between revisions of one Service, not across the per-group Services, and each group's pod batches only its own apps",
  kubernetes: true,
  export(doc, _kind, o) {
    const plan = doc as Plan;
    const warnings: string[] = [];
    const units: ExportUnit[] = [];
    const objects = plan.groups.flatMap((g, i) => {
      const name = groupName(o, i);
      units.push({ ref: groupRef(i), name });
      const config = checkedServeConfig('knative', groupServeConfig(plan, g, o));
      const cm = new ConfigMap({
        metadata: {
          name: `${name}-config`,
          namespace: o.namespace,
          labels: { ...baseLabels(o), 'hetserve.dev/group': String(i) },
        },
        data: { 'config.json': JSON.stringify(config, null, 2) + '\n' },
      });
      return [checkedK8s('knative', cm), knativeService(plan, g, i, o, warnings)];
    });
    warnings.push(
      `knative: the image must hold the model at ${MODEL_DIR}/${plan.model}.onnx (build FROM the hetserve image, or mount it)`,
    );
    return {
      target: 'knative',
      files: [{ path: 'knative.yaml', content: toYaml(objects), objects }],
      units,
      warnings,
    };
  },
};
