/**
 * The serverless profile's zod schemas, built on first use (`profileSchemas()`): constructing them
 * took ~8 ms of every cold `hetserve plan`, which reads a bundled profile (checked by the tests,
 * not at each start; see src/predict/profiles.ts). src/model/profile.ts exports them built.
 */
import { z } from 'zod';

/** Identity of a sample set's configuration (two sets may not share one). */
export function sampleSetKey(s: {
  kind: 'cpu' | 'gpu';
  vcpu?: number;
  gpuMemoryGb?: number;
  batch: number;
}): string {
  return s.kind === 'cpu'
    ? `cpu vcpu=${s.vcpu} batch=${s.batch}`
    : `gpu gpuMemoryGb=${s.gpuMemoryGb ?? 'whole'} batch=${s.batch}`;
}

function buildProfileSchemas() {
  /** [α, β, γ] of L(c) = α·exp(−c/β) + γ, seconds, c in vCPU (harmonybatch design §4.1). */
  const ExpCoefSchema = z.tuple([z.number().finite(), z.number().finite().positive(), z.number().finite()]);

  /** Measured batch latencies of one configuration, ms, each > 0 (at least one). */
  const LatencyMsSchema = z.array(z.number().finite().positive()).min(1);

  /**
   * The latencies measured for one function configuration (written by `hetserve profile` unless
   * `--no-samples`). The simulator draws batch latency from them instead of the fitted curves
   * (`hetserve simulate serverless --latency`); the planners keep using the curves.
   * - cpu: a CPU function with `vcpu` vCPU at batch size `batch`.
   * - gpu: a GPU function with `gpuMemoryGb` GB of GPU memory (absent: the whole GPU, i.e.
   *   `gpu.sliceUnits` GB) at batch size `batch`.
   */
  const LatencySampleSetSchema = z.discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('cpu'),
        vcpu: z.number().finite().positive(),
        batch: z.number().int().positive(),
        latencyMs: LatencyMsSchema,
      })
      .strict(),
    z
      .object({
        kind: z.literal('gpu'),
        gpuMemoryGb: z.number().int().positive().optional(),
        batch: z.number().int().positive(),
        latencyMs: LatencyMsSchema,
      })
      .strict(),
  ]);

  /**
   * Latency/memory model of one DNN on serverless CPU and GPU functions (HarmonyBatch §4).
   * Written by `hetserve profile`, read by the serverless planner, simulator and gateway.
   */
  const ServerlessProfileSchema = z
    .object({
      name: z.string().min(1),
      /** Where the numbers come from (attribution, profiler run, ...). */
      source: z.string().optional(),
      cpu: z
        .object({
          /** RAM need in MB: memMb[0]·b + memMb[1], rounded up to 64 MB. */
          memMb: z.tuple([z.number().finite().nonnegative(), z.number().finite().nonnegative()]),
          /** Average-latency coefficients, index b−1 (batch sizes 1..avg.length). */
          avg: z.array(ExpCoefSchema).min(1),
          /** Maximum-latency coefficients (a high percentile), same indexing. */
          max: z.array(ExpCoefSchema).min(1),
          /**
           * vCPU range [lo, hi] the curves were fitted on (written by `hetserve profile`); outside it
           * they are extrapolations. Optional: bundled paper profiles do not carry it.
           */
          fitRange: z.tuple([z.number().finite().positive(), z.number().finite().positive()]).optional(),
        })
        .strict()
        .optional(),
      gpu: z
        .object({
          /** Host RAM of a GPU function, MB. */
          hostMemMb: z.number().finite().nonnegative(),
          /** Entry i = largest batch that fits in i+1 GB of GPU memory (§4.3). */
          gpuMemThresholds: z.array(z.number().int().nonnegative()),
          /** ξ1: whole-GPU latency slope, s per sample. */
          xi1: z.number().finite(),
          /** ξ2: whole-GPU latency intercept, s. */
          xi2: z.number().finite(),
          /** τ: unit time slice, s. */
          sliceS: z.number().finite().positive(),
          /** M_max: GPU memory in GB = number of slice units. */
          sliceUnits: z.number().int().positive(),
          /** Share of L0 that is GPU-bound and time-sliced (a; default 1). */
          gpuShare: z.number().finite().nonnegative().default(1),
          /** Share of L0 that is CPU-bound and scales with min(vCPU, 1) (b; default 0). */
          cpuShare: z.number().finite().nonnegative().default(0),
        })
        .strict()
        .optional(),
      /** Measured latency samples per configuration (optional; see `LatencySampleSetSchema`). */
      samples: z.array(LatencySampleSetSchema).optional(),
    })
    .strict()
    .superRefine((p, ctx) => {
      const seen = new Set<string>();
      p.samples?.forEach((s, i) => {
        const key = sampleSetKey(s);
        if (seen.has(key))
          ctx.addIssue({ code: 'custom', message: `a second sample set for ${key}`, path: ['samples', i] });
        seen.add(key);
      });
    })
    .refine((p) => p.cpu !== undefined || p.gpu !== undefined, { message: 'needs a cpu or a gpu section' })
    .refine((p) => !p.cpu || p.cpu.avg.length === p.cpu.max.length, {
      message: 'cpu.avg and cpu.max must cover the same batch sizes',
      path: ['cpu', 'max'],
    });
  return { ExpCoefSchema, LatencySampleSetSchema, ServerlessProfileSchema };
}

let built: ReturnType<typeof buildProfileSchemas> | undefined;

/** The schemas of src/model/profile.ts, built once. */
export function profileSchemas(): ReturnType<typeof buildProfileSchemas> {
  return (built ??= buildProfileSchemas());
}
