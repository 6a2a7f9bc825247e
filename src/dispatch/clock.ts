/**
 * Time as the dispatch core sees it. Everything in src/dispatch takes a `TimerSource`, never
 * `Date.now()` or `setTimeout` directly, so the simulator can drive it in virtual time and the
 * gateway in real time with the same code. Times are seconds (JS numbers).
 */
export type TimerId = number;

export interface Clock {
  /** Current time, seconds. Monotonic. */
  now(): number;
}

export interface TimerSource extends Clock {
  /** Run `fn` once at absolute time `at` (seconds; a past time fires as soon as possible). */
  setTimer(at: number, fn: () => void): TimerId;
  /** Cancel a pending timer; unknown or fired ids are ignored. */
  clearTimer(id: TimerId): void;
}
