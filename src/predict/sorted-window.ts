/**
 * The latest `capacity` numbers, kept in arrival order and in sorted order at once, so that a
 * quantile of the window is read without copying or sorting it. The serving path reads windowed
 * quantiles after every batch (the deadline admission's measured latency, the calibrator's tail);
 * a copy and a sort per batch was a large part of the gateway's allocation per request.
 */
import { quantileSorted } from 'simple-statistics';
import { badField } from '../model/errors.ts';

export class SortedWindow {
  readonly capacity: number;
  /** Arrival order (a ring); `#head` is where the next value goes. */
  readonly #ring: number[] = [];
  #head = 0;
  /** The same values, ascending: exactly `size` long, so quantileSorted reads it as it is. */
  readonly #sorted: number[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw badField('E_INVALID_OPTION', 'capacity', capacity, 'must be an integer >= 1');
    this.capacity = capacity;
  }

  /** Values held (at most `capacity`). */
  get size(): number {
    return this.#sorted.length;
  }

  /** Add a value (not NaN), dropping the oldest once full. */
  push(x: number): void {
    const ring = this.#ring;
    const s = this.#sorted;
    let i: number;
    if (ring.length < this.capacity) {
      ring.push(x);
      // A new place at the end, moved down past the larger values.
      i = s.length;
      s.push(x);
    } else {
      // The oldest value's place is reused: only the values between it and the new one move.
      i = this.#lowerBound(ring[this.#head]);
      ring[this.#head] = x;
      while (i < s.length - 1 && s[i + 1] <= x) {
        s[i] = s[i + 1];
        i++;
      }
    }
    this.#head = (this.#head + 1) % this.capacity;
    while (i > 0 && s[i - 1] > x) {
      s[i] = s[i - 1];
      i--;
    }
    s[i] = x;
  }

  /** The i-th newest value (0 = newest); i < size. */
  back(i: number): number {
    const n = this.#ring.length;
    return this.#ring[(this.#head - 1 - i + 2 * n) % n];
  }

  /** Quantile `p` in [0, 1] of the values held (linear interpolation, simple-statistics' `quantile`); NaN when empty. */
  quantile(p: number): number {
    return this.#sorted.length > 0 ? quantileSorted(this.#sorted, p) : NaN;
  }

  clear(): void {
    this.#ring.length = 0;
    this.#sorted.length = 0;
    this.#head = 0;
  }

  /** Index of the first sorted value >= x. */
  #lowerBound(x: number): number {
    const s = this.#sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
