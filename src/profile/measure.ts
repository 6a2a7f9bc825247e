/** Types shared by the ONNX and HTTP runners and the profile builders. */

/** One configuration of a sweep. `vcpu` is absent when the runner does not vary resources. */
export interface Configuration {
  vcpu?: number;
  batch: number;
}

/** The latencies measured for one configuration, in seconds, warm-up runs already discarded. */
export interface Measurement extends Configuration {
  samples: number[];
  /** Peak resident memory of the profiling process after this configuration, MB (ONNX runner only). */
  rssMb?: number;
}

export interface SweepResult {
  /** Model or endpoint name (used as the profile name). */
  name: string;
  /** Where the numbers come from, written to the profile's `source`. */
  source: string;
  measurements: Measurement[];
  /** Wall-clock time of the whole sweep, s. */
  sweepSeconds: number;
  /** Caveats the user should see (e.g. more vCPU asked than cores available). */
  notes: string[];
}

/** Progress callback: `done` of `total` runs finished (warm-ups included), current configuration. */
export type ProgressFn = (done: number, total: number, config: Configuration) => void;
