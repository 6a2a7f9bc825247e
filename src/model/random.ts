/**
 * mulberry32: a tiny seeded PRNG, uniform in [0, 1). Used wherever hetserve needs repeatable
 * draws but not statistical quality (query sizes, generated inputs and weights, replay latencies);
 * the simulator's own streams use xoshiro128** (src/workload/rng.ts).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
