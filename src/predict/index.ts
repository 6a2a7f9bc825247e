/**
 * Serverless performance/cost predictor (harmonybatch design §4–§5). Pure functions plus the
 * `Predictor`, which evaluates a candidate group configuration under one model, price table and
 * compatibility mode.
 */
export * from './latency.ts';
export * from './memory.ts';
export * from './batching.ts';
export * from './cost.ts';
export * from './profiles.ts';
export * from './prices.ts';
export * from './predictor.ts';
