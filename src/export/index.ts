/** Public API of the exporters. */
export type {
  Exporter,
  ExportFile,
  ExportResult,
  ExportUnit,
  ExportDocument,
  DocumentKind,
} from './types.ts';
export {
  ExportOptionsSchema,
  parseExportOptions,
  type ExportOptions,
  type ExportOptionsInput,
} from './options.ts';
export {
  EXPORTERS,
  getExporter,
  exportDocument,
  parseDocument,
  parsePlan,
  parseAllocation,
} from './registry.ts';
export { writeExport } from './write.ts';
export { lambdaMemoryMb, LAMBDA_MB_PER_VCPU, LAMBDA_MIN_MB, LAMBDA_MAX_MB } from './lambda.ts';
export { fcResources, FC, FC_GPU_MEMORY_MB } from './fc.ts';
export {
  gatewayObjects,
  planServeConfig,
  allocationServeConfig,
  checkedServeConfig,
  type ClusterInstance,
} from './gateway.ts';
export type { GatewayRoute, GatewayRoutes } from './routes.ts';
export { applyExport, type ApplyOptions, type AppliedObject } from './apply.ts';
