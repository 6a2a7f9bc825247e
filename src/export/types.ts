/**
 * One small interface for every exporter. An exporter turns a serverless Plan or a cluster
 * Allocation into the configuration files of an engine the user already runs; it never talks to
 * that engine itself (files first, applied second).
 */
import type { Plan } from '../model/plan.ts';
import type { Allocation } from '../model/cluster.ts';
import type { ExportOptions } from './options.ts';

/** The two documents hetserve can export. */
export type ExportDocument = Plan | Allocation;
export type DocumentKind = 'plan' | 'allocation';

/** One file to write, relative to the output directory. */
export interface ExportFile {
  readonly path: string;
  readonly content: string;
  /** Kubernetes objects in this file, so `--apply` (and tests) need not re-parse YAML. */
  readonly objects?: readonly Record<string, unknown>[];
}

/**
 * Where each unit of the input went: a plan group (`group-<i>`) or an allocated instance type
 * (`type:<name>`). Every unit appears exactly once, either emitted or unsupported.
 */
export interface ExportUnit {
  /** `group-<index>` or `type:<instance type name>`. */
  readonly ref: string;
  /** Name of the engine object that serves it (function, Service, deployment); absent when unsupported. */
  readonly name?: string;
  /** Why the target cannot express this unit (only when not emitted). */
  readonly unsupported?: string;
}

export interface ExportResult {
  readonly target: string;
  readonly files: ExportFile[];
  /** Units of the input and what became of them. */
  readonly units: ExportUnit[];
  /** Things the target cannot express exactly (rounded resources, capped memory, …). */
  readonly warnings: string[];
}

export interface Exporter {
  /** Target name used by `--target`. */
  readonly target: string;
  /** One-line description for `--help`. */
  readonly description: string;
  /** Which input documents it accepts. */
  readonly accepts: 'plan' | 'allocation' | 'both';
  /**
   * Why the target cannot serve an app the plan splits over several groups (`appRps`); absent when
   * it can (weighted routes). A plan with a split app is then refused with E_TARGET_UNSUPPORTED.
   */
  readonly splitApps?: string;
  /** Whether the files are Kubernetes manifests (the only ones `--apply` could apply). */
  readonly kubernetes: boolean;
  /** Build the files. `doc` is already validated; `options` has every default filled in. */
  export(doc: ExportDocument, kind: DocumentKind, options: ExportOptions): ExportResult;
}
