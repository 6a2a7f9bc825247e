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
    const delayMs = Math.max(0, (at - this.now()) * 1000);
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

interface VirtualTimer {
  at: number;
  id: TimerId;
  fn: (() => void) | undefined; // undefined once cleared (lazy deletion from the heap)
}

/**
 * Virtual time: nothing happens until `advanceTo`/`runNext`/`runAll` is called. Timers fire in
 * (time, creation) order and `now()` equals the firing timer's time while its callback runs.
 * A timer set in the past fires at the next advance, at the current time.
 */
export class VirtualTimeSource implements TimerSource {
  #now: number;
  #nextId = 1;
  readonly #heap: VirtualTimer[] = [];
  readonly #live = new Map<TimerId, VirtualTimer>();

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
    const t: VirtualTimer = { at: at < this.#now ? this.#now : at, id: this.#nextId++, fn };
    this.#live.set(t.id, t);
    this.#push(t);
    return t.id;
  }

  clearTimer(id: TimerId): void {
    const t = this.#live.get(id);
    if (t !== undefined) {
      t.fn = undefined;
      this.#live.delete(id);
      // Cleared timers leave the heap lazily; rebuild when they dominate it, so memory stays
      // proportional to live timers even if time never advances.
      const h = this.#heap;
      if (h.length > 1024 && h.length > 4 * this.#live.size) {
        const keep = h.filter((x) => x.fn !== undefined);
        h.length = 0;
        for (const x of keep) this.#push(x);
      }
    }
  }

  /** Time of the next live timer, or undefined. */
  nextAt(): number | undefined {
    this.#dropCleared();
    return this.#heap.length > 0 ? this.#heap[0]!.at : undefined;
  }

  /** Number of live timers. */
  get pending(): number {
    return this.#live.size;
  }

  /** Fire every timer due at or before `t` (including ones they set), then set now = t. */
  advanceTo(t: number): void {
    if (Number.isNaN(t) || t < this.#now)
      throw badField('E_DISPATCH_CONFIG', 'time', t, `must be >= now (${this.#now})`);
    for (;;) {
      const next = this.nextAt();
      if (next === undefined || next > t) break;
      this.runNext();
    }
    this.#now = t;
  }

  /** Advance by `dt` seconds. */
  advanceBy(dt: number): void {
    this.advanceTo(this.#now + dt);
  }

  /** Fire the next live timer (advancing now to its time). Returns false when none is pending. */
  runNext(): boolean {
    this.#dropCleared();
    const t = this.#pop();
    if (t === undefined) return false;
    this.#live.delete(t.id);
    if (t.at > this.#now) this.#now = t.at;
    const fn = t.fn!;
    t.fn = undefined;
    fn();
    return true;
  }

  /** Fire timers until none is left (or `limit` fired, default 1e7, against runaway re-arming). */
  runAll(limit = 1e7): number {
    let n = 0;
    while (n < limit && this.runNext()) n++;
    return n;
  }

  #dropCleared(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.fn === undefined) this.#pop();
  }

  #less(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.id < b.id);
  }

  #push(t: VirtualTimer): void {
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): VirtualTimer | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
