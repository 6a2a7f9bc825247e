/**
 * The exhaustive-search oracle (kairos design §6.6): rank configurations by *measured* (simulated)
 * allowable throughput instead of an analytic bound. The simulator implements `ClusterOracle`;
 * the planner only depends on this interface.
 */

/** Instance counts by type name, e.g. { "g4dn.xlarge": 1, "r5n.large": 13 }. */
export type InstanceCounts = Readonly<Record<string, number>>;

export interface OracleRequest {
  /** Configurations to evaluate. */
  readonly configs: readonly InstanceCounts[];
  /** Latency target (ms) and the percentile it applies to (e.g. 99). */
  readonly qosMs: number;
  readonly percentile: number;
  /** The pool's base (accelerated) type, which distributors such as Kairos' need. */
  readonly baseType?: string;
}

export interface OracleResult {
  /** Largest offered rate (QPS) at which the configuration meets the QoS, 0 if none. */
  readonly allowableQps: number;
  /** Optional spread over seeds, for reporting. */
  readonly spreadQps?: readonly [number, number];
}

/**
 * Evaluates configurations offline, e.g. by simulating the Kairos distributor with a binary search
 * on the arrival rate. Results are index-aligned with `request.configs`. Implementations should be
 * deterministic for a fixed seed and may report progress through `onProgress(done, total)`.
 */
export interface ClusterOracle {
  readonly name: string;
  evaluate(
    request: OracleRequest,
    onProgress?: (done: number, total: number) => void,
  ): Promise<readonly OracleResult[]>;
}
