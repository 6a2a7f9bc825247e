/**
 * Named JSON Schemas published by `hetserve schema <name>`. Each area registers its document
 * schemas here (lazily, so the CLI stays fast).
 */
import type { z } from 'zod';

export const SCHEMAS: Record<string, () => Promise<z.ZodType>> = {
  apps: async () => (await import('./app.ts')).AppListSchema,
  plan: async () => (await import('./plan.ts')).PlanSchema,
  profile: async () => (await import('./profile.ts')).ServerlessProfileSchema,
  'cluster-profile': async () => (await import('./cluster.ts')).ClusterProfileSchema,
  pool: async () => (await import('./cluster.ts')).InstancePoolSchema,
  allocation: async () => (await import('./cluster.ts')).AllocationSchema,
  prices: async () => (await import('./prices.ts')).PriceTableSchema,
  config: async () => (await import('./serve-config.ts')).ServeConfigSchema,
};
