/**
 * AWS Lambda (SAM template): one container-image function per CPU group. Lambda runs one request
 * per execution environment, so batches are formed by the hetserve gateway in front, which
 * invokes the function once per batch (routes.json maps groups to functions; the template's managed policy
 * lets it invoke). Lambda sizes vCPU from memory (1769 MB per vCPU, 128..10240 MB) and has no GPUs.
 */
import { z } from 'zod';
import { HetserveError, badField } from '../model/errors.ts';
import type { Plan, PlanGroup } from '../model/plan.ts';
import { checkedDoc, fmt, groupEnv, groupName, groupRef, requestTimeoutS, toYaml } from './common.ts';
import { routeShares, routesFile, type GatewayRoute } from './routes.ts';
import type { ExportOptions } from './options.ts';
import type { Exporter, ExportUnit } from './types.ts';

/** Lambda's memory range and its vCPU-per-memory rule. */
export const LAMBDA_MB_PER_VCPU = 1769;
export const LAMBDA_MIN_MB = 128;
export const LAMBDA_MAX_MB = 10240;
export const LAMBDA_MAX_TIMEOUT_S = 900;
/** Alias SAM publishes when provisioned concurrency (--min-replicas) is set; the gateway invokes it. */
export const LAMBDA_ALIAS = 'live';

/**
 * Memory (MB) that gives a group its planned vCPU and RAM. `capped` is true when that exceeds
 * Lambda's maximum, i.e. the function gets fewer vCPU than planned.
 */
export function lambdaMemoryMb(vcpu: number, memoryGb: number): { mb: number; capped: boolean } {
  const want = Math.max(
    Math.ceil(vcpu * LAMBDA_MB_PER_VCPU - 1e-6),
    Math.ceil(memoryGb * 1024 - 1e-6),
    LAMBDA_MIN_MB,
  );
  return { mb: Math.min(want, LAMBDA_MAX_MB), capped: want > LAMBDA_MAX_MB };
}

const FunctionSchema = z
  .object({
    Type: z.literal('AWS::Serverless::Function'),
    Properties: z
      .object({
        FunctionName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        PackageType: z.literal('Image'),
        ImageUri: z.string().min(1),
        MemorySize: z.number().int().min(LAMBDA_MIN_MB).max(LAMBDA_MAX_MB),
        Timeout: z.number().int().min(1).max(LAMBDA_MAX_TIMEOUT_S),
        Architectures: z.tuple([z.enum(['x86_64', 'arm64'])]),
        Environment: z.object({ Variables: z.record(z.string(), z.string()) }).strict(),
        AutoPublishAlias: z.literal(LAMBDA_ALIAS).optional(),
        ProvisionedConcurrencyConfig: z
          .object({ ProvisionedConcurrentExecutions: z.number().int().positive() })
          .strict()
          .optional(),
      })
      .strict()
      .refine(
        (p) => (p.AutoPublishAlias === undefined) === (p.ProvisionedConcurrencyConfig === undefined),
        'provisioned concurrency needs an alias (AutoPublishAlias)',
      ),
  })
  .strict();
const PolicySchema = z
  .object({
    Type: z.literal('AWS::IAM::ManagedPolicy'),
    Properties: z
      .object({
        Description: z.string(),
        PolicyDocument: z
          .object({
            Version: z.literal('2012-10-17'),
            Statement: z.array(
              z
                .object({
                  Effect: z.literal('Allow'),
                  Action: z.array(z.string()),
                  Resource: z.array(z.unknown()).min(1),
                })
                .strict(),
            ),
          })
          .strict(),
      })
      .strict(),
  })
  .strict();
/** The fields of a SAM template this exporter emits. */
export const SamTemplateSchema = z
  .object({
    AWSTemplateFormatVersion: z.literal('2010-09-09'),
    Transform: z.literal('AWS::Serverless-2016-10-31'),
    Description: z.string(),
    Resources: z.record(z.string().regex(/^[A-Za-z0-9]+$/), z.union([FunctionSchema, PolicySchema])),
    Outputs: z.record(
      z.string().regex(/^[A-Za-z0-9]+$/),
      z.object({ Description: z.string(), Value: z.unknown() }).strict(),
    ),
  })
  .strict();
export type SamTemplate = z.infer<typeof SamTemplateSchema>;

function logicalId(i: number): string {
  return `Group${i}Function`;
}

