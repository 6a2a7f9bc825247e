/**
 * Batching under Poisson arrivals: the batch-size distribution with a timeout, the equivalent
 * timeout of several per-app timeouts, and the expected waiting time (harmonybatch design §4.4–§4.5).
 */

export type Compat = 'paper' | 'prototype';

/**
 * P(batch size = i+1), i = 0..B−1, for Poisson arrivals at `rate` into a buffer of `maxBatch` whose
 * first arrival starts a `timeout`: a Poisson(rate·timeout) count truncated at B−1 extra arrivals,
 * with the tail lumped into the full batch (closed form of the prototype's CTMC).
 */
export function batchSizeDistribution(rate: number, timeout: number, maxBatch: number): number[] {
  const p = new Array<number>(maxBatch);
  const mu = Math.max(0, rate * timeout);
  let term = Math.exp(-mu);
  let sum = 0;
  for (let i = 0; i < maxBatch - 1; i++) {
    p[i] = term;
    sum += term;
    term = (term * mu) / (i + 1);
  }
  p[maxBatch - 1] = Math.max(0, 1 - sum);
  return p;
}

/** Request-weighted distribution: the batch size a random request lands in (p'_i ∝ p_i·(i+1)). */
export function requestWeighted(p: readonly number[]): number[] {
  let z = 0;
  for (let i = 0; i < p.length; i++) z += p[i] * (i + 1);
  return p.map((v, i) => (v * (i + 1)) / z);
}

/**
 * Expected wait from a batch's first arrival to its dispatch, as the prototype reports it:
 * T·(1 − p'_full) + min(T, (B−1)/rate)·p'_full (0 for B = 1).
 */
export function expectedBatchWait(rate: number, timeout: number, maxBatch: number): number {
  if (maxBatch <= 1) return 0;
  const pw = requestWeighted(batchSizeDistribution(rate, timeout, maxBatch));
  const full = pw[maxBatch - 1];
  return timeout * (1 - full) + Math.min(timeout, (maxBatch - 1) / rate) * full;
}

/** Paper Eq. 5 for two apps with T1 ≤ T2: T1 + η2·(1 − e^{−r1(T2−T1)})/r1. */
export function equivalentTimeoutPair(t1: number, r1: number, t2: number, r2: number): number {
  const total = r1 + r2;
  if (total <= 0) return t1;
  const d = t2 - t1;
  // (1 − e^{−r1·d})/r1 → d as r1 → 0 (no app-1 traffic can cut app 2's wait short).
  const cut = r1 > 1e-12 ? -Math.expm1(-r1 * d) / r1 : d;
  return t1 + (r2 / total) * cut;
}

/** The prototype's two-app formula (operator-precedence bug kept for compat): T1 + η2·e^{−r1·T2 − T1}. */
export function equivalentTimeoutPairPrototype(t1: number, r1: number, t2: number, r2: number): number {
  const total = r1 + r2;
  if (total <= 0) return t1;
  return t1 + (r2 / total) * Math.exp(-r1 * t2 - t1);
}

// Scratch buffers (typed, grown on demand): planners call this in their inner loops.
let scratchT = new Float64Array(16);
let scratchR = new Float64Array(16);

/**
 * Equivalent timeout T^X of several per-app timeouts (design §4.5): merge the two smallest
 * timeouts into a pseudo-app with rate r1 + r2, repeat. 'paper' uses Eq. 5 (its result never
 * exceeds the next timeout, so one ascending pass suffices); 'prototype' uses the prototype's
 * formula and re-sorts after every merge, as it does.
 */
export function equivalentTimeout(
  timeouts: ArrayLike<number>,
  rates: ArrayLike<number>,
  compat: Compat = 'paper',
): number {
  const n = timeouts.length;
  if (n === 0) return 0;
  if (n === 1) return timeouts[0];
  if (scratchT.length < n) {
    scratchT = new Float64Array(2 * n);
    scratchR = new Float64Array(2 * n);
  }
  const t = scratchT;
  const r = scratchR;
  // Insertion sort by timeout (stable; groups are small and usually already sorted).
  for (let i = 0; i < n; i++) {
    let j = i;
    while (j > 0 && t[j - 1] > timeouts[i]) {
      t[j] = t[j - 1];
      r[j] = r[j - 1];
      j--;
    }
    t[j] = timeouts[i];
    r[j] = rates[i];
  }
  if (compat === 'paper') {
    let tx = t[0];
    let rx = r[0];
    for (let i = 1; i < n; i++) {
      tx = equivalentTimeoutPair(tx, rx, t[i], r[i]);
      rx += r[i];
    }
    return tx;
  }
  // prototype: merged pseudo-app goes back into timeout order before the next merge.
  let lo = 0;
  while (n - lo > 1) {
    const tx = equivalentTimeoutPairPrototype(t[lo], r[lo], t[lo + 1], r[lo + 1]);
    const rx = r[lo] + r[lo + 1];
    lo++;
    let j = lo;
    while (j + 1 < n && t[j + 1] < tx) {
      t[j] = t[j + 1];
      r[j] = r[j + 1];
      j++;
    }
    t[j] = tx;
    r[j] = rx;
  }
  return t[lo];
}
