/** `hetserve/workload`: seeded random streams, arrival processes, traces and query-size mixes. */
export { Rng, DiscreteSampler } from './rng.ts';
export * from './arrivals.ts';
export * from './query-sizes.ts';
