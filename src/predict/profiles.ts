/**
 * Model profiles for the serverless predictor: the four bundled HarmonyBatch models and user
 * profile files (the format `hetserve profile` writes, i.e. `ServerlessProfileSchema`).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { HetserveError, badField } from '../model/errors.ts';
import type { ServerlessProfile } from '../model/profile.ts';
import { profileSchemas } from '../model/profile-schema.ts';
import { parseWith } from '../model/validate.ts';
import { markPhysicalProfile } from './validity.ts';

const BUNDLED_MODEL_FILE = new URL('../../data/harmonybatch/model.json', import.meta.url);

/** The prototype's `conf/model.json` layout (one entry per model); built on first use. */
let prototypeModelSchema: ReturnType<typeof buildPrototypeModelSchema> | undefined;
const buildPrototypeModelSchema = () => {
  const TripleList = z.array(z.tuple([z.number(), z.number(), z.number()]));
  return z.object({
    CPU: z
      .object({
        mem: z.tuple([z.number(), z.number()]),
        avg: z.object({ Exponential: TripleList }),
        max: z.object({ Exponential: TripleList }),
      })
      .optional(),
    GPU: z
      .object({
        mem: z.number(),
        gpu_mem: z.array(z.number()),
        A10: z.object({
          l1: z.number(),
          l2: z.number(),
          t: z.number(),
          G: z.number(),
          a: z.number().optional(),
          b: z.number().optional(),
        }),
      })
      .optional(),
  });
};
/** The prototype's conf/model.json layout with its field types. */
type PrototypeModelEntry = z.output<ReturnType<typeof buildPrototypeModelSchema>>;

/** Convert one entry of the prototype's model.json into a validated `ServerlessProfile`. */
export function profileFromPrototypeEntry(name: string, entry: unknown, source?: string): ServerlessProfile {
  prototypeModelSchema ??= buildPrototypeModelSchema();
  const e = parseWith(prototypeModelSchema, entry, 'E_PROFILE_INVALID', `models.${name}`);
  return parseWith(
    profileSchemas().ServerlessProfileSchema,
    fromPrototypeLayout(name, e, source),
    'E_PROFILE_INVALID',
    `models.${name}`,
  );
}

/** The profile an entry of the prototype's layout describes (not validated). */
function fromPrototypeLayout(name: string, e: PrototypeModelEntry, source?: string): ServerlessProfile {
  return {
    name,
    ...(source ? { source } : {}),
    ...(e.CPU ? { cpu: { memMb: e.CPU.mem, avg: e.CPU.avg.Exponential, max: e.CPU.max.Exponential } } : {}),
    ...(e.GPU
      ? {
          gpu: {
            hostMemMb: e.GPU.mem,
            gpuMemThresholds: e.GPU.gpu_mem,
            xi1: e.GPU.A10.l1,
            xi2: e.GPU.A10.l2,
            sliceS: e.GPU.A10.t,
            sliceUnits: e.GPU.A10.G,
            gpuShare: e.GPU.A10.a ?? 1,
            cpuShare: e.GPU.A10.b ?? 0,
          },
        }
      : {}),
  };
}

let bundledCache: Map<string, ServerlessProfile> | undefined;
const BUNDLED_SOURCE = 'HarmonyBatch prototype conf/model.json';

/** The bundled models (VGG19, Bert, GPT-2, VideoMAE), keyed by their canonical names. */
export function bundledProfiles(): ReadonlyMap<string, ServerlessProfile> {
  if (!bundledCache) {
    const raw = JSON.parse(readFileSync(BUNDLED_MODEL_FILE, 'utf8')) as Record<string, unknown>;
    const m = new Map<string, ServerlessProfile>();
    // Shipped data, checked by test/predict.test.ts to pass profileFromPrototypeEntry's validation
    // unchanged: validating it at every start (and building the zod schemas to do so) cost a cold
    // `hetserve plan` a tenth of its time.
    for (const [name, entry] of Object.entries(raw)) {
      const profile = fromPrototypeLayout(name, entry as PrototypeModelEntry, BUNDLED_SOURCE);
      markPhysicalProfile(profile); // checked by the same test
      m.set(name, profile);
    }
    bundledCache = m;
  }
  return bundledCache;
}

/** Names of the bundled models. */
export function bundledModelNames(): string[] {
  return [...bundledProfiles().keys()];
}

/** A bundled model by name, case-insensitively ("vgg19" finds VGG19). */
export function bundledProfile(name: string): ServerlessProfile {
  const all = bundledProfiles();
  const want = name.toLowerCase();
  for (const [k, v] of all) if (k.toLowerCase() === want) return v;
  throw badField('E_UNKNOWN_MODEL', 'model', name, `unknown model; bundled: ${[...all.keys()].join(', ')}`, {
    hint: 'pass a bundled model name or a profile JSON file (see `hetserve schema profile`)',
  });
}

/** Validate an in-memory profile document. */
export function parseProfile(doc: unknown, where = 'profile'): ServerlessProfile {
  return parseWith(profileSchemas().ServerlessProfileSchema, doc, 'E_PROFILE_INVALID', where);
}

/** Read and validate a profile JSON file. */
export function loadProfileFile(path: string): ServerlessProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HetserveError(
      'E_FILE_NOT_FOUND',
      `model: cannot read profile file ${JSON.stringify(path)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { field: 'model', value: path },
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new HetserveError(
      'E_FILE_PARSE',
      `model: ${JSON.stringify(path)} is not valid JSON (${(e as Error).message})`,
      {
        field: 'model',
        value: path,
      },
    );
  }
  return parseProfile(doc, 'profile');
}

/**
 * `name` is a bundled model name or, when it ends in `.json` or contains a path separator, a
 * profile file.
 */
export function resolveProfile(nameOrPath: string): ServerlessProfile {
  if (/\.json$/i.test(nameOrPath) || nameOrPath.includes('/') || nameOrPath.includes('\\')) {
    return loadProfileFile(nameOrPath);
  }
  return bundledProfile(nameOrPath);
}
