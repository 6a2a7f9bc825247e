/**
 * KEDA for a cluster allocation: per instance type with a non-zero count, a Deployment pinned to
 * that type (node label node.kubernetes.io/instance-type, one pod per node so a replica is an
 * instance), a headless Service so the gateway can address each instance, and a ScaledObject
 * scaling between minReplicas and the allocated count on the gateway's Prometheus metrics. The
 * allocated count is the ceiling, so the hourly budget holds. The gateway (ConfigMap with the
 * allocation, Deployment, Service) routes queries to the instances.
 */
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { Allocation } from '../model/cluster.ts';
import { baseLabels, checkedK8s, toYaml } from './common.ts';
import { gatewayConfig, gatewayObjects, type GatewayBackend } from './gateway.ts';
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

function typeObjects(alloc: Allocation, type: string, count: number, name: string, o: ExportOptions) {
  const selector = { 'app.kubernetes.io/name': name };
  const labels = {
    ...baseLabels(o),
    ...selector,
    'app.kubernetes.io/component': 'worker',
    'hetserve.dev/instance-type': type,
  };
  const dep = new Deployment({
    metadata: { name, namespace: o.namespace, labels },
    spec: {
      replicas: count,
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
              args: ['serve', '--instance-type', type, '--port', String(o.port)],
              ports: [{ name: 'http', containerPort: o.port }],
              env: [
                { name: 'HETSERVE_MODEL', value: alloc.model },
                { name: 'HETSERVE_INSTANCE_TYPE', value: type },
              ],
              readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' } },
            },
          ],
        },
      },
    },
  });
  const svc = new Service({
    metadata: { name, namespace: o.namespace, labels },
    spec: { clusterIP: 'None', selector, ports: [{ name: 'http', port: o.port, targetPort: 'http' }] },
  });
  const so = new ScaledObject({
    metadata: { name, namespace: o.namespace, labels },
    spec: {
      scaleTargetRef: { name },
      minReplicaCount: Math.min(o.minReplicas, count),
      maxReplicaCount: count,
      pollingInterval: 15,
      cooldownPeriod: 300,
      triggers: [
        {
          type: 'prometheus',
          metadata: {
            serverAddress: o.prometheusAddress,
            query: o.kedaQuery.replaceAll('{type}', type),
            threshold: String(o.kedaThreshold),
          },
        },
      ],
    },
  });
  return [checkedK8s('keda', dep), checkedK8s('keda', svc), checkedK8s('keda', so)];
}

export const kedaExporter: Exporter = {
  target: 'keda',
  description: 'KEDA: per instance type a Deployment + headless Service + ScaledObject, and the gateway',
  accepts: 'allocation',
  kubernetes: true,
  export(doc, kind, o) {
    const alloc = doc as Allocation;
    const types = Object.keys(alloc.chosen.counts).filter((t) => alloc.chosen.counts[t] > 0);
    const names = typeNames(types, o);
    const units: ExportUnit[] = [];
    const backends: GatewayBackend[] = [];
    const workers = types.flatMap((t) => {
      const name = names.get(t)!;
      const count = alloc.chosen.counts[t];
      units.push({ ref: `type:${t}`, name });
      backends.push({
        ref: `type:${t}`,
        kind: 'http',
        url: `http://${name}.${o.namespace}.svc:${o.port}`,
        count,
      });
      return typeObjects(alloc, t, count, name, o);
    });
    const gateway = gatewayObjects(gatewayConfig(doc, kind, o, backends), o);
    const warnings =
      o.minReplicas < Math.max(...types.map((t) => alloc.chosen.counts[t]), 0)
        ? [
            `keda: types scale down to ${o.minReplicas} replica(s) when idle; the allocation's throughput holds only at the maximum`,
          ]
        : [];
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
