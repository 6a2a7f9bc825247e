/**
 * KEDA for a cluster allocation: per instance type with a non-zero count, a StatefulSet pinned to
 * that type (node label node.kubernetes.io/instance-type, one pod per node so a replica is an
 * instance, stable per-pod DNS so the gateway can address each instance), its headless Service,
 * and a ScaledObject scaling between minReplicas and the allocated count on the gateway's
 * Prometheus metrics. The allocated count is the ceiling, so the hourly budget holds. The gateway
 * (ConfigMap with the cluster-mode config listing every instance, Deployment, Service) routes
 * queries to the instances. Workers run `hetserve serve` on their own config (an onnx backend on
 * /models/<model>.onnx, as a cluster pool of one: a Kairos query already is a batch).
 *
 * Scaling signal: the gateway's in-flight requests for the model. Each type's threshold is
 * kedaThreshold × (total allocated instances / that type's count), so the load splits across
 * types in proportion to their counts and every type reaches its count together.
 */
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { instanceGpus, type Allocation } from '../model/cluster.ts';
import type { ServeConfigInput } from '../model/serve-config.ts';
import { baseLabels, checkedK8s, toYaml } from './common.ts';
import {
  GATEWAY_CONFIG_DIR,
  MODEL_DIR,
  allocationServeConfig,
  checkedServeConfig,
  gatewayObjects,
  type ClusterInstance,
} from './gateway.ts';
import type { ExportOptions } from './options.ts';
import type { Exporter, ExportUnit } from './types.ts';

export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';

/** DNS-1123 names per instance type, unique even when two types slug alike ('a.b', 'a-b'). */
export function typeNames(types: readonly string[], o: ExportOptions): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const t of types) {
    const slug =
      t
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 20) || 'type';
    let name = `${o.name}-${slug}`;
    for (let k = 2; used.has(name); k++) name = `${o.name}-${slug}-${k}`;
    used.add(name);
    out.set(t, name);
  }
  return out;
}

/**
 * Config of a worker: a pool of one (cluster mode, the instance itself behind an onnx backend), so
 * each query, already a batch in Kairos, runs as it comes and no serverless latency profile is
 * needed (the Kairos models have none).
 */
export function workerServeConfig(alloc: Allocation, o: ExportOptions): ServeConfigInput {
  return {
    listen: { host: '0.0.0.0', port: o.port },
    models: [{ name: alloc.model, source: { onnx: `${MODEL_DIR}/${alloc.model}.onnx` } }],
    applications: [{ name: 'default', slo: alloc.qosMs / 1000, rps: alloc.chosen.upperBoundQps }],
    serving: {
      mode: 'cluster',
      qosMs: alloc.qosMs,
      baseType: 'worker',
      instances: [{ name: 'self', type: 'worker', backend: { type: 'onnx' } }],
    },
    replan: { intervalS: 0, windowS: 60 },
  };
}

