/**
 * Triton's statistics extension (`GET /v2/models/stats`, `/v2/models/{m}/stats`, gRPC
 * ModelStatistics shape): per model, request counts and cumulative durations in ns (success,
 * failure, queue, compute), executions and inferences, and per batch size the executions and
 * their compute time. Durations come from the service's own clock (seconds), converted at the edge.
 */

interface Duration {
  count: number;
  ns: number;
}

const zero = (): Duration => ({ count: 0, ns: 0 });
const add = (d: Duration, s: number, n = 1): void => {
  d.count += n;
  d.ns += Math.round(s * 1e9);
};

export class ModelStats {
  /** Inferences performed: samples, summed over batches (Triton's inference_count). */
  inferenceCount = 0;
  /** Model executions: batches (Triton's execution_count). */
  executionCount = 0;
  /** Time of the last answered request, ms since the epoch (0 = none yet). */
  lastInference = 0;
  private readonly success = zero();
  private readonly fail = zero();
  private readonly queue = zero();
  private readonly computeInfer = zero();
  private readonly batches = new Map<number, Duration>();

  /** A request answered: total time in the gateway, its batching wait and its batch's compute time (s). */
  requestOk(totalS: number, queueS: number, computeS: number): void {
    add(this.success, totalS);
    add(this.queue, queueS);
    add(this.computeInfer, computeS);
    this.lastInference = Date.now();
  }

  requestFailed(totalS: number): void {
    add(this.fail, totalS);
    this.lastInference = Date.now();
  }

  /** A batch of `size` samples executed in `computeS` seconds. */
  batch(size: number, computeS: number): void {
    this.executionCount++;
    this.inferenceCount += size;
    let d = this.batches.get(size);
    if (!d) this.batches.set(size, (d = zero()));
    add(d, computeS);
  }

  /** Triton's ModelStatistics JSON (REST); gRPC uses the same numbers. */
  toJson(name: string, version = '1'): Record<string, unknown> {
    return {
      name,
      version,
      last_inference: this.lastInference,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: { ...this.success },
        fail: { ...this.fail },
        queue: { ...this.queue },
        // Tensors are decoded and encoded in the gateway, outside the backend's time.
        compute_input: zero(),
        compute_infer: { ...this.computeInfer },
        compute_output: zero(),
        cache_hit: zero(),
        cache_miss: zero(),
      },
      batch_stats: [...this.batches.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([size, d]) => ({
          batch_size: size,
          compute_input: { count: d.count, ns: 0 },
          compute_infer: { ...d },
          compute_output: { count: d.count, ns: 0 },
        })),
    };
  }
}
