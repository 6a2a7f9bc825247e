/** Public API of the dispatch core (batch manager, query distributors, timer sources). */
export type * from './types.ts';
export type { Clock, TimerId, TimerSource } from './clock.ts';
export { RealTimeSource, VirtualTimeSource } from './timers.ts';
export type { RealTimeSourceOptions } from './timers.ts';

export { createBatchManager, MultiSloBatchManager } from './batch-manager.ts';
export { harmonyBatchPolicy, fixedDelayPolicy, edfPolicy } from './policies.ts';
export type { FixedDelayPolicyOptions, EdfPolicyOptions } from './policies.ts';

// Implementations (landing next, names fixed now):
//   new BatchManagerImpl / createBatchManager(options: BatchManagerOptions): BatchManager
//   harmonyBatchPolicy (const), fixedDelayPolicy({ maxDelay? }), edfPolicy({ guard? })
//   createKairosDistributor(options), createFcfsDistributor(options),
//   createLeastFinishDistributor(options), createSizeThresholdDistributor(options)
