/**
 * Adapters from the shared libraries to what the simulators need: the serverless predictor
 * as a `ServerlessModel`.
 */
import type { FunctionConfig } from '../model/plan.ts';
import { invocationCost, type Predictor } from '../predict/index.ts';
import type { ServerlessModel } from './serverless.ts';

/**
 * Latency from the predictor (avg/max of the function at a batch size, same model as the planner),
 * cost from its price table: one invocation of `durationS` with the function's resources, billed
 * at the table's granularity for the function kind.
 */
export function predictorModel(p: Predictor): ServerlessModel {
  return {
    latency: (fn: FunctionConfig, batch: number) => p.latency(fn, batch),
    batchCost: (fn: FunctionConfig, _batch: number, durationS: number) =>
      invocationCost(
        p.prices,
        {
          kind: fn.kind,
          vcpu: fn.vcpu,
          memoryGb: fn.memoryGb,
          gpuMemoryGb: fn.kind === 'gpu' ? fn.gpuMemoryGb : 0,
        },
        durationS,
      ),
  };
}