function typeObjects(
  model: string,
  type: string,
  gpus: number,
  count: number,
  total: number,
  name: string,
  workerCm: string,
  o: ExportOptions,
) {
  const selector = { 'app.kubernetes.io/name': name };
  const labels = {
    ...baseLabels(o),
    ...selector,
    'app.kubernetes.io/component': 'worker',
    'hetserve.dev/instance-type': type,
  };
  const sts = new StatefulSet({
    metadata: { name, namespace: o.namespace, labels },
    spec: {
      serviceName: name,
      replicas: count,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { [INSTANCE_TYPE_LABEL]: type },
          // One model server per node: Kairos counts instances, not pods.
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: selector }, topologyKey: 'kubernetes.io/hostname' },
              ],
            },
          },
          containers: [
            {
              name: 'model',
              image: o.image,
              args: ['serve', '--config', `${GATEWAY_CONFIG_DIR}/worker.json`],
              ports: [{ name: 'http', containerPort: o.port }],
              env: [{ name: 'HETSERVE_INSTANCE_TYPE', value: type }],
              // The allocation counted this type's accelerator: without a request the pod lands on
              // the node but the device plugin gives it no GPU.
              ...(gpus > 0 ? { resources: { limits: { 'nvidia.com/gpu': String(gpus) } } } : {}),
              readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' } },
              volumeMounts: [{ name: 'config', mountPath: GATEWAY_CONFIG_DIR, readOnly: true }],
            },
          ],
          volumes: [{ name: 'config', configMap: { name: workerCm } }],
        },
      },
    },
  });
  const svc = new Service({
    metadata: { name, namespace: o.namespace, labels },
    spec: { clusterIP: 'None', selector, ports: [{ name: 'http', port: o.port, targetPort: 'http' }] },
  });
  const threshold = Number(((o.kedaThreshold * total) / count).toFixed(3));
  const so = new ScaledObject({
    metadata: { name, namespace: o.namespace, labels },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name },
      minReplicaCount: Math.min(o.minReplicas, count),
      maxReplicaCount: count,
      pollingInterval: 15,
      cooldownPeriod: 300,
      triggers: [
        {
          type: 'prometheus',
          metadata: {
            serverAddress: o.prometheusAddress,
            query: o.kedaQuery.replaceAll('{type}', type).replaceAll('{model}', model),
            threshold: String(threshold),
          },
        },
      ],
    },
  });
  return [checkedK8s('keda', sts), checkedK8s('keda', svc), checkedK8s('keda', so)];
}

export const kedaExporter: Exporter = {
  target: 'keda',
  description: 'KEDA: per instance type a StatefulSet + headless Service + ScaledObject, and the gateway',
  accepts: 'allocation',
  kubernetes: true,
  export(doc, _kind, o) {
    const alloc = doc as Allocation;
    const types = Object.keys(alloc.chosen.counts).filter((t) => alloc.chosen.counts[t] > 0);
    const total = types.reduce((s, t) => s + alloc.chosen.counts[t], 0);
    const names = typeNames(types, o);
    const units: ExportUnit[] = [];
    const instances: ClusterInstance[] = [];
    const workerCmName = `${o.name}-worker-config`;
    const workerCm = new ConfigMap({
      metadata: { name: workerCmName, namespace: o.namespace, labels: baseLabels(o) },
      data: {
        'worker.json':
          JSON.stringify(checkedServeConfig('keda', workerServeConfig(alloc, o)), null, 2) + '\n',
      },
    });
    const workers = [checkedK8s('keda', workerCm)];
    for (const t of types) {
      const name = names.get(t)!;
      const count = alloc.chosen.counts[t];
      units.push({ ref: `type:${t}`, name });
      for (let k = 0; k < count; k++) {
        instances.push({
          name: `${name}-${k}`,
          type: t,
          url: `http://${name}-${k}.${name}.${o.namespace}.svc:${o.port}`,
        });
      }
      const poolType = alloc.pool.find((p) => p.name === t) ?? { name: t };
      workers.push(
        ...typeObjects(alloc.model, t, instanceGpus(poolType), count, total, name, workerCmName, o),
      );
    }
    const gateway = gatewayObjects(checkedServeConfig('keda', allocationServeConfig(alloc, instances, o)), o);
    const warnings = [
      `keda: the image must hold the model at ${MODEL_DIR}/${alloc.model}.onnx; models[0].inputs may be needed for the gateway's http backends`,
    ];
    if (o.minReplicas < Math.max(...types.map((t) => alloc.chosen.counts[t]))) {
      warnings.push(
        `keda: types scale down to ${o.minReplicas} replica(s) when idle; the allocation's throughput holds only at full count, ` +
          `and the gateway's backends for scaled-down instances fail until they return`,
      );
    }
    return {
      target: 'keda',
      files: [
        { path: 'gateway.yaml', content: toYaml(gateway), objects: gateway },
        { path: 'workers.yaml', content: toYaml(workers), objects: workers },
      ],
      units,
      warnings,
    };
  },
};
