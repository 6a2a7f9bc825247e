/**
 * Drives a QueryDistributor from events and a TimerSource, so the simulator (virtual time) and the
 * gateway (real time) decide at the same moments: on every arrival, on every completion, and every
 * `rematchEvery` seconds while queries wait and an instance is idle (Kairos design §7.6: deadlines
 * shrink as time passes, so a query held for a busy instance must be reconsidered).
 */
import { badField } from '../model/errors.ts';
import type { TimerId, TimerSource } from './clock.ts';
import type { Assignment, PendingQuery, QueryDistributor } from './types.ts';

export interface DistributorLoopOptions<P> {
  distributor: QueryDistributor<P>;
  timers: TimerSource;
  /** Called for each assignment, synchronously, with the decision time (seconds). */
  onAssign: (assignment: Assignment<P>, now: number) => void;
  /**
   * Re-decision period, seconds, while a query waits and some instance is idle. Default 0.001
   * (1 ms, as the research simulator). Infinity: decide on arrivals and completions only.
   */
  rematchEvery?: number;
}

export class DistributorLoop<P = unknown> {
  readonly #d: QueryDistributor<P>;
  readonly #timers: TimerSource;
  readonly #onAssign: (a: Assignment<P>, now: number) => void;
  readonly #every: number;
  #timer: TimerId | undefined;
  #closed = false;
  #deciding = false;
  readonly #tick = (): void => {
    this.#timer = undefined;
    this.decide();
  };

  constructor(o: DistributorLoopOptions<P>) {
    if (!o?.distributor || typeof o.distributor.decide !== 'function') {
      throw badField('E_DISPATCH_CONFIG', 'distributor', o?.distributor, 'must be a QueryDistributor');
    }
    if (!o.timers || typeof o.timers.setTimer !== 'function') {
      throw badField('E_DISPATCH_CONFIG', 'timers', o.timers, 'must be a TimerSource');
    }
    if (typeof o.onAssign !== 'function')
      throw badField('E_DISPATCH_CONFIG', 'onAssign', o.onAssign, 'must be a function');
    const every = o.rematchEvery ?? 0.001;
    if (!(every > 0))
      throw badField('E_DISPATCH_CONFIG', 'rematchEvery', every, 'must be > 0 seconds (or Infinity)');
    this.#d = o.distributor;
    this.#timers = o.timers;
    this.#onAssign = o.onAssign;
    this.#every = every;
  }

  get distributor(): QueryDistributor<P> {
    return this.#d;
  }

  /** Queue a query and decide at once. */
  enqueue(q: PendingQuery<P>): void {
    this.#d.enqueue(q);
    this.decide();
  }

  /** Instance `index` finished now: free it and decide at once. */
  complete(index: number): void {
    this.#d.onComplete(index, this.#timers.now());
    this.decide();
  }

  /** Decide now (also called by the re-match timer). Re-entrant calls from onAssign are folded in. */
  decide(): void {
    if (this.#closed || this.#deciding) return;
    this.#deciding = true;
    try {
      const now = this.#timers.now();
      for (const a of this.#d.decide(now)) this.#onAssign(a, now);
    } finally {
      this.#deciding = false;
    }
    this.#rearm();
  }

  /** Stop re-matching (queued queries stay in the distributor). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#timers.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #rearm(): void {
    const wanted = this.#every !== Infinity && this.#d.pending() > 0 && this.#d.idle() > 0;
    if (wanted && this.#timer === undefined) {
      this.#timer = this.#timers.setTimer(this.#timers.now() + this.#every, this.#tick);
    } else if (!wanted && this.#timer !== undefined) {
      this.#timers.clearTimer(this.#timer);
      this.#timer = undefined;
    }
  }
}

export function createDistributorLoop<P = unknown>(o: DistributorLoopOptions<P>): DistributorLoop<P> {
  return new DistributorLoop<P>(o);
}
