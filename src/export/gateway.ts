/**
 * The hetserve gateway on Kubernetes: a ConfigMap carrying the plan or allocation as the gateway's
 * config file, a Deployment running `hetserve serve --config`, and a Service. Other exporters
 * reuse these objects to put the gateway in front of the engine they emit (Lambda, KEDA).
 *
 * Config file assumption (the gateway's own config schema had not landed when this was written):
 * `{ kind: 'hetserve-gateway-config', mode, model, plan | allocation, backends[], port }` where each
 * backend maps a plan group or an instance type to the URL serving it; no backends means the
 * gateway runs the model itself.
 */
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import type { Plan } from '../model/plan.ts';
import type { Allocation } from '../model/cluster.ts';
import { baseLabels, checkedK8s, toYaml } from './common.ts';
import type { ExportOptions } from './options.ts';
import type { DocumentKind, ExportDocument, Exporter, ExportUnit } from './types.ts';

export interface GatewayBackend {
  /** `group-<i>` or `type:<instance type>`. */
  readonly ref: string;
  /** `http` (a URL per backend) or `lambda` (a function ARN / name to invoke). */
  readonly kind: 'http' | 'lambda' | 'fc';
  readonly url?: string;
  readonly function?: string;
  /** For instance types: how many instances the allocation chose. */
  readonly count?: number;
}

export interface GatewayConfig {
  readonly kind: 'hetserve-gateway-config';
  readonly mode: 'serverless' | 'cluster';
  readonly model: string;
  readonly port: number;
  readonly plan?: Plan;
  readonly allocation?: Allocation;
  readonly backends: readonly GatewayBackend[];
}

export function gatewayConfig(
  doc: ExportDocument,
  kind: DocumentKind,
  o: ExportOptions,
  backends: readonly GatewayBackend[],
): GatewayConfig {
  return {
    kind: 'hetserve-gateway-config',
    mode: kind === 'plan' ? 'serverless' : 'cluster',
    model: doc.model,
    port: o.port,
    ...(kind === 'plan' ? { plan: doc as Plan } : { allocation: doc as Allocation }),
    backends,
  };
}

export const GATEWAY_CONFIG_DIR = '/etc/hetserve';

/** ConfigMap + Deployment + Service of the gateway, validated. */
export function gatewayObjects(config: GatewayConfig, o: ExportOptions): Record<string, unknown>[] {
  const name = `${o.name}-gateway`;
  const labels = {
    ...baseLabels(o),
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': 'gateway',
  };
  const selector = { 'app.kubernetes.io/name': name };
  const cm = new ConfigMap({
    metadata: { name: `${name}-config`, namespace: o.namespace, labels },
    data: { 'config.json': JSON.stringify(config, null, 2) + '\n' },
  });
  const dep = new Deployment({
    metadata: { name, namespace: o.namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels,
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(o.port),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          containers: [
            {
              name: 'gateway',
              image: o.gatewayImage,
              args: ['serve', '--config', `${GATEWAY_CONFIG_DIR}/config.json`, '--port', String(o.port)],
              ports: [{ name: 'http', containerPort: o.port }],
              readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' } },
              livenessProbe: { httpGet: { path: '/v2/health/live', port: 'http' } },
              resources: { requests: { cpu: '500m', memory: '256Mi' } },
              volumeMounts: [{ name: 'config', mountPath: GATEWAY_CONFIG_DIR, readOnly: true }],
            },
          ],
          volumes: [{ name: 'config', configMap: { name: `${name}-config` } }],
        },
      },
    },
  });
  const svc = new Service({
    metadata: { name, namespace: o.namespace, labels },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  return [checkedK8s('gateway', cm), checkedK8s('gateway', dep), checkedK8s('gateway', svc)];
}

/** Units of a document when the gateway itself serves everything. */
function gatewayUnits(doc: ExportDocument, kind: DocumentKind, name: string): ExportUnit[] {
  if (kind === 'plan') return (doc as Plan).groups.map((_, i) => ({ ref: `group-${i}`, name }));
  const counts = (doc as Allocation).chosen.counts;
  return Object.keys(counts)
    .filter((t) => counts[t] > 0)
    .map((t) => ({ ref: `type:${t}`, name }));
}

export const gatewayExporter: Exporter = {
  target: 'gateway',
  description: 'the hetserve gateway alone: ConfigMap (plan or allocation) + Deployment + Service',
  accepts: 'both',
  kubernetes: true,
  export(doc, kind, o) {
    const objects = gatewayObjects(gatewayConfig(doc, kind, o, []), o);
    return {
      target: 'gateway',
      files: [{ path: 'gateway.yaml', content: toYaml(objects), objects }],
      units: gatewayUnits(doc, kind, `${o.name}-gateway`),
      warnings:
        kind === 'allocation'
          ? [
              'gateway: one gateway replica runs the model for every instance type; use --target keda for one Deployment per type',
            ]
          : [],
    };
  },
};
