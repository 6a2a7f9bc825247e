/**
 * Two `TimerSource` implementations: real time for the gateway, virtual time for tests and the
 * simulator. Both order timers due at the same instant by creation (FIFO), so runs are deterministic.
 */
import { performance } from 'node:perf_hooks';
import { badField } from '../model/errors.ts';
import type { TimerId, TimerSource } from './clock.ts';

export interface RealTimeSourceOptions {
  /**
   * Unref Node timers so a pending timer does not keep the process alive. Default false (a batch
   * waiting for its timeout must still be released before exit).
   */
  unref?: boolean;
}

/** Wall-clock time: `now()` = performance.now() in seconds; timers over setTimeout. */
export class RealTimeSource implements TimerSource {
  readonly #handles = new Map<TimerId, ReturnType<typeof setTimeout>>();
  readonly #unref: boolean;
  #nextId = 1;

  constructor(options: RealTimeSourceOptions = {}) {
    this.#unref = options.unref ?? false;
  }

  now(): number {
    return performance.now() / 1000;
  }

  setTimer(at: number, fn: () => void): TimerId {
    if (!Number.isFinite(at))
      throw badField('E_DISPATCH_CONFIG', 'timer.at', at, 'must be a finite time in seconds');
    const id = this.#nextId++;
    // Whole milliseconds: Node keeps one timer list per distinct delay, so a fractional delay made
    // a list (and a priority-queue entry) per timer. Node fires a timer once its whole-ms loop
    // clock has passed the delay, so rounding up does not change when it fires.
    const delayMs = Math.ceil(Math.max(0, (at - this.now()) * 1000));
    const h = setTimeout(() => {
      this.#handles.delete(id);
      fn();
    }, delayMs);
    if (this.#unref) h.unref();
    this.#handles.set(id, h);
    return id;
  }

  clearTimer(id: TimerId): void {
    const h = this.#handles.get(id);
    if (h !== undefined) {
      clearTimeout(h);
      this.#handles.delete(id);
    }
  }

  /** Number of timers not yet fired or cleared. */
  get pending(): number {
    return this.#handles.size;
  }
}

/**
 * Virtual time, the one virtual clock of the project (tests, the simulator's event loop): nothing
 * happens until `advanceTo`/`runNext`/`runAll` is called. Timers fire in (time, creation) order and
 * `now()` equals the firing timer's time while its callback runs. A timer set in the past fires at
 * the next advance, at the current time; the clock never runs backwards.
 *
 * The heap is parallel arrays (time, id): no object per timer, since the simulator sets millions.
 * Ids grow with creation, so they double as the FIFO tie-break. Cleared timers leave the heap
 * lazily (`clearTimer` is O(1)).
 */
export class VirtualTimeSource implements TimerSource {
  #now: number;
  #nextId = 1;
  readonly #times: number[] = [];
  readonly #ids: number[] = [];
  readonly #fns = new Map<TimerId, () => void>();
  /** Number of timer callbacks run so far. */
  fired = 0;

  /** @param start initial time, seconds (default 0). */
  constructor(start = 0) {
    if (!Number.isFinite(start))
      throw badField('E_DISPATCH_CONFIG', 'start', start, 'must be a finite time in seconds');
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(at: number, fn: () => void): TimerId {
    if (Number.isNaN(at)) throw badField('E_DISPATCH_CONFIG', 'timer.at', at, 'must be a time in seconds');
    const id = this.#nextId++;
    this.#fns.set(id, fn);
    this.#push(at < this.#now ? this.#now : at, id);
    return id;
  }

  clearTimer(id: TimerId): void {
    if (!this.#fns.delete(id)) return;
    // Rebuild when cleared entries dominate the heap, so memory stays proportional to live
    // timers even if time never advances.
    const n = this.#ids.length;
    if (n > 1024 && n > 4 * this.#fns.size) {
      const times = this.#times.slice();
      const ids = this.#ids.slice();
      this.#times.length = 0;
      this.#ids.length = 0;
      for (let i = 0; i < n; i++) if (this.#fns.has(ids[i]!)) this.#push(times[i]!, ids[i]!);
    }
  }

  /** Time of the next live timer, or undefined. */
  nextAt(): number | undefined {
    const t = this.nextTime();
    return t === Infinity ? undefined : t;
  }

  /** Time of the next live timer, or +Infinity (the simulator's loop compares it with arrivals). */
  nextTime(): number {
    while (this.#ids.length > 0 && !this.#fns.has(this.#ids[0]!)) this.#pop();
    return this.#ids.length > 0 ? this.#times[0]! : Infinity;
  }

  /** Number of live timers. */
  get pending(): number {
    return this.#fns.size;
  }

  /** Fire every timer due at or before `t` (including ones they set), then set now = t. */
  advanceTo(t: number): void {
    if (Number.isNaN(t) || t < this.#now)
      throw badField('E_DISPATCH_CONFIG', 'time', t, `must be >= now (${this.#now})`);
    while (this.nextTime() <= t) this.runNext();
    this.#now = t;
  }

  /** Advance by `dt` seconds. */
  advanceBy(dt: number): void {
    this.advanceTo(this.#now + dt);
  }

  /** Fire the next live timer (advancing now to its time). Returns false when none is pending. */
  runNext(): boolean {
    while (this.#ids.length > 0) {
      const at = this.#times[0]!;
      const id = this.#ids[0]!;
      this.#pop();
      const fn = this.#fns.get(id);
      if (fn === undefined) continue;
      this.#fns.delete(id);
      if (at > this.#now) this.#now = at;
      this.fired++;
      fn();
      return true;
    }
    return false;
  }

  /** Fire timers until none is left (or `limit` fired, default 1e7, against runaway re-arming). */
  runAll(limit = 1e7): number {
    let n = 0;
    while (n < limit && this.runNext()) n++;
    return n;
  }

  #push(at: number, id: number): void {
    const times = this.#times;
    const ids = this.#ids;
    let i = times.length;
    times.push(at);
    ids.push(id);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p]! < at || (times[p] === at && ids[p]! < id)) break;
      times[i] = times[p]!;
      ids[i] = ids[p]!;
      i = p;
    }
    times[i] = at;
    ids[i] = id;
  }

  #pop(): void {
    const times = this.#times;
    const ids = this.#ids;
    const lastT = times.pop()!;
    const lastI = ids.pop()!;
    const n = times.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && (times[r]! < times[l]! || (times[r] === times[l] && ids[r]! < ids[l]!))) c = r;
      if (lastT < times[c]! || (lastT === times[c] && lastI < ids[c]!)) break;
      times[i] = times[c]!;
      ids[i] = ids[c]!;
      i = c;
    }
    times[i] = lastT;
    ids[i] = lastI;
  }
}
