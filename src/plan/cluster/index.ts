/** Public API of the cluster planner (Kairos): see README section `allocate`. */
export {
  allocate,
  defaultPool,
  ec2Prices,
  parsePool,
  type AllocateOptions,
  type AllocationResult,
  type ReportedConfig,
} from './allocate.ts';
export {
  DEFAULT_QOS_MS,
  KAIROS_MODELS,
  LatencyTable,
  loadBundledClusterProfile,
  parseClusterProfile,
  type KairosModel,
  type LatencyTableOptions,
} from '../../predict/latency-table.ts';
export {
  createSizeSampler,
  deepRecSysSizes,
  meanSize,
  roundUpSize,
  sizeDistributionFromHistogram,
  type QuerySizeDistribution,
} from '../../workload/query-sizes.ts';
export type { ClusterOracle, InstanceCounts, OracleRequest, OracleResult } from './oracle.ts';
export {
  computeProfileQuantities,
  prototypeProfileQuantities,
  sizeLimit,
  type AuxQuantities,
  type ProfileQuantities,
  type QuantityOptions,
} from './quantities.ts';
export { compileBound, kairosBound, type Aggregation, type BoundFn } from './bound.ts';
export {
  rankConfigurations,
  type EnumerationPool,
  type RankedConfig,
  type RankOptions,
  type Ranking,
} from './enumerate.ts';
export {
  createLpEstimator,
  fluidBoundQps,
  lpData,
  lpEstimate,
  type LpData,
  type LpEstimate,
  type LpEstimator,
} from './lp.ts';
export { selectBySimilarity, type SimilarityCandidate, type SimilarityOptions } from './select.ts';
export { homogeneousBaseline, oracleBaseline, type HomogeneousBaseline } from './baselines.ts';
export { bayesianSearch, type BayesianSearchOptions, type BayesianSearchResult } from './bayesian.ts';
export { formatAllocation, describeMix } from './format.ts';
