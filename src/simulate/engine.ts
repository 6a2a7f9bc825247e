/**
 * Discrete-event core: interleaves a stream of arrivals with the timers of the dispatch core's
 * virtual clock (`VirtualTimeSource`). The dispatch code (batch manager, distributors) runs on that
 * clock unchanged; the loop advances time by firing the earliest timer or jumping to the next arrival.
 */
import type { VirtualTimeSource } from '../dispatch/timers.ts';
import type { ArrivalStream } from '../workload/arrivals.ts';

export type { ArrivalStream };

/**
 * Run a simulation loop: interleave `arrivals` with the clock's timers in time order until both
 * are exhausted or `until` (seconds) is passed. Timers due at the same instant as an arrival fire
 * first (a deadline at t is honoured before a request arriving at t joins). `onArrival` is called
 * with the clock at the arrival's time.
 */
export function runLoop(
  clock: VirtualTimeSource,
  arrivals: ArrivalStream,
  onArrival: (app: number, size: number) => void,
  until = Infinity,
  shouldStop?: () => boolean,
): void {
  for (;;) {
    if (shouldStop?.()) return;
    const ta = arrivals.time;
    const tt = clock.nextTime();
    if (tt <= ta) {
      if (tt > until || tt === Infinity) break;
      clock.runNext();
    } else {
      if (ta > until) break;
      clock.advanceTo(ta);
      const app = arrivals.app;
      const size = arrivals.size;
      arrivals.advance();
      onArrival(app, size);
    }
  }
  if (until !== Infinity) clock.advanceTo(until);
}
