/** The lambda exporter: AWS Lambda (SAM template). File rules from the platform's documented limits. */
import assert from 'node:assert/strict';
import { lambdaExporter } from '../../src/export/lambda.ts';
import { num, runExporterConformance, type Obj } from './exporter.case.ts';

runExporterConformance('lambda', lambdaExporter, {
  files(files, emitted) {
    const tpl = files.get('template.yaml');
    assert.ok(tpl, 'a SAM template.yaml');
    assert.equal(tpl['AWSTemplateFormatVersion'], '2010-09-09');
    assert.equal(tpl['Transform'], 'AWS::Serverless-2016-10-31');
    const fns = Object.values(tpl['Resources'] as Obj).filter((x) => x.Type === 'AWS::Serverless::Function');
    assert.deepEqual(fns.map((f) => f.Properties.FunctionName).sort(), [...emitted].sort());
    for (const { Properties: p } of fns) {
      assert.match(p.FunctionName, /^[A-Za-z0-9_-]{1,64}$/);
      assert.ok(Number.isInteger(p.MemorySize), 'MemorySize is whole MB');
      num(p.MemorySize, 'MemorySize', 128, 10240);
      assert.ok(Number.isInteger(p.Timeout), 'Timeout is whole seconds');
      num(p.Timeout, 'Timeout', 1, 900);
      if (p.PackageType === 'Image') assert.equal(typeof p.ImageUri, 'string');
      else assert.ok(p.Runtime && p.Handler, 'a zip function names its runtime and handler');
    }
    assert.equal(files.get('routes.json')?.['kind'], 'hetserve-gateway-routes');
  },
});
