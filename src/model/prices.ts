import { z } from 'zod';

/** How a function's duration is billed: continuously, rounded up to whole ms, or to whole seconds. */
export const BillingGranularitySchema = z.enum(['continuous', 'ms', 's']);
export type BillingGranularity = z.infer<typeof BillingGranularitySchema>;

/** Serverless unit prices (harmonybatch design §5). All amounts in `currency`. */
export const PriceTableSchema = z
  .object({
    name: z.string().min(1),
    currency: z.string().min(1),
    note: z.string().optional(),
    /** K1: per vCPU·second. */
    vcpuSecond: z.number().finite().nonnegative(),
    /** Per GB·second of host RAM (absent from the paper's Eq. 6, present in the prototype). */
    memGbSecond: z.number().finite().nonnegative(),
    /** K2: per GB·second of GPU memory. */
    gpuGbSecond: z.number().finite().nonnegative(),
    /** K3: per invocation. */
    invocation: z.number().finite().nonnegative(),
    billing: z.object({ cpu: BillingGranularitySchema, gpu: BillingGranularitySchema }).strict(),
  })
  .strict();
export type PriceTable = z.infer<typeof PriceTableSchema>;
