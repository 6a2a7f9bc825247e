/**
 * `hetserve`: the domain layer — coded errors, the zod schemas and types of applications,
 * profiles, prices, plans, cluster allocations and the gateway config. Each area has its own
 * entry point (package.json `exports`): `hetserve/predict`, `hetserve/plan`, `hetserve/dispatch`,
 * `hetserve/workload`, `hetserve/simulate`, `hetserve/experiments`, `hetserve/profile`,
 * `hetserve/serve`, `hetserve/export`.
 */
export * from './model/errors.ts';
export * from './model/app.ts';
export * from './model/profile.ts';
export * from './model/prices.ts';
export * from './model/plan.ts';
export * from './model/cluster.ts';
export {
  ServeConfigSchema,
  parseServeConfig,
  parseServeConfigText,
  type ServeConfig,
  type ServeConfigInput,
  type BackendConfig,
  type ModelConfig,
  type TensorSpec,
} from './model/serve-config.ts';
export { parseWith } from './model/validate.ts';
