/** Public API of the dispatch core (batch manager, query distributors, timer sources). */
export type * from './types.ts';
export type { Clock, TimerId, TimerSource } from './clock.ts';
export { RealTimeSource, VirtualTimeSource } from './timers.ts';
export type { RealTimeSourceOptions } from './timers.ts';

export { createBatchManager, MultiSloBatchManager } from './batch-manager.ts';
export { harmonyBatchPolicy, fixedDelayPolicy, edfPolicy } from './policies.ts';
export type { FixedDelayPolicyOptions, EdfPolicyOptions } from './policies.ts';
export {
  createKairosDistributor,
  createFcfsDistributor,
  createLeastFinishDistributor,
  createSizeThresholdDistributor,
  KairosDistributor,
  FcfsDistributor,
  LeastFinishDistributor,
  SizeThresholdDistributor,
  kairosCostMatrix,
  solveAssignment,
  solveWithMunkres,
  solveWithLinearSumAssignment,
  assignmentSolvers,
} from './distributor.ts';
export type {
  KairosDistributorOptions,
  KairosMatchInput,
  AssignmentSolver,
  AssignmentSolverName,
  LeastFinishDistributorOptions,
  SizeThresholdDistributorOptions,
} from './distributor.ts';
export { createDistributorLoop, DistributorLoop } from './loop.ts';
export type { DistributorLoopOptions } from './loop.ts';
