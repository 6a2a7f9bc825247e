import { z } from 'zod';

/** One inference application sharing the model: its latency SLO (seconds) and Poisson rate (req/s). */
export const AppSchema = z
  .object({
    name: z.string().min(1, 'must be a non-empty string'),
    slo: z.number().finite().positive('must be > 0 seconds'),
    rps: z.number().finite().nonnegative('must be >= 0 requests/s'),
  })
  .strict();
export type App = z.infer<typeof AppSchema>;
export const AppListSchema = z.array(AppSchema);
