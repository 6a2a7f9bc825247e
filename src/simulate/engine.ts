/**
 * Discrete-event core: a virtual clock that implements the dispatch core's `TimerSource`, backed by
 * a binary min-heap of timers. The dispatch code (batch manager, distributors) runs on it unchanged;
 * the simulator advances time by popping the earliest timer or jumping to the next arrival.
 *
 * Ordering: timers fire in (time, insertion order). A timer set for a past time fires at the
 * current time (the clock never runs backwards). Cancelled timers are dropped lazily when popped,
 * so `clearTimer` is O(1).
 */
import type { TimerId, TimerSource } from '../dispatch/clock.ts';

export class VirtualClock implements TimerSource {
  private t = 0;
  private seq = 0;
  // Parallel arrays form the heap: keeps each entry two numbers and one id, no object per timer.
  private times: number[] = [];
  private seqs: number[] = [];
  private ids: number[] = [];
  private readonly fns = new Map<number, () => void>();
  private nextId = 1;
  /** Number of timer callbacks run so far. */
  fired = 0;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(at: number, fn: () => void): TimerId {
    const id = this.nextId++;
    this.fns.set(id, fn);
    this.push(at < this.t ? this.t : at, id);
    return id;
  }

  clearTimer(id: TimerId): void {
    this.fns.delete(id);
  }

  /** Number of live (not cancelled, not fired) timers. */
  get pending(): number {
    return this.fns.size;
  }

  /** Time of the earliest live timer, or +Infinity. */
  nextTime(): number {
    while (this.ids.length > 0 && !this.fns.has(this.ids[0])) this.pop();
    return this.ids.length > 0 ? this.times[0] : Infinity;
  }

  /** Move the clock forward to `t` without firing anything (t must not pass a pending timer). */
  advanceTo(t: number): void {
    if (t > this.t) this.t = t;
  }

  /** Fire the earliest live timer (advancing the clock to it). Returns false when none is left. */
  runNext(): boolean {
    while (this.ids.length > 0) {
      const at = this.times[0];
      const id = this.ids[0];
      this.pop();
      const fn = this.fns.get(id);
      if (fn === undefined) continue;
      this.fns.delete(id);
      if (at > this.t) this.t = at;
      this.fired++;
      fn();
      return true;
    }
    return false;
  }

  /** Fire every timer due at or before `t`, then set the clock to `t`. */
  runUntil(t: number): void {
    while (this.nextTime() <= t) this.runNext();
    this.advanceTo(t);
  }

  private push(at: number, id: number): void {
    const times = this.times;
    const seqs = this.seqs;
    const ids = this.ids;
    const s = this.seq++;
    let i = times.length;
    times.push(at);
    seqs.push(s);
    ids.push(id);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p] < at || (times[p] === at && seqs[p] < s)) break;
      times[i] = times[p];
      seqs[i] = seqs[p];
      ids[i] = ids[p];
      i = p;
    }
    times[i] = at;
    seqs[i] = s;
    ids[i] = id;
  }

  private pop(): void {
    const times = this.times;
    const seqs = this.seqs;
    const ids = this.ids;
    const lastT = times.pop()!;
    const lastS = seqs.pop()!;
    const lastI = ids.pop()!;
    const n = times.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && (times[r] < times[l] || (times[r] === times[l] && seqs[r] < seqs[l]))) c = r;
      if (lastT < times[c] || (lastT === times[c] && lastS < seqs[c])) break;
      times[i] = times[c];
      seqs[i] = seqs[c];
      ids[i] = ids[c];
      i = c;
    }
    times[i] = lastT;
    seqs[i] = lastS;
    ids[i] = lastI;
  }
}

/**
 * A stream of arrivals read one at a time (cursor style, no object per arrival): `time` is the
 * pending arrival's time (+Infinity once exhausted), `app` its application index, `size` its query
 * size (1 where sizes do not matter); `advance()` moves to the next arrival.
 */
export interface ArrivalStream {
  readonly time: number;
  readonly app: number;
  readonly size: number;
  advance(): void;
}

/**
 * Run a simulation loop: interleave `arrivals` with the clock's timers in time order until both
 * are exhausted or `until` (seconds) is passed. Timers due at the same instant as an arrival fire
 * first (a deadline at t is honoured before a request arriving at t joins). `onArrival` is called
 * with the clock at the arrival's time.
 */
export function runLoop(
  clock: VirtualClock,
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
