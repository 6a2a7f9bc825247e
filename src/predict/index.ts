/**
 * Serverless performance/cost predictor (harmonybatch design §4–§5). Pure functions plus the
 * `Predictor`, which evaluates a candidate group configuration under one model, price table and
 * compatibility mode. The cluster latency tables (measured (instance type, query size) latencies)
 * are here too: the cluster planner, the simulator and the gateway read them.
 */
export * from './latency.ts';
export * from './memory.ts';
export * from './batching.ts';
export * from './cost.ts';
export * from './profiles.ts';
export * from './prices.ts';
export * from './predictor.ts';
export * from './latency-table.ts';
