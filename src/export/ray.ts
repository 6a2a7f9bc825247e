/**
 * Ray Serve config file (`serve deploy serve.yaml`): one application per plan group, routed at
 * /<group name>, whose deployment autoscales on ongoing requests. A GPU group asks for the
 * fraction of a GPU its planned GPU memory is (num_gpus = m / gpuTotalMemoryGb). user_config
 * carries the batch settings for the deployment's @serve.batch (max_batch_size and
 * batch_wait_timeout_s) plus the per-app timeouts and SLOs.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Plan } from '../model/plan.ts';
import {
  checkedDoc,
  fmt,
  groupName,
  groupRef,
  groupSlos,
  minTimeout,
  replicaBounds,
  toYaml,
} from './common.ts';
import type { Exporter, ExportUnit } from './types.ts';

/** Name of the deployment class in the Ray application the import path builds. */
export const RAY_DEPLOYMENT = 'HetserveModel';
/** The import path of the Serve application hetserve ships (deploy/ray/hetserve_ray.py). */
export const RAY_DEFAULT_IMPORT_PATH = 'hetserve_ray:app';
export const RAY_MODULE_FILE = 'hetserve_ray.py';

/** Source of the shipped Ray Serve application. */
export function rayModuleSource(): string {
  return readFileSync(new URL(`../../deploy/ray/${RAY_MODULE_FILE}`, import.meta.url), 'utf8');
}

const DeploymentSchema = z
  .object({
    name: z.string().min(1),
    max_ongoing_requests: z.number().int().positive(),
    autoscaling_config: z
      .object({
        min_replicas: z.number().int().nonnegative(),
        max_replicas: z.number().int().positive(),
        target_ongoing_requests: z.number().positive(),
      })
      .strict()
      .refine((a) => a.max_replicas >= a.min_replicas, 'max_replicas < min_replicas'),
    ray_actor_options: z
      .object({
        num_cpus: z.number().positive(),
        num_gpus: z.number().gt(0).max(1).optional(),
        memory: z.number().int().positive(),
      })
      .strict(),
    user_config: z
      .object({
        max_batch_size: z.number().int().positive(),
        batch_wait_timeout_s: z.number().nonnegative(),
        timeouts_s: z.record(z.string(), z.number().nonnegative()),
        slos_s: z.record(z.string(), z.number()),
        apps: z.array(z.string()).min(1),
      })
      .strict(),
  })
  .strict()
  .refine((d) => d.max_ongoing_requests >= d.user_config.max_batch_size, 'max_ongoing_requests < batch size');

/** The fields of a Ray Serve config file this exporter emits. */
export const RayServeConfigSchema = z
  .object({
    proxy_location: z.enum(['EveryNode', 'HeadOnly', 'Disabled']),
    http_options: z.object({ host: z.string(), port: z.number().int() }).strict(),
    applications: z.array(
      z
        .object({
          name: z.string().min(1),
          route_prefix: z.string().startsWith('/'),
          import_path: z.string().regex(/^[\w.]+:[\w.]+$/, 'module:attribute'),
          runtime_env: z.object({ env_vars: z.record(z.string(), z.string()) }).strict(),
          deployments: z.array(DeploymentSchema).length(1),
        })
        .strict(),
    ),
  })
  .strict();

export const rayExporter: Exporter = {
  target: 'ray',
  description: 'Ray Serve config YAML: one application per plan group, autoscaled, @serve.batch settings',
  accepts: 'plan',
  splitApps:
    'each group is its own Ray Serve application under its own route prefix, and Ray Serve has no weighted route across applications',
  kubernetes: false,
  export(doc, _kind, o) {
    const plan = doc as Plan;
    const warnings: string[] = [];
    const units: ExportUnit[] = [];
    const applications = plan.groups.map((g, i) => {
      const ref = groupRef(i);
      const name = groupName(o, i);
      units.push({ ref, name });
      const f = g.function;
      const { min, max } = replicaBounds(g, o);
      const tMin = minTimeout(g);
      if (g.batchSize > 1 && new Set(g.apps.map((a) => g.timeouts[a] ?? 0)).size > 1) {
        warnings.push(
          `${ref}: @serve.batch has one wait per batch; batch_wait_timeout_s is the smallest app timeout ` +
            `(${fmt(tMin)} s) and the per-app timeouts are in user_config for a custom batcher`,
        );
      }
      let numGpus: number | undefined;
      if (f.kind === 'gpu') {
        numGpus = Math.min(1, Number((f.gpuMemoryGb / o.gpuTotalMemoryGb).toFixed(6)));
        if (f.gpuMemoryGb > o.gpuTotalMemoryGb) {
          warnings.push(
            `${ref}: needs ${f.gpuMemoryGb} GB of GPU memory, more than one ${o.gpuTotalMemoryGb} GB GPU; asks for 1 GPU`,
          );
        }
        warnings.push(
          `${ref}: Ray's fractional num_gpus packs actors on a GPU but does not time-slice it as the plan's GPU share assumes`,
        );
      }
      return {
        name,
        route_prefix: `/${name}`,
        import_path: o.rayImportPath,
        runtime_env: {
          env_vars: {
            HETSERVE_MODEL: plan.model,
            HETSERVE_GROUP: String(i),
            // @serve.batch's settings before the first reconfigure (user_config repeats them).
            HETSERVE_BATCH_SIZE: String(g.batchSize),
            HETSERVE_BATCH_WAIT_S: String(tMin),
          },
        },
        deployments: [
          {
            name: RAY_DEPLOYMENT,
            // Room for one batch running and the next one filling.
            max_ongoing_requests: 2 * g.batchSize,
            autoscaling_config: {
              min_replicas: min,
              max_replicas: max,
              target_ongoing_requests: g.batchSize,
            },
            ray_actor_options: {
              num_cpus: f.vcpu,
              ...(numGpus !== undefined ? { num_gpus: numGpus } : {}),
              memory: Math.ceil(f.memoryGb * 1024 ** 3),
            },
            user_config: {
              max_batch_size: g.batchSize,
              batch_wait_timeout_s: tMin,
              timeouts_s: Object.fromEntries(g.apps.map((a) => [a, g.timeouts[a] ?? 0])),
              slos_s: groupSlos(plan, g),
              apps: g.apps,
            },
          },
        ],
      };
    });
    const config = checkedDoc('ray', RayServeConfigSchema, {
      proxy_location: 'EveryNode',
      http_options: { host: '0.0.0.0', port: o.port },
      applications,
    });
    const files = [{ path: 'serve.yaml', content: toYaml([config]) }];
    // The application the default import path names travels with the config (`serve run
    // serve.yaml` from the output directory imports it from there).
    if (o.rayImportPath === RAY_DEFAULT_IMPORT_PATH)
      files.push({ path: RAY_MODULE_FILE, content: rayModuleSource() });
    else
      warnings.push(
        `ray: import path ${o.rayImportPath} must name a Serve application on the workers' PYTHONPATH (deploy/ray/${RAY_MODULE_FILE} is one)`,
      );
    return { target: 'ray', files, units, warnings };
  },
};
