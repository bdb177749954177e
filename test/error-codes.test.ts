// One catalogue of the API's error codes (src/http/error-codes.ts): the docs' table says the same, and every
// code the library gives a status reaches the caller with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FaceprintError } from '../src/core/errors.js';
import { API_ERRORS } from '../src/http/error-codes.js';
import { ApiError, toErrorReply } from '../src/http/errors.js';
import { ROOT } from './helpers/cli.js';

test('docs/service.md\'s error table is the catalogue: every code with its status, nothing else', () => {
  const doc = readFileSync(join(ROOT, 'docs/service.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| (\d{3}) \| `([A-Z_]+)` \| /gm)].map((m) => `${m[1]} ${m[2]}`);
  const catalogue = Object.entries(API_ERRORS).map(([code, [status]]) => `${status} ${code}`);
  assert.deepEqual(rows.sort(), catalogue.sort());
});

test('an error answers with its catalogue status, whether the HTTP layer or the library raised it', () => {
  assert.equal(toErrorReply(new ApiError('TOO_MANY_IMAGES', 'x')).status, 413);
  assert.equal(toErrorReply(new FaceprintError('SUBJECT_NOT_FOUND', 'x')).status, 404);
  assert.equal(toErrorReply(new FaceprintError('NO_FACE', 'x')).status, 422);
  const busy = toErrorReply(new FaceprintError('STORE_BUSY', 'SQLITE_BUSY at /srv/gallery.db'));
  assert.deepEqual([busy.status, busy.headers['retry-after'], busy.body.error.message], [503, '1', 'the gallery store is busy; retry shortly']);
  // a library code with no status is a fault of ours: 500, and its message (a path) stays in the log
  const internal = toErrorReply(new FaceprintError('MODEL_INVALID', '/srv/models/x.onnx: bad'), 'req-1');
  assert.deepEqual([internal.status, internal.body.error.code], [500, 'INTERNAL']);
  assert.doesNotMatch(internal.body.error.message, /srv/);
});