function lambdaFunction(plan: Plan, g: PlanGroup, i: number, o: ExportOptions, warnings: string[]) {
  const { mb, capped } = lambdaMemoryMb(g.function.vcpu, g.function.memoryGb);
  if (capped) {
    warnings.push(
      `${groupRef(i)}: the plan gives ${fmt(g.function.vcpu)} vCPU / ${fmt(g.function.memoryGb)} GB; Lambda's ` +
        `${LAMBDA_MAX_MB} MB maximum gives about ${(LAMBDA_MAX_MB / LAMBDA_MB_PER_VCPU).toFixed(2)} vCPU, ` +
        `so batches will run slower than planned`,
    );
  }
  return {
    Type: 'AWS::Serverless::Function',
    Properties: {
      FunctionName: groupName(o, i),
      PackageType: 'Image',
      ImageUri: o.image,
      MemorySize: mb,
      Timeout: Math.min(LAMBDA_MAX_TIMEOUT_S, requestTimeoutS(plan, g)),
      Architectures: [o.architecture],
      Environment: { Variables: { ...groupEnv(plan, g, i), HETSERVE_BATCHER: 'gateway' } },
      // Warm environments kept for the group (--min-replicas): Lambda attaches provisioned
      // concurrency to a published version or alias, so SAM publishes one.
      ...(o.minReplicas > 0
        ? {
            AutoPublishAlias: LAMBDA_ALIAS,
            ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: o.minReplicas },
          }
        : {}),
    },
  };
}

export const lambdaExporter: Exporter = {
  target: 'lambda',
  description: 'AWS Lambda SAM template: one function per CPU group, the gateway batching in front',
  accepts: 'plan',
  kubernetes: false,
  export(doc, _kind, o) {
    const plan = doc as Plan;
    if (o.batching === 'function') {
      throw badField(
        'E_INVALID_OPTION',
        'options.batching',
        o.batching,
        'Lambda runs one request per execution environment, so batches must be formed by the gateway',
      );
    }
    const warnings: string[] = [];
    const units: ExportUnit[] = [];
    const resources: Record<string, unknown> = {};
    const outputs: Record<string, unknown> = {};
    const backends: GatewayRoute[] = [];
    plan.groups.forEach((g, i) => {
      const ref = groupRef(i);
      if (g.function.kind === 'gpu') {
        units.push({
          ref,
          unsupported:
            `Lambda has no GPUs; this group needs ${g.function.gpuMemoryGb} GB of GPU memory ` +
            `(re-plan with CPU functions only, or use --target fc/knative/ray)`,
        });
        return;
      }
      resources[logicalId(i)] = lambdaFunction(plan, g, i, o, warnings);
      outputs[`${logicalId(i)}Arn`] = {
        Description: `ARN of ${ref}`,
        Value: { 'Fn::GetAtt': [logicalId(i), 'Arn'] },
      };
      units.push({ ref, name: groupName(o, i) });
      backends.push({
        ref,
        apps: g.apps,
        batchSize: g.batchSize,
        engine: 'lambda',
        function: groupName(o, i),
        ...(o.minReplicas > 0 ? { qualifier: LAMBDA_ALIAS } : {}),
        ...(routeShares(plan, i) ? { appRps: routeShares(plan, i) } : {}),
      });
    });
    if (backends.length === 0) {
      throw new HetserveError(
        'E_TARGET_UNSUPPORTED',
        `lambda: every group of the plan is a GPU group, and Lambda has no GPUs`,
        {
          field: 'groups',
          value: plan.groups.map((g) => g.function.kind),
          hint: 'use --target fc, knative or ray',
        },
      );
    }
    resources['GatewayInvokePolicy'] = {
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: {
        Description: 'Lets the hetserve gateway invoke the group functions',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['lambda:InvokeFunction'],
              // The unqualified ARN and its versions/aliases (`<arn>:live` when provisioned).
              Resource: Object.keys(resources).flatMap((id) => [
                { 'Fn::GetAtt': [id, 'Arn'] },
                { 'Fn::Sub': ['${Arn}:*', { Arn: { 'Fn::GetAtt': [id, 'Arn'] } }] },
              ]),
            },
          ],
        },
      },
    };
    outputs['GatewayInvokePolicyArn'] = {
      Description: 'Attach to the role the gateway runs under',
      Value: { Ref: 'GatewayInvokePolicy' },
    };
    if (o.minReplicas > 0)
      warnings.push(
        `lambda: --min-replicas ${o.minReplicas} keeps ${o.minReplicas} provisioned environment(s) per function (alias '${LAMBDA_ALIAS}'), billed while idle; --min-replicas 0 for on-demand only`,
      );
    const template = checkedDoc('lambda', SamTemplateSchema, {
      AWSTemplateFormatVersion: '2010-09-09',
      Transform: 'AWS::Serverless-2016-10-31',
      Description: `hetserve ${plan.model}: ${backends.length} Lambda function(s) behind the hetserve gateway`,
      Resources: resources,
      Outputs: outputs,
    });
    return {
      target: 'lambda',
      files: [{ path: 'template.yaml', content: toYaml([template]) }, routesFile(plan, backends)],
      units,
      warnings,
    };
  },
};
