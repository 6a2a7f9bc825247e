/** What a new user meets first: config typos, missing options, where `export` writes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HetserveError } from '../../src/model/errors.ts';
import { closest } from '../../src/model/suggest.ts';
import { parseServeConfig } from '../../src/model/serve-config.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { baseConfig } from '../helpers/serve.ts';

const refusal = (input: unknown): HetserveError => {
  try {
    parseServeConfig(input);
  } catch (e) {
    return e as HetserveError;
  }
  throw new Error('accepted');
};

test('config: a misspelled key is reported as unknown, with the closest known key', () => {
  const { applications, ...rest } = baseConfig();
  const top = refusal({ ...rest, aplications: applications });
  assert.equal(top.code, 'E_CONFIG_INVALID');
  assert.equal(top.details['field'], 'config.aplications');
  assert.match(top.message, /^config\.aplications: unknown key \(did you mean "applications"\?\)/);
  const deep = refusal(baseConfig({ limits: { maxQueu: 3 } as never }));
  assert.match(deep.message, /config\.limits\.maxQueu: unknown key \(did you mean "maxQueue"\?\)/);
  const backend = refusal(
    baseConfig({ serving: { mode: 'serverless', backend: { type: 'onnx', worker: 2 } as never } }),
  );
  assert.match(backend.message, /config\.serving\.backend\.worker: unknown key \(did you mean "workers"\?\)/);
  // Nothing close: no guess.
  const far = refusal(baseConfig({ zzzzzzzz: 1 } as never));
  assert.match(far.message, /config\.zzzzzzzz: unknown key(?! \(did)/);
  assert.equal(closest('portt', ['host', 'port']), 'port');
  assert.equal(closest('banana', ['host', 'port']), undefined);
});

test('CLI: a missing required option is one line naming it, exit 2', async () => {
  const r = await runCli('simulate', 'serverless');
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /--apps/);
});

test('export: the default output folder is ignored by git and prettier', async () => {
  const help = await runCli('export', '--help');
  assert.match(help.stdout.replace(/\s+/g, ' '), /\(default: "hetserve-export"\)/);
  assert.match(readFileSync(`${ROOT}.gitignore`, 'utf8'), /^\/hetserve-export\/$/m);
  assert.match(readFileSync(`${ROOT}.prettierignore`, 'utf8'), /^hetserve-export\/$/m);
});
