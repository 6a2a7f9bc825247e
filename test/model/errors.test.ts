import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ERROR_CATALOGUE, HetserveError } from '../../src/model/errors.ts';
import { parseWith } from '../../src/model/validate.ts';
import { AppListSchema } from '../../src/model/app.ts';

test('every catalogue entry has a distinct code and sane exit/HTTP codes', () => {
  for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
    assert.match(code, /^E_[A-Z_]+$/);
    assert.ok(spec.exitCode >= 1 && spec.exitCode <= 4, code);
    assert.ok(spec.httpStatus >= 400 && spec.httpStatus < 600, code);
  }
});

test('a problem body carries code, status and detail', () => {
  const e = new HetserveError('E_APP_INVALID', 'apps[1].slo: must be > 0 (got -1)', { field: 'apps[1].slo' });
  const p = e.toProblem('/v2/x');
  assert.equal(p['status'], 400);
  assert.equal(p['code'], 'E_APP_INVALID');
  assert.equal(p['field'], 'apps[1].slo');
  assert.equal(e.exitCode, 2);
});

test('parseWith names the bad field and the value', () => {
  assert.throws(
    () =>
      parseWith(
        AppListSchema,
        [
          { name: 'a', slo: 0.5, rps: 1 },
          { name: 'b', slo: -1, rps: 1 },
        ],
        'E_APP_INVALID',
        'apps',
      ),
    (e: unknown) =>
      e instanceof HetserveError &&
      e.code === 'E_APP_INVALID' &&
      /apps\.1\.slo/.test(e.message) &&
      /-1/.test(e.message),
  );
  assert.equal(parseWith(z.number(), 3, 'E_INVALID_INPUT', 'x'), 3);
});
