/**
 * Batching policies. A policy only says by when each request forces its buffer out and in which
 * order a batch is sent; buffers, timers and capacity belong to the batch manager.
 */
import { badField } from '../model/errors.ts';
import type { BatchPolicy, DispatchRequest, GroupView } from './types.ts';

/**
 * HarmonyBatch multi-timeout (design §8.1): each request forces a release at its own
 * `arrival + timeout[app]`; the buffer leaves at the earliest of these, FIFO order.
 */
export const harmonyBatchPolicy: BatchPolicy = Object.freeze({
  name: 'harmony',
  order: 'fifo' as const,
  releaseBy(req: DispatchRequest, group: GroupView): number {
    return req.arrival + group.timeouts[req.app]!;
  },
});

export interface FixedDelayPolicyOptions {
  /**
   * Max delay, seconds, counted from the FIRST (oldest) request of the batch, as Triton's
   * `max_queue_delay`, Ray Serve's `batch_wait_timeout_s` and KServe's `maxLatency` do. A number
   * applies to every group; a function picks one per group. Default: the group's smallest app
   * timeout (the largest single delay under which no request waits longer than its own timeout).
   */
  maxDelay?: number | ((group: GroupView) => number);
}

/** Fixed batch size + fixed delay from the first request of the batch; FIFO order. */
export function fixedDelayPolicy(options: FixedDelayPolicyOptions = {}): BatchPolicy {
  const md = options.maxDelay;
  if (md !== undefined && typeof md !== 'function' && !(Number.isFinite(md) && md >= 0)) {
    throw badField(
      'E_DISPATCH_CONFIG',
      'maxDelay',
      md,
      'must be a finite number of seconds >= 0, or a function',
    );
  }
  // Per-group delay cached by the frozen GroupView object: computed once per plan, not per request.
  const cache = new WeakMap<GroupView, number>();
  const delayOf = (g: GroupView): number => {
    let d = cache.get(g);
    if (d !== undefined) return d;
    d =
      typeof md === 'number'
        ? md
        : typeof md === 'function'
          ? md(g)
          : Math.min(...g.apps.map((a) => g.timeouts[a]!));
    if (!(Number.isFinite(d) && d >= 0)) {
      throw badField(
        'E_DISPATCH_CONFIG',
        `maxDelay(group ${g.key})`,
        d,
        'must be a finite number of seconds >= 0',
      );
    }
    cache.set(g, d);
    return d;
  };
  return Object.freeze({
    name: 'fixed-delay',
    order: 'fifo' as const,
    releaseBy(req: DispatchRequest, group: GroupView, first: boolean): number {
      return first ? req.arrival + delayOf(group) : Infinity;
    },
  });
}

export interface EdfPolicyOptions {
  /**
   * Safety margin, seconds, kept between release + predicted batch latency and the deadline.
   * Default 0.
   */
  guard?: number;
  /**
   * Also honour the plan's per-app timeouts (release by min(arrival + timeout, deadline − latencyMax
   * − guard)). Default true; false waits purely on deadline slack (bigger batches, riskier).
   */
  useTimeouts?: boolean;
}

/**
 * Earliest-deadline-first: a request forces a release when its slack runs out
 * (deadline − predicted batch latency − guard); batches go in deadline order, and when a buffer
 * holds more than a batch the earliest deadlines leave first.
 */
export function edfPolicy(options: EdfPolicyOptions = {}): BatchPolicy {
  const guard = options.guard ?? 0;
  if (!(Number.isFinite(guard) && guard >= 0)) {
    throw badField('E_DISPATCH_CONFIG', 'guard', guard, 'must be a finite number of seconds >= 0');
  }
  const useTimeouts = options.useTimeouts ?? true;
  if (typeof useTimeouts !== 'boolean') {
    throw badField('E_DISPATCH_CONFIG', 'useTimeouts', useTimeouts, 'must be a boolean');
  }
  return Object.freeze({
    name: 'edf',
    order: 'deadline' as const,
    releaseBy(req: DispatchRequest, group: GroupView): number {
      const bySlack = req.deadline - group.latencyMax - guard;
      if (!useTimeouts) return bySlack;
      const byTimeout = req.arrival + group.timeouts[req.app]!;
      return byTimeout < bySlack ? byTimeout : bySlack;
    },
  });
}
