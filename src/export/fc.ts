/**
 * Alibaba Cloud Function Compute 3.0: a Serverless Devs project (s.yaml, component fc3) with one
 * custom-container function per plan group, which is the platform HarmonyBatch was built on.
 * FC's rules: cpu 0.05..16 vCPU in steps of 0.05; memorySize 128..32768 MB in steps of 64; memory
 * (GB) between 1× and 4× the vCPU; gpuMemorySize a multiple of 1024 MB up to the GPU type's memory;
 * instanceConcurrency 1..200.
 */
import { z } from 'zod';
import type { Plan, PlanGroup } from '../model/plan.ts';
import {
  checkedDoc,
  fmt,
  groupEnv,
  groupName,
  groupRef,
  requestTimeoutS,
  roundUp,
  toYaml,
} from './common.ts';
import { HetserveError } from '../model/errors.ts';
import { routeShares, routesFile, type GatewayRoute } from './routes.ts';
import type { ExportOptions } from './options.ts';
import type { Exporter, ExportUnit } from './types.ts';

export const FC = {
  cpuStep: 0.05,
  minCpu: 0.05,
  maxCpu: 16,
  memStepMb: 64,
  minMemMb: 128,
  maxMemMb: 32768,
  /** memory GB per vCPU, inclusive bounds. */
  minRatio: 1,
  maxRatio: 4,
  gpuStepMb: 1024,
  maxInstanceConcurrency: 200,
  maxTimeoutS: 86400,
} as const;

/** GPU memory of one card per FC GPU type, MB. */
export const FC_GPU_MEMORY_MB: Record<string, number> = {
  'fc.gpu.tesla.1': 16384,
  'fc.gpu.ampere.1': 24576,
  'fc.gpu.ada.1': 49152,
};

/** GPU types FC offers that the fc3 component's schema (devsapp/fc3 src/schema.json) does not list. */
export const FC3_UNLISTED_GPU_TYPES: readonly string[] = ['fc.gpu.ada.1'];

/**
 * cpu and memorySize obeying FC's steps and 1:1..1:4 ratio that give at least the planned vCPU
 * and RAM; `notes` say what had to be raised or capped.
 */
export function fcResources(
  vcpu: number,
  memoryGb: number,
): { cpu: number; memoryMb: number; notes: string[] } {
  const notes: string[] = [];
  let cpu = Math.max(FC.minCpu, roundUp(vcpu, FC.cpuStep));
  if (cpu > FC.maxCpu) {
    notes.push(
      `vCPU ${fmt(vcpu)} above FC's maximum ${FC.maxCpu}; capped, so batches run slower than planned`,
    );
    cpu = FC.maxCpu;
  } else if (cpu - vcpu > 1e-6) {
    notes.push(`vCPU ${fmt(vcpu)} rounded up to ${cpu} (FC steps of ${FC.cpuStep})`);
  }
  let memoryMb = roundUp(Math.max(memoryGb * 1024, cpu * 1024 * FC.minRatio, FC.minMemMb), FC.memStepMb);
  if (memoryMb > FC.maxMemMb) {
    notes.push(`memory ${fmt(memoryGb)} GB above FC's maximum; capped at ${FC.maxMemMb} MB`);
    memoryMb = FC.maxMemMb;
  }
  if (memoryMb > cpu * 1024 * FC.maxRatio) {
    const raised = roundUp(memoryMb / 1024 / FC.maxRatio, FC.cpuStep);
    notes.push(`vCPU raised from ${cpu} to ${raised} to keep FC's memory:vCPU ratio at most ${FC.maxRatio}`);
    cpu = raised;
  }
  return { cpu, memoryMb, notes };
}

const FunctionPropsSchema = z
  .object({
    region: z.string(),
    functionName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/),
    description: z.string(),
    runtime: z.literal('custom-container'),
    cpu: z
      .number()
      .min(FC.minCpu)
      .max(FC.maxCpu)
      .refine((c) => Math.abs(c / FC.cpuStep - Math.round(c / FC.cpuStep)) < 1e-6, 'not a multiple of 0.05'),
    memorySize: z.number().int().min(FC.minMemMb).max(FC.maxMemMb).multipleOf(FC.memStepMb),
    diskSize: z.literal(512),
    timeout: z.number().int().min(1).max(FC.maxTimeoutS),
    instanceConcurrency: z.number().int().min(1).max(FC.maxInstanceConcurrency),
    customContainerConfig: z.object({ image: z.string().min(1), port: z.number().int() }).strict(),
    environmentVariables: z.record(z.string(), z.string()),
    /** Instances FC keeps warm (--min-replicas). */
    scalingConfig: z.object({ minInstances: z.number().int().positive() }).strict().optional(),
    gpuConfig: z
      .object({ gpuMemorySize: z.number().int().positive().multipleOf(FC.gpuStepMb), gpuType: z.string() })
      .strict()
      .optional(),
  })
  .strict()
  .refine(
    (p) =>
      p.memorySize / 1024 >= p.cpu * FC.minRatio - 1e-9 && p.memorySize / 1024 <= p.cpu * FC.maxRatio + 1e-9,
    'memory:vCPU ratio outside 1..4 GB per vCPU',
  )
  .refine(
    (p) => !p.gpuConfig || p.gpuConfig.gpuMemorySize <= (FC_GPU_MEMORY_MB[p.gpuConfig.gpuType] ?? 0),
    'gpuMemorySize above the GPU type',
  );

