/**
 * Seeded pseudo-random numbers for the simulator.
 *
 * Generator: xoshiro128** (Blackman & Vigna), 128-bit state, seeded by splitmix32 from one
 * integer seed. It is written out here (a dozen lines) rather than taken from pure-rand because
 * the simulator draws several numbers per request in its hot loop and needs a mutable generator
 * without per-draw allocation. Doubles use 53 random bits, so `next()` is uniform on [0, 1).
 *
 * Everything the simulator draws goes through one `Rng`, so a run is a pure function of its seed.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  constructor(seed: number) {
    let s = seed >>> 0 || 0x9e3779b9;
    const mix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** Uniform on [0, 1) with 53 bits of resolution. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Exponential with the given rate (mean 1/rate). */
  exponential(rate: number): number {
    return -Math.log1p(-this.next()) / rate;
  }

  /** Standard normal (Marsaglia polar method; caches the second value). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return u * f;
  }

  /**
   * Poisson-distributed integer with the given mean. Inversion by multiplication for small means,
   * Hörmann's PTRS (transformed rejection with squeeze) above 10, so the cost stays O(1).
   */
  poisson(mean: number): number {
    if (!(mean > 0)) return 0;
    if (mean < 10) {
      const l = Math.exp(-mean);
      let k = 0;
      let p = this.next();
      while (p > l) {
        k++;
        p *= this.next();
      }
      return k;
    }
    const slam = Math.sqrt(mean);
    const loglam = Math.log(mean);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.next() - 0.5;
      const v = this.next();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (
        Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <=
        -mean + k * loglam - logFactorial(k)
      )
        return k;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LOG_FACT_TABLE: number[] = [0];
for (let i = 1; i < 256; i++) LOG_FACT_TABLE[i] = LOG_FACT_TABLE[i - 1] + Math.log(i);

/** ln(k!) — exact table below 256, Stirling series above. */
export function logFactorial(k: number): number {
  if (k < 256) return LOG_FACT_TABLE[k];
  const x = k + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x * x * x);
}

/**
 * Sampler of a discrete distribution (Walker/Vose alias method): O(n) set-up, O(1) per draw.
 * `values[i]` is drawn with probability `weights[i] / Σ weights`.
 */
export class DiscreteSampler {
  readonly values: Float64Array;
  readonly probabilities: Float64Array;
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  constructor(values: readonly number[], weights: readonly number[]) {
    const n = values.length;
    if (n === 0 || n !== weights.length) throw new Error('DiscreteSampler: values and weights must match');
    const total = weights.reduce((s, w) => s + w, 0);
    if (!(total > 0)) throw new Error('DiscreteSampler: weights must sum to > 0');
    this.values = Float64Array.from(values);
    this.probabilities = Float64Array.from(weights, (w) => w / total);
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = Array.from(this.probabilities, (p) => p * n);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
    while (small.length && large.length) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
    for (const i of large) this.prob[i] = 1;
    for (const i of small) this.prob[i] = 1;
  }

  /** Index of a drawn value. */
  drawIndex(rng: Rng): number {
    const u = rng.next() * this.prob.length;
    const i = Math.floor(u);
    return u - i < this.prob[i] ? i : this.alias[i];
  }

  draw(rng: Rng): number {
    return this.values[this.drawIndex(rng)];
  }

  mean(): number {
    let m = 0;
    for (let i = 0; i < this.values.length; i++) m += this.values[i] * this.probabilities[i];
    return m;
  }
}
