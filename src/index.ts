/**
 * Library entry point. Each area re-exports its public API here.
 */
export * from './model/errors.ts';
export * from './model/app.ts';
export * from './model/profile.ts';
export * from './model/prices.ts';
export * from './model/plan.ts';
export * from './model/cluster.ts';
export * from './onnx/synthetic-models.ts';
export {
  profileOnnx,
  profileHttp,
  buildCpuProfile,
  buildGpuProfile,
  buildClusterProfile,
  formatFitTable,
  summaryPoints,
  fitExponential,
  fitLinear,
  fitError,
  summarise as summariseLatencies,
  dropLargest,
  plotCpuFit,
  plotBatchCurve,
  type OnnxProfileOptions,
  type HttpProfileOptions,
  type SweepResult as ProfileSweep,
  type Measurement as ProfileMeasurement,
  type FitRow,
} from './profile/index.ts';
export {
  compactLatencies,
  cpuSampleSets,
  gpuSampleSets,
  sampleLookup,
  parseLatencyMode,
  LATENCY_MODES,
  DEFAULT_MAX_SAMPLES,
  type LatencyMode,
} from './profile/samples.ts';
export * from './predict/index.ts';
export * from './plan/serverless/index.ts';
export * from './plan/cluster/index.ts';
export {
  exportDocument,
  writeExport,
  getExporter,
  EXPORTERS,
  ExportOptionsSchema,
  type Exporter,
  type ExportFile,
  type ExportResult,
  type ExportUnit,
  type ExportOptionsInput,
} from './export/index.ts';
export * from './dispatch/index.ts';
export * from './serve/index.ts';
export * from './simulate/index.ts';
export * from './experiments/index.ts';
