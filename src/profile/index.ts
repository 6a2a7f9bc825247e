/**
 * Profiler public API: runners (ONNX, HTTP) produce a SweepResult; builders turn it into the
 * profile documents the planners read (serverless CPU/GPU, cluster table) with a fit-error table;
 * plots draw measured points against the fitted curves. Heavy dependencies (onnxruntime, undici,
 * Plot) load on first use.
 */
export type { Configuration, Measurement, SweepResult, ProgressFn } from './measure.ts';
export { profileOnnx, quotaLatency, readModelFile, inputSpecs, makeTensor } from './onnx-runner.ts';
export type { OnnxProfileOptions, InputSpec } from './onnx-runner.ts';
export { profileHttp, requestBody, endpointName } from './http-runner.ts';
export type { HttpProfileOptions } from './http-runner.ts';
export {
  buildCpuProfile,
  buildGpuProfile,
  buildClusterProfile,
  formatFitTable,
  summaryPoints,
  DEFAULT_PERCENTILE,
} from './build.ts';
export type {
  FitRow,
  SummaryPoint,
  CpuProfileOptions,
  GpuProfileOptions,
  ClusterProfileOptions,
} from './build.ts';
export { fitExponential, fitLinear, expLatency, fitError, MIN_EXP_POINTS, MIN_LINEAR_POINTS } from './fit.ts';
export type { ExpCoef, Point, FitError, LinearFit, FitExpOptions } from './fit.ts';
export { summarise, dropLargest } from './stats.ts';
export {
  compactLatencies,
  cpuSampleSets,
  gpuSampleSets,
  sampleLookup,
  parseLatencyMode,
  LATENCY_MODES,
  DEFAULT_MAX_SAMPLES,
} from './samples.ts';
export type { LatencyMode, SampleSetOptions, AverageLatency } from './samples.ts';
export type { SampleSummary } from './stats.ts';
export { plotCpuFit, plotBatchCurve } from './plot.ts';
export * from '../onnx/synthetic-models.ts';
