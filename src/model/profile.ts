import { z } from 'zod';

/** [α, β, γ] of L(c) = α·exp(−c/β) + γ, seconds, c in vCPU (harmonybatch design §4.1). */
export const ExpCoefSchema = z.tuple([
  z.number().finite(),
  z.number().finite().positive(),
  z.number().finite(),
]);

/**
 * Latency/memory model of one DNN on serverless CPU and GPU functions (HarmonyBatch §4).
 * Written by `hetserve profile`, read by the serverless planner, simulator and gateway.
 */
export const ServerlessProfileSchema = z
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
  })
  .strict()
  .refine((p) => p.cpu !== undefined || p.gpu !== undefined, { message: 'needs a cpu or a gpu section' })
  .refine((p) => !p.cpu || p.cpu.avg.length === p.cpu.max.length, {
    message: 'cpu.avg and cpu.max must cover the same batch sizes',
    path: ['cpu', 'max'],
  });
export type ServerlessProfile = z.output<typeof ServerlessProfileSchema>;
export type ServerlessProfileInput = z.input<typeof ServerlessProfileSchema>;
