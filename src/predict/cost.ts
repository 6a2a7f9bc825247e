/** Cost model (harmonybatch design §5): per-request cost of one batch on one function. */
import type { BillingGranularity, PriceTable } from '../model/prices.ts';

/** A billed duration: continuous, or rounded up to whole ms / whole seconds. */
export function billedDuration(seconds: number, granularity: BillingGranularity): number {
  switch (granularity) {
    case 'continuous':
      return seconds;
    case 'ms':
      // 1e-9 guards against 0.1·1000 = 100.00000000000001-style rounding adding a whole ms.
      return Math.ceil(seconds * 1000 - 1e-9) / 1000;
    case 's':
      return Math.ceil(seconds);
  }
}

/** Resources a function is billed for. `gpuMemoryGb` is 0 for CPU functions. */
export interface BilledResources {
  kind: 'cpu' | 'gpu';
  vcpu: number;
  memoryGb: number;
  gpuMemoryGb: number;
}

/** Price per second of a function's resources: c·K1 + RAM·K_mem + m·K2. */
export function pricePerSecond(prices: PriceTable, r: BilledResources): number {
  return r.vcpu * prices.vcpuSecond + r.memoryGb * prices.memGbSecond + r.gpuMemoryGb * prices.gpuGbSecond;
}

/** Cost of one invocation that runs `durationS` (billing granularity of the function's kind applied). */
export function invocationCost(prices: PriceTable, r: BilledResources, durationS: number): number {
  return prices.invocation + pricePerSecond(prices, r) * billedDuration(durationS, prices.billing[r.kind]);
}

/** Cost per request of a batch of `batch` requests that runs `durationS`: invocation cost / batch. */
export function costPerRequest(
  prices: PriceTable,
  r: BilledResources,
  durationS: number,
  batch: number,
): number {
  return invocationCost(prices, r, durationS) / batch;
}

/**
 * Expected cost per request when batch sizes follow `dist` (dist[i] = P(size i+1)) and a batch of
 * k requests runs `durationOf(k)`: E[cost of a batch] / E[batch size] (request-weighted, unlike the
 * prototype's batch-weighted `cost_with_distribution`).
 */
export function expectedCostPerRequest(
  prices: PriceTable,
  r: BilledResources,
  dist: readonly number[],
  durationOf: (k: number) => number,
): number {
  let cost = 0;
  let size = 0;
  for (let i = 0; i < dist.length; i++) {
    if (dist[i] === 0) continue;
    cost += dist[i] * invocationCost(prices, r, durationOf(i + 1));
    size += dist[i] * (i + 1);
  }
  return cost / size;
}

/** The prototype's `cost_with_distribution`: Σ p_i · cost-per-request(i+1) (batch-weighted). */
export function batchWeightedCostPerRequest(
  prices: PriceTable,
  r: BilledResources,
  dist: readonly number[],
  durationOf: (k: number) => number,
): number {
  let cost = 0;
  for (let i = 0; i < dist.length; i++) {
    if (dist[i] === 0) continue;
    cost += dist[i] * costPerRequest(prices, r, durationOf(i + 1), i + 1);
  }
  return cost;
}
