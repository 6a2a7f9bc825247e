/** `hetserve/plan`: the serverless planners (HarmonyBatch and baselines) and the cluster planner (Kairos). */
export * from './serverless/index.ts';
export * from './cluster/index.ts';
