/** Public API of the simulator (virtual-time replay of the real planners and dispatch policies). */
export { Rng, DiscreteSampler } from '../workload/rng.ts';
export { runLoop, type ArrivalStream } from './engine.ts';
export {
  SegmentedPoisson,
  poissonArrivals,
  traceArrivals,
  mmppArrivals,
  parseTraceCsv,
  readTraceFile,
  readTraces,
  sizeSampler,
  type GapMode,
  type MmppState,
  type RateSegment,
  type SizeSampler,
  type StreamOptions,
} from '../workload/arrivals.ts';
export { LatencyHistogram, AppMetrics, BatchSizeHistogram, type AppSummary } from './metrics.ts';
export {
  simulateServerless,
  routePlan,
  checkPlanMatchesApps,
  type ServerlessModel,
  type ServerlessSimOptions,
  type ServerlessSimResult,
  type SegmentStats,
  type GroupBatchStats,
  type ColdStartOptions,
  type BatchManagerFactory,
  type SampleDraw,
  type LatencySource,
} from './serverless.ts';
export { predictorModel } from './models.ts';
export {
  runTraceScenario,
  runConstantScenario,
  type TraceScenario,
  type ConstantScenario,
  type ScenarioResult,
  type PlanFor,
} from './scenarios.ts';
export {
  simulateCluster,
  findAllowableThroughput,
  fluidCapacityQps,
  expandCounts,
  type ClusterSimOptions,
  type ClusterSimResult,
  type AllowableOptions,
  type AllowableResult,
  type DistributorFactory,
} from './cluster.ts';
export {
  distributorFactory,
  parseDistributorName,
  DISTRIBUTOR_NAMES,
  type DistributorChoice,
  type DistributorName,
} from './distributors.ts';
export { SimulationOracle, createSimulationOracle, type SimulationOracleOptions } from './oracle.ts';
export {
  allocateVerified,
  verificationOracle,
  DEFAULT_VERIFICATION,
  type VerificationOptions,
} from './allocate-verified.ts';
