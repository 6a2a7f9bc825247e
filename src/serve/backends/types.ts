/**
 * One interface for every function/instance backend (onnx, http, replay, and test doubles). The
 * gateway hands a backend whole batches (one stacked tensor per input, leading dimension = batch
 * size) and expects stacked outputs back. Every implementation runs the shared conformance suite
 * (test/serve/backends/backend.case.ts, called by one test file per backend).
 */
import type { FunctionConfig } from '../../model/plan.ts';
import type { ModelConfig } from '../../model/serve-config.ts';
import type { ModelIO, Tensor } from '../tensors.ts';

export interface BackendBatch {
  /** Stacked inputs, in the model's input order; shape [size, ...dims]. */
  inputs: Tensor[];
  size: number;
  /**
   * Work the batch stands for when it differs from `size` (cluster mode's query size, e.g. items
   * scored): replay draws its latency at this size. Default `size`.
   */
  querySize?: number;
  /** Aborted when the batch's deadline passes or the gateway gives up; backends must stop waiting. */
  signal: AbortSignal;
}

export interface Backend {
  readonly kind: string;
  /** Unique within the gateway (for metrics and logs). */
  readonly id: string;
  /**
   * Batches it runs at the same time (more queue inside it), when that is fixed: the serverless
   * service's default `maxInFlight` per group. Undefined: no fixed bound (a function platform
   * scales out).
   */
  readonly concurrency?: number;
  /** Load the model / check the endpoint; resolves with the model's tensors. Called once. */
  start(): Promise<ModelIO>;
  /**
   * Run one batch. Resolves with stacked outputs (one per model output, leading dim = size) or
   * rejects with a HetserveError (E_BACKEND_FAILED / E_BACKEND_TIMEOUT). Must settle promptly
   * after `signal` aborts.
   */
  infer(batch: BackendBatch): Promise<Tensor[]>;
  /** Release resources; pending calls reject. Idempotent. */
  close(): Promise<void>;
}

export interface BackendContext {
  id: string;
  model: ModelConfig;
  /** Directory relative model/profile paths resolve against. */
  baseDir: string;
  /** The plan group's function (serverless mode): sizes the onnx worker pool. */
  fn?: FunctionConfig;
  /** Predicted batch latency in seconds at the group's function (replay `{profile: true}`). */
  predictLatency?: (batch: number) => { avg: number; max: number };
  /**
   * Measured batch latencies in seconds at the group's function and batch size, from the model's
   * profile (src/profile/samples.ts `sampleLookup`); undefined when the profile has none for it
   * (replay `{profile: true, samples: 'auto'}`).
   */
  latencySamples?: (batch: number) => readonly number[] | undefined;
}

export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error('aborted');
}
