/**
 * The hetserve gateway on Kubernetes: a ConfigMap carrying the gateway's config file (the
 * `hetserve schema config` document, validated with the gateway's own parser), a Deployment
 * running `hetserve serve --config`, and a Service. The KEDA exporter reuses these objects to put
 * the gateway in front of the instances it emits.
 *
 * Mapping: a plan becomes a serverless-mode config (its apps with SLO and rate, its model as the
 * profile, its algorithm, price table and compat; an onnx backend reading
 * /models/<model>.onnx); an allocation becomes a cluster-mode config (its QoS, its base type,
 * one http backend per allocated instance) with one application, `default`, whose SLO is the
 * QoS target and whose rate is the allocation's throughput bound.
 */
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HetserveError, isHetserveError } from '../model/errors.ts';
import type { Plan, PlanGroup } from '../model/plan.ts';
import type { Allocation } from '../model/cluster.ts';
import { parseServeConfig, type ServeConfigInput } from '../model/serve-config.ts';
import { baseLabels, checkedK8s, toYaml } from './common.ts';
import type { ExportOptions } from './options.ts';
import type { DocumentKind, ExportDocument, Exporter, ExportUnit } from './types.ts';

export const GATEWAY_CONFIG_DIR = '/etc/hetserve';
export const MODEL_DIR = '/models';

/** One allocated instance the gateway routes to (cluster mode). */
export interface ClusterInstance {
  readonly name: string;
  readonly type: string;
  readonly url: string;
}

/** Gateway config (ServeConfigSchema input) of a serverless plan served by the gateway itself. */
export function planServeConfig(plan: Plan, o: ExportOptions): ServeConfigInput {
  return {
    listen: { host: '0.0.0.0', port: o.port },
    models: [{ name: plan.model, profile: plan.model, source: { onnx: `${MODEL_DIR}/${plan.model}.onnx` } }],
    applications: plan.apps.map((a) => ({ name: a.name, slo: a.slo, rps: a.rps })),
    serving: {
      mode: 'serverless',
      algorithm: plan.algorithm,
      prices: plan.priceTable,
      compat: plan.compat,
      backend: { type: 'onnx' },
    },
  };
}

/**
 * Config of the hetserve process inside one group's pod (Knative): the gateway restricted to the
 * group's apps, batching in the pod on an onnx backend, re-planning off so the pod keeps the
 * plan's decision for its lifetime.
 */
export function groupServeConfig(plan: Plan, g: PlanGroup, o: ExportOptions): ServeConfigInput {
  const members = new Set(g.apps);
  return {
    ...planServeConfig(plan, o),
    applications: plan.apps
      .filter((a) => members.has(a.name))
      .map((a) => ({ name: a.name, slo: a.slo, rps: a.rps })),
    replan: { intervalS: 0, windowS: 60 },
  };
}

/** Gateway config of an allocation: cluster mode, one http backend per allocated instance. */
export function allocationServeConfig(
  alloc: Allocation,
  instances: readonly ClusterInstance[],
  o: ExportOptions,
): ServeConfigInput {
  const base = alloc.pool.find((t) => t.base && (alloc.chosen.counts[t.name] ?? 0) > 0) ??
    alloc.pool.find((t) => t.base) ?? { name: instances[0]?.type ?? alloc.pool[0].name };
  return {
    listen: { host: '0.0.0.0', port: o.port },
    models: [{ name: alloc.model, profile: alloc.model }],
    applications: [{ name: 'default', slo: alloc.qosMs / 1000, rps: alloc.chosen.upperBoundQps }],
    serving: {
      mode: 'cluster',
      qosMs: alloc.qosMs,
      baseType: base.name,
      instances: instances.map((i) => ({
        name: i.name,
        type: i.type,
        backend: { type: 'http', url: i.url },
      })),
    },
  };
}

/** Validate with the gateway's own parser; a failure means the input cannot be served as is. */
export function checkedServeConfig(target: string, config: ServeConfigInput): ServeConfigInput {
  try {
    parseServeConfig(config, 'gateway-config');
  } catch (e) {
    if (!isHetserveError(e)) throw e;
    throw new HetserveError(
      'E_TARGET_UNSUPPORTED',
      `${target}: the gateway cannot serve this input: ${e.message}`,
      e.details as Record<string, unknown>,
    );
  }
  return config;
}

/** ConfigMap + Deployment + Service of the gateway, validated. */
export function gatewayObjects(config: ServeConfigInput, o: ExportOptions): Record<string, unknown>[] {
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
      // The gateway holds the batch buffers and the live plan: one replica, replaced on failure.
      replicas: 1,
      strategy: { type: 'Recreate' },
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
              args: ['serve', '--config', `${GATEWAY_CONFIG_DIR}/config.json`],
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

function planUnits(plan: Plan, name: string): ExportUnit[] {
  return plan.groups.map((_, i) => ({ ref: `group-${i}`, name }));
}

export const gatewayExporter: Exporter = {
  target: 'gateway',
  description:
    'the hetserve gateway serving a plan itself: ConfigMap (gateway config) + Deployment + Service',
  accepts: 'plan',
  kubernetes: true,
  export(doc: ExportDocument, _kind: DocumentKind, o: ExportOptions) {
    const plan = doc as Plan;
    const config = checkedServeConfig('gateway', planServeConfig(plan, o));
    const objects = gatewayObjects(config, o);
    return {
      target: 'gateway',
      files: [{ path: 'gateway.yaml', content: toYaml(objects), objects }],
      units: planUnits(plan, `${o.name}-gateway`),
      warnings: [
        `gateway: the image must hold the model at ${MODEL_DIR}/${plan.model}.onnx (build FROM the hetserve image, or mount it)`,
      ],
    };
  },
};
