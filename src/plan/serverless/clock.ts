/**
 * Milliseconds on a monotonic clock, for planning times and budgets. Same use as
 * `performance.now()`, whose first call loads Node's perf_hooks module (a few ms of every
 * `hetserve plan` start); `process.hrtime` is there from the start.
 */
export function nowMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}
