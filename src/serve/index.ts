/** Public API of the serving gateway. */
export { Gateway, type GatewayOptions } from './gateway.ts';
export {
  ServeConfigSchema,
  parseServeConfig,
  parseServeConfigText,
  type ServeConfig,
  type ServeConfigInput,
  type BackendConfig,
  type ModelConfig,
  type TensorSpec,
} from '../model/serve-config.ts';
export { defaultServeConfig, DEMO_MLP, DEMO_PROFILE_PATH } from './defaults.ts';
export { ServerlessService, type PlanFn } from './service.ts';
export type { Answer, ModelService, PlannedService, ServiceSnapshot, Timing } from './model-service.ts';
export { ClusterService } from './cluster.ts';
export { createBackend, ReplayBackend, HttpBackend, OnnxBackend } from './backends/index.ts';
export type { Backend, BackendBatch, BackendContext } from './backends/types.ts';
export {
  runLoad,
  formatLoadReport,
  type LoadOptions,
  type LoadReport,
  type AppLoadReport,
  type LoadApp,
} from './load.ts';
export {
  decodeInferRequest,
  encodeInferResponse,
  assembleBatch,
  splitBatch,
  type ModelIO,
} from './tensors.ts';
export type { Tensor as ServeTensor } from './tensors.ts';
