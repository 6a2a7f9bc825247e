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
/** An app list: names are unique (a second app of the same name would shadow the first). */
export const AppListSchema = z.array(AppSchema).superRefine((apps, ctx) => {
  const seen = new Set<string>();
  apps.forEach((a, i) => {
    if (seen.has(a.name))
      ctx.addIssue({
        code: 'custom',
        message: `duplicate application name ${JSON.stringify(a.name)}`,
        path: [i, 'name'],
      });
    seen.add(a.name);
  });
});
