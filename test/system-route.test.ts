// GET /v1/system: what the server runs, for an operator and the console's System view.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DET_500M, MOBILEFACENET } from './fixtures.js';
import { api, assertError, startTestServer, type TestServer } from './helpers/server.js';
import { packageVersion } from '../src/node/package-info.js';

let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s?.close(); });

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('GET /v1/system: versions, models with their sha256, providers, store and index, uptime, the last hour\'s errors by code; read scope, no path', async () => {
  assertError(await api(s.url, 'GET', '/v1/system'), 401, 'UNAUTHORIZED');
  const before = (await api(s.url, 'GET', '/v1/system', { key: s.key.read })).body;
  assert.deepEqual(before.versions, {
    faceprint: packageVersion(), node: process.version, onnxruntime: '1.30.0',
    ffmpeg: /ffmpeg version (\S+)/.exec(execFileSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8' }))![1],
  });
  assert.deepEqual(before.models, [
    { role: 'detector', file: 'det_500m.onnx', sha256: sha256(DET_500M), bytes: statSync(DET_500M).size },
    { role: 'recognizer', file: 'mobilefacenet.onnx', sha256: sha256(MOBILEFACENET), bytes: statSync(MOBILEFACENET).size },
  ]);
  assert.deepEqual([before.executionProviders, before.embeddingSize, before.detSizes], [['cpu'], 128, [128, 640]]);
  assert.deepEqual(before.store, { kind: 'sqlite', subjects: 0, bytes: statSync(join(s.dir, 'gallery.db')).size });
  assert.deepEqual(before.index, { templates: 0, unassignedFaces: 0 });
  assert.equal(before.monitors, null, 'no monitors configured');
  assert.ok(before.uptimeS >= 0 && before.uptimeS < 600);
  // two refused uploads and a missing subject: counted by their codes
  for (let i = 0; i < 2; i++) assertError(await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, raw: new TextEncoder().encode('no picture'), type: 'image/jpeg' }), 415, 'IMAGE_UNSUPPORTED');
  assertError(await api(s.url, 'GET', '/v1/subjects/nobody', { key: s.key.read }), 404, 'SUBJECT_NOT_FOUND');
  const later = (await api(s.url, 'GET', '/v1/system', { key: s.key.read })).body;
  assert.equal(later.errorsLastHour.IMAGE_UNSUPPORTED - (before.errorsLastHour.IMAGE_UNSUPPORTED ?? 0), 2);
  assert.equal(later.errorsLastHour.SUBJECT_NOT_FOUND - (before.errorsLastHour.SUBJECT_NOT_FOUND ?? 0), 1);
  const text = JSON.stringify(later);
  assert.ok(!text.includes(s.dir) && !text.includes('/models/'), 'no file path in the report');
  // in the OpenAPI document with its response shape
  const doc = (await api(s.url, 'GET', '/openapi.json')).body;
  assert.ok(doc.paths['/v1/system'].get.responses['200'].content['application/json'].schema.properties.errorsLastHour);
});
