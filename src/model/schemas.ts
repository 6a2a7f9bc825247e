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

/**
 * The JSON Schema `hetserve schema <name>` prints: what hetserve accepts as input, so every
 * document it writes validates against it (test/contract/json-schemas.test.ts, with ajv).
 * undefined for an unknown name.
 */
export async function documentJsonSchema(name: string): Promise<Record<string, unknown> | undefined> {
  const load = Object.hasOwn(SCHEMAS, name) ? SCHEMAS[name] : undefined;
  if (!load) return undefined;
  const { z } = await import('zod');
  return z.toJSONSchema(await load(), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