/** The fields of a Serverless Devs 3.x project this exporter emits. */
export const FcProjectSchema = z
  .object({
    edition: z.literal('3.0.0'),
    name: z.string().min(1),
    access: z.string(),
    resources: z.record(
      z.string(),
      z.object({ component: z.literal('fc3'), props: FunctionPropsSchema }).strict(),
    ),
  })
  .strict();

function fcFunction(plan: Plan, g: PlanGroup, i: number, o: ExportOptions, warnings: string[]) {
  const ref = groupRef(i);
  const { cpu, memoryMb, notes } = fcResources(g.function.vcpu, g.function.memoryGb);
  for (const n of notes) warnings.push(`${ref}: ${n}`);
  const f = g.function;
  return {
    component: 'fc3',
    props: {
      region: o.region,
      functionName: groupName(o, i),
      description: `hetserve ${plan.model} ${ref}: apps ${g.apps.join(', ')}, batch ${g.batchSize}`,
      runtime: 'custom-container',
      cpu,
      memorySize: memoryMb,
      diskSize: 512,
      timeout: requestTimeoutS(plan, g),
      instanceConcurrency: o.batching === 'function' ? g.batchSize : 1,
      customContainerConfig: { image: o.image, port: o.port },
      environmentVariables: {
        ...groupEnv(plan, g, i),
        HETSERVE_BATCHER: o.batching === 'function' ? 'in-function' : 'gateway',
      },
      ...(o.minReplicas > 0 ? { scalingConfig: { minInstances: o.minReplicas } } : {}),
      ...(f.kind === 'gpu'
        ? { gpuConfig: { gpuMemorySize: f.gpuMemoryGb * 1024, gpuType: o.fcGpuType } }
        : {}),
    },
  };
}

export const fcExporter: Exporter = {
  target: 'fc',
  description: 'Alibaba Function Compute 3.0 (Serverless Devs s.yaml): one function per plan group',
  accepts: 'plan',
  kubernetes: false,
  export(doc, _kind, o) {
    const plan = doc as Plan;
    const warnings: string[] = [];
    const units: ExportUnit[] = [];
    const resources: Record<string, unknown> = {};
    const backends: GatewayRoute[] = [];
    const gpuMb = FC_GPU_MEMORY_MB[o.fcGpuType];
    const split = plan.groups.findIndex((_, i) => routeShares(plan, i) !== undefined);
    if (split >= 0 && o.batching === 'function') {
      throw new HetserveError(
        'E_TARGET_UNSUPPORTED',
        `fc --batching function: group ${split} shares an app with another group (a split app, appRps); without the gateway in front nothing routes that app's requests across its functions in proportion`,
        {
          field: 'options.batching',
          value: o.batching,
          hint: 'use --batching gateway (routes.json carries the weights)',
        },
      );
    }
    if (FC3_UNLISTED_GPU_TYPES.includes(o.fcGpuType) && plan.groups.some((g) => g.function.kind === 'gpu'))
      warnings.push(
        `fc: gpuType ${o.fcGpuType} is not in fc3's published schema (it lists fc.gpu.ampere.1 and fc.gpu.tesla.1, gpuMemorySize up to 24576 MB); \`s deploy\` may refuse it`,
      );
    plan.groups.forEach((g, i) => {
      const ref = groupRef(i);
      const f = g.function;
      if (f.kind === 'gpu' && f.gpuMemoryGb * 1024 > gpuMb) {
        units.push({
          ref,
          unsupported: `needs ${f.gpuMemoryGb} GB of GPU memory; ${o.fcGpuType} has ${gpuMb / 1024} GB`,
        });
        return;
      }
      if (o.batching === 'function' && g.batchSize > FC.maxInstanceConcurrency) {
        units.push({
          ref,
          unsupported: `batch ${g.batchSize} above FC's instanceConcurrency limit ${FC.maxInstanceConcurrency}; use --batching gateway`,
        });
        return;
      }
      resources[`g${i}`] = fcFunction(plan, g, i, o, warnings);
      units.push({ ref, name: groupName(o, i) });
      backends.push({
        ref,
        apps: g.apps,
        batchSize: g.batchSize,
        engine: 'fc',
        function: groupName(o, i),
        region: o.region,
        ...(routeShares(plan, i) ? { appRps: routeShares(plan, i) } : {}),
      });
    });
    const project = checkedDoc('fc', FcProjectSchema, {
      edition: '3.0.0',
      name: o.name,
      access: 'default',
      resources,
    });
    const files = [{ path: 's.yaml', content: toYaml([project]) }];
    if (o.batching === 'gateway') files.push(routesFile(plan, backends));
    return { target: 'fc', files, units, warnings };
  },
};
