/**
 * Admission checks every service (serverless groups, cluster pool) makes before it queues a
 * request: known application, not draining, queue below its bound; and the waiters of a drain.
 * One place, so both modes refuse with the same codes and metrics and drain alike.
 */
import { HetserveError } from '../model/errors.ts';

export interface AdmissionState {
  model: string;
  app: string;
  /** The app's SLO, or undefined when the app is unknown to this model. */
  slo: number | undefined;
  accepting: boolean;
  inflight: number;
  /** limits.maxQueue; undefined = 10,000. */
  maxQueue: number | undefined;
  /** Known app names, listed in the unknown-app message when given. */
  knownApps?: () => string[];
  /** Called when the queue bound refuses the request (metrics). */
  onQueueFull: () => void;
}

/** The error refusing the request, or undefined when it may be queued. */
export function admissionError(s: AdmissionState): HetserveError | undefined {
  if (s.slo === undefined) {
    const known = s.knownApps
      ? ` is not an application of model ${s.model}; known: ${s.knownApps().join(', ')}`
      : ' is unknown';
    return new HetserveError('E_UNKNOWN_APP', `app: ${JSON.stringify(s.app)}${known}`, {
      field: 'app',
      value: s.app,
    });
  }
  if (!s.accepting)
    return new HetserveError('E_SHUTTING_DOWN', 'the gateway is draining; retry on another replica');
  const maxQueue = s.maxQueue ?? 10_000;
  if (s.inflight >= maxQueue) {
    s.onQueueFull();
    return new HetserveError(
      'E_QUEUE_FULL',
      `model ${s.model}: ${s.inflight} requests waiting (limit ${maxQueue})`,
      {
        field: 'limits.maxQueue',
        value: maxQueue,
      },
    );
  }
  return undefined;
}

/**
 * Callers of a service's `drain()` waiting for its last in-flight request. The service calls
 * `wake()` whenever its in-flight count reaches 0.
 */
export class DrainWaiters {
  #waiters: (() => void)[] = [];

  wake(): void {
    if (this.#waiters.length > 0) for (const w of this.#waiters.splice(0)) w();
  }

  /** True once woken, false when `timeoutS` seconds pass first. */
  wait(timeoutS: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutS * 1000);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }
}
