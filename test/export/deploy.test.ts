/** deploy/: the Dockerfile and the plain gateway manifests stay in step with the code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { exportDocument, parseExportOptions } from '../../src/export/index.ts';
import { GATEWAY_CONFIG_DIR } from '../../src/export/gateway.ts';
import { parseServeConfig } from '../../src/model/serve-config.ts';
import { fixture } from '../helpers/export.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('deploy/k8s/gateway.yaml is what `export --target gateway` writes for the Table I plan', () => {
  const onDisk = parseAllDocuments(readFileSync(ROOT + 'deploy/k8s/gateway.yaml', 'utf8'), {
    version: '1.1',
  }).map((d) => d.toJS());
  const fresh = exportDocument(fixture('plan-mixed.json'), 'gateway').files[0].objects;
  assert.deepEqual(
    onDisk,
    fresh,
    'regenerate: hetserve export test/fixtures/export/plan-mixed.json --target gateway --out deploy/k8s',
  );
  const cm = onDisk.find((o) => o.kind === 'ConfigMap');
  assert.equal(parseServeConfig(JSON.parse(cm.data['config.json'])).serving.mode, 'serverless');
});

test("the Dockerfile copies paths that exist and runs the gateway on the manifests' config path and port", () => {
  const text = readFileSync(ROOT + 'deploy/Dockerfile', 'utf8');
  const copies = [...text.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
  assert.ok(copies.length >= 4);
  for (const src of copies) assert.ok(existsSync(ROOT + src), `COPY source ${src} exists`);
  const entry = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(text)![1]) as string[];
  assert.ok(existsSync(ROOT + entry[1]), `${entry[1]} exists`);
  const cmd = JSON.parse(/^CMD (.+)$/m.exec(text)![1]) as string[];
  assert.deepEqual(cmd, ['serve', '--config', `${GATEWAY_CONFIG_DIR}/config.json`]);
  assert.equal(Number(/^EXPOSE (\d+)$/m.exec(text)![1]), parseExportOptions({}, 'x').port);
});
