import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { cosine } from '../src/node/index.js';
import { SHARED } from './fixtures.js';
import { api, assertError, formOf, startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

const BBT = join(SHARED, 'faces/identities/bbt');
const GROUP = join(SHARED, 'faces/groups/insightface/t1.jpg');
const BABOON = join(SHARED, 'faces/negatives/debian/baboon.jpg');
const photo = (person: string, n: number) => {
  const path = join(BBT, person, `${person}${n}.png`);
  return { data: readFileSync(path), name: basename(path) };
};
const file = (path: string) => ({ data: readFileSync(path), name: basename(path) });


describe('faceprint serve', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ rateLimitPerMinute: 0, pixelLimit: 4_000_000 });
  });
  after(() => s.close());

  test('health is open; every other route needs a key with the right scope', async () => {
    assert.equal((await api(s.url, 'GET', '/healthz')).status, 200);
    const ready = await api(s.url, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.ready, true);
    // no model paths or names: anyone may ask
    assert.deepEqual(Object.keys(ready.body).sort(), ['closing', 'ready', 'store']);
    assertError(await api(s.url, 'GET', '/v1/subjects'), 401, 'UNAUTHORIZED');
    assertError(await api(s.url, 'GET', '/v1/subjects', { key: 'fp_00000000_' + 'A'.repeat(43) }), 401, 'UNAUTHORIZED');
    assertError(await api(s.url, 'GET', '/v1/subjects', { key: s.key.read.slice(0, -1) + (s.key.read.endsWith('A') ? 'B' : 'A') }), 401, 'UNAUTHORIZED');
    assert.equal((await api(s.url, 'GET', '/v1/subjects', { key: s.key.read })).status, 200);
    assert.equal((await api(s.url, 'GET', '/v1/subjects', { headers: { 'x-api-key': s.key.read } })).status, 200);
    assertError(await api(s.url, 'POST', '/v1/subjects', { key: s.key.read, json: { name: 'nobody' } }), 403, 'FORBIDDEN');
    assertError(await api(s.url, 'GET', '/metrics', { key: s.key.write }), 403, 'FORBIDDEN');
    const metrics = await api(s.url, 'GET', '/metrics', { key: s.key.admin });
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /faceprint_http_requests_total\{method="GET",route="\/v1\/subjects",status="401"\} 3/);
    // revoked on disk → refused by the running server within a second
    const { key, record } = await s.keys!.create('temp', ['read']);
    assert.equal((await api(s.url, 'GET', '/v1/clusters', { key })).status, 200);
    await s.keys!.revoke(record.id);
    // the key file is re-read at most once a second: asked until the running server refuses it
    assertError(await until(() => api(s.url, 'GET', '/v1/clusters', { key }), (r) => r.status !== 200, 'the revocation to be read'), 401, 'UNAUTHORIZED');
  });

  test('analyze: multipart, raw and base64 JSON give the library\'s faces and embeddings', async () => {
    const bytes = readFileSync(GROUP);
    const expected = await s.analyzer.analyze(GROUP);
    const multipart = await api(s.url, 'POST', '/v1/analyze?embeddings=true', { key: s.key.read, form: formOf({ image: [file(GROUP)] }) });
    const raw = await api(s.url, 'POST', '/v1/analyze?embeddings=true', { key: s.key.read, raw: bytes, type: 'image/jpeg' });
    const json = await api(s.url, 'POST', '/v1/analyze?embeddings=true', { key: s.key.read, json: { image: `data:image/jpeg;base64,${bytes.toString('base64')}` } });
    assert.ok(expected.length >= 3);
    for (const res of [multipart, raw, json]) {
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.width, 1280);
      assert.equal(res.body.faces.length, expected.length);
      res.body.faces.forEach((f: any, i: number) => {
        assert.deepEqual(f.bbox, expected[i].bbox);
        assert.deepEqual(f.kps, expected[i].kps);
        assert.ok(cosine(Float32Array.from(f.embedding), expected[i].embedding!) > 0.99999);
      });
    }
    const noEmb = await api(s.url, 'POST', '/v1/analyze?maxFaces=1', { key: s.key.read, raw: bytes, type: 'image/jpeg' });
    assert.equal(noEmb.body.faces.length, 1);
    assert.equal(noEmb.body.faces[0].embedding, undefined);
  });

  test('subjects: create, list by page, get, rename, enrol, identify, verify, delete a face, delete', async () => {
    const w = s.key.write;
    const amy = await api(s.url, 'POST', '/v1/subjects', { key: w, json: { name: 'amy', metadata: { show: 'bbt' } } });
    assert.equal(amy.status, 201, amy.text);
    assertError(await api(s.url, 'POST', '/v1/subjects', { key: w, json: { name: 'amy' } }), 409, 'SUBJECT_EXISTS');
    assertError(await api(s.url, 'POST', '/v1/subjects', { key: w, json: { nom: 'x' } }), 400, 'INVALID_INPUT');
    assert.equal((await api(s.url, 'POST', '/v1/subjects', { key: w, json: { name: 'pen' } })).status, 201);
    assert.equal((await api(s.url, 'PATCH', '/v1/subjects/pen', { key: w, json: { name: 'penny' } })).body.name, 'penny');

    const enrol = await api(s.url, 'POST', '/v1/subjects/amy/faces', { key: w, form: formOf({ images: [photo('amy', 1), photo('amy', 2), photo('amy', 3), file(BABOON)] }) });
    assert.equal(enrol.status, 201, enrol.text);
    assert.equal(enrol.body.accepted.length, 3);
    assert.deepEqual(enrol.body.refused.map((r: any) => [r.source, r.reason]), [['baboon.jpg', 'NO_FACE']]);
    assert.equal(enrol.body.subject.faceCount, 3);
    const pennyEnrol = await api(s.url, 'POST', `/v1/subjects/${(await api(s.url, 'GET', '/v1/subjects/penny', { key: w })).body.id}/faces`, {
      key: w, json: { images: [1, 2, 3].map((n) => photo('penny', n).data.toString('base64')) },
    });
    assert.equal(pennyEnrol.body.accepted.length, 3, pennyEnrol.text);
    assertError(await api(s.url, 'POST', '/v1/subjects/nobody/faces', { key: w, form: formOf({ images: [photo('amy', 4)] }) }), 404, 'SUBJECT_NOT_FOUND');

    const page = await api(s.url, 'GET', '/v1/subjects?limit=1&offset=1', { key: s.key.read });
    assert.equal(page.body.total, 2);
    assert.deepEqual(page.body.subjects.map((x: any) => x.name), ['penny']);
    const got = await api(s.url, 'GET', '/v1/subjects/amy', { key: s.key.read });
    assert.equal(got.body.faces.length, 3);
    assert.equal(got.body.faces[0].embedding, undefined, 'embeddings never leave the server');
    assert.deepEqual(got.body.metadata, { show: 'bbt' });
    assertError(await api(s.url, 'PATCH', '/v1/subjects/amy', { key: w, json: {} }), 400, 'INVALID_INPUT');
    const patched = await api(s.url, 'PATCH', `/v1/subjects/${got.body.id}`, { key: w, json: { metadata: { show: 'bbt', season: 3 } } });
    assert.deepEqual(patched.body.metadata, { show: 'bbt', season: 3 });
    assert.equal(patched.body.name, 'amy');

    for (const person of ['amy', 'penny']) {
      const id = await api(s.url, 'POST', '/v1/identify?threshold=0.3&k=2', { key: s.key.read, form: formOf({ image: [photo(person, 5)] }) });
      assert.equal(id.status, 200, id.text);
      assert.equal(id.body.faces.length, 1);
      assert.equal(id.body.faces[0].subject.name, person);
      assert.equal(id.body.faces[0].candidates.length, 2);
    }
    const filtered = await api(s.url, 'POST', `/v1/identify?threshold=0.3&where=${encodeURIComponent('{"show":"other"}')}`, { key: s.key.read, form: formOf({ image: [photo('amy', 5)] }) });
    assert.equal(filtered.body.faces[0].subject, null);
    assertError(await api(s.url, 'POST', '/v1/identify?where=notjson', { key: s.key.read, form: formOf({ image: [photo('amy', 5)] }) }), 400, 'INVALID_INPUT');
    assertError(await api(s.url, 'POST', '/v1/identify?k=0', { key: s.key.read, form: formOf({ image: [photo('amy', 5)] }) }), 400, 'INVALID_INPUT');
    // no threshold given, no calibration: the fixture recognizer's known threshold, and the answer says so
    const known = await api(s.url, 'POST', '/v1/identify', { key: s.key.read, form: formOf({ image: [photo('amy', 5)] }) });
    assert.equal(known.status, 200, known.text);
    assert.deepEqual([known.body.faces[0].subject.name, known.body.faces[0].threshold, known.body.faces[0].thresholdSource], ['amy', 0.27, 'known-model']);
    const inForce = await api(s.url, 'GET', '/v1/threshold', { key: s.key.read });
    assert.deepEqual([inForce.body.threshold, inForce.body.thresholdSource, inForce.body.maxDistance], [0.27, 'known-model', 0.73]);
    assert.match(inForce.body.basis, /^known model mobilefacenet\.onnx/);

    const same = await api(s.url, 'POST', '/v1/verify?threshold=0.3', { key: s.key.read, form: formOf({ a: [photo('amy', 4)], b: [photo('amy', 5)] }) });
    const diff = await api(s.url, 'POST', '/v1/verify?threshold=0.3', { key: s.key.read, form: formOf({ a: [photo('amy', 4)], b: [photo('penny', 5)] }) });
    assert.equal(same.body.same, true, same.text);
    assert.equal(diff.body.same, false, diff.text);
    assert.ok(same.body.score > diff.body.score);
    const vs = await api(s.url, 'POST', '/v1/verify?subject=amy&threshold=0.3', { key: s.key.read, form: formOf({ image: [photo('amy', 4)] }) });
    assert.equal(vs.body.same, true, vs.text);
    assertError(await api(s.url, 'POST', '/v1/verify?threshold=0.3', { key: s.key.read, form: formOf({ a: [photo('amy', 4)], b: [file(BABOON)] }) }), 422, 'NO_FACE');
    assertError(await api(s.url, 'POST', '/v1/verify', { key: s.key.read, form: formOf({ a: [photo('amy', 4)] }) }), 400, 'INVALID_INPUT');

    const faceId = enrol.body.accepted[0].faceId;
    assertError(await api(s.url, 'DELETE', `/v1/subjects/penny/faces/${faceId}`, { key: w }), 404, 'FACE_NOT_FOUND');
    const del = await api(s.url, 'DELETE', `/v1/subjects/amy/faces/${faceId}`, { key: w });
    assert.equal(del.body.subject.faceCount, 2, del.text);
    assert.equal((await api(s.url, 'DELETE', '/v1/subjects/penny', { key: w })).body.deletedFaces, 3);
    assertError(await api(s.url, 'GET', '/v1/subjects/penny', { key: w }), 404, 'SUBJECT_NOT_FOUND');
  });

  test('cluster: photos of three people become three groups; one is promoted to a subject', async () => {
    const people = ['howard', 'raj', 'sheldon'];
    const res = await api(s.url, 'POST', '/v1/cluster?minFaces=2&maxDistance=0.6', { key: s.key.write, form: formOf({ images: people.flatMap((p) => [1, 2, 3, 4, 5].map((n) => photo(p, n))) }) });
    assert.equal(res.status, 200, res.text);
    const groups = res.body.clusters.map((c: any) => new Set(c.faces.map((f: any) => f.source.replace(/\d\.png$/, ''))));
    assert.equal(groups.length, 3, res.text);
    for (const g of groups) assert.equal(g.size, 1, `a cluster mixes people: ${[...g]}`);
    assert.deepEqual(groups.map((g: Set<string>) => [...g][0]).sort(), people, 'one group per person');
    const listed = await api(s.url, 'GET', '/v1/clusters', { key: s.key.read });
    assert.deepEqual(listed.body.clusters.map((c: any) => c.id), res.body.clusters.map((c: any) => c.id));
    const top = res.body.clusters[0];
    const promoted = await api(s.url, 'POST', `/v1/clusters/${top.id}/promote`, { key: s.key.write, json: { name: 'promoted' } });
    assert.equal(promoted.status, 201, promoted.text);
    assert.equal(promoted.body.faceCount, top.size);
    assertError(await api(s.url, 'POST', '/v1/clusters/no-such-cluster/promote', { key: s.key.write, json: { name: 'x' } }), 404, 'CLUSTER_NOT_FOUND');
  });

  test('hostile input: bad images, a 50 MB body, wrong content types, bad JSON — 4xx, one shape, server still up', async () => {
    const r = s.key.read;
    const jpeg = readFileSync(GROUP);
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: r, raw: new Uint8Array(0), type: 'image/jpeg' }), 400, 'IMAGE_EMPTY');
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: r, raw: Buffer.from('not an image at all '.repeat(20)), type: 'image/jpeg' }), 415, 'IMAGE_UNSUPPORTED');
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: r, raw: jpeg.subarray(0, jpeg.length >> 1), type: 'image/jpeg' }), 400, 'IMAGE_CORRUPT');
    // over the server's pixel limit (4 M here): refused from the header, before decoding
    const huge = await sharp({ create: { width: 2100, height: 2000, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: r, raw: huge, type: 'image/jpeg' }), 413, 'IMAGE_TOO_LARGE');
    const big = await api(s.url, 'POST', '/v1/analyze', { key: r, raw: new Uint8Array(50 * 1024 * 1024), type: 'image/jpeg' }).catch((e) => ({ status: 0, body: null, text: String(e) }));
    assertError(big as any, 413, 'BODY_TOO_LARGE');
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: r, raw: Buffer.from('hello'), type: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: r, raw: Buffer.from('{"image": '), type: 'application/json' }), 400, 'INVALID_BODY');
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: r, json: { image: '@@@ not base64 @@@' } }), 400, 'INVALID_INPUT');
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: r, json: { image: { url: 'http://169.254.169.254/latest/meta-data' } } }), 400, 'URL_FETCH_DISABLED');
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: r, json: {} }), 400, 'INVALID_INPUT');
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: r, form: formOf({ image: [file(GROUP), file(GROUP)] }) }), 400, 'INVALID_INPUT');
    assertError(await api(s.url, 'GET', '/v1/nothing-here', { key: r }), 404, 'NOT_FOUND');
    assert.equal((await api(s.url, 'GET', '/healthz')).status, 200);
    assert.equal((await api(s.url, 'POST', '/v1/analyze', { key: r, raw: jpeg, type: 'image/jpeg' })).status, 200);
  });

  test('OpenAPI document and docs page', async () => {
    const doc = await api(s.url, 'GET', '/openapi.json');
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    const paths = Object.keys(doc.body.paths);
    for (const p of ['/v1/analyze', '/v1/verify', '/v1/identify', '/v1/subjects', '/v1/subjects/{ref}', '/v1/subjects/{ref}/faces', '/v1/subjects/{ref}/faces/{faceId}', '/v1/cluster', '/v1/clusters', '/v1/clusters/{id}/promote', '/healthz', '/readyz', '/metrics']) {
      assert.ok(paths.includes(p), `${p} missing from ${paths}`);
    }
    assert.ok(doc.body.paths['/v1/analyze'].post.requestBody.content['multipart/form-data']);
    assert.ok(doc.body.paths['/v1/subjects/{ref}/faces'].post.requestBody.content['application/json']);
    assert.equal(doc.body.components.securitySchemes.apiKey.scheme, 'bearer');
    const docs = await fetch(`${s.url}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /<html/i);
  });

  test('logs: request ids and key ids, never a key, an image or an embedding', async () => {
    const bytes = readFileSync(GROUP);
    const b64 = bytes.toString('base64');
    const res = await api(s.url, 'POST', '/v1/analyze?embeddings=true', { key: s.key.read, json: { image: b64 }, headers: { 'x-request-id': 'trace-me-123' } });
    assert.equal(res.headers.get('x-request-id'), 'trace-me-123');
    const text = s.logs.join('\n');
    assert.match(text, /"reqId":"trace-me-123"/);
    assert.match(text, /"key":"[0-9a-f]{8}"/);
    for (const key of Object.values(s.key)) assert.ok(!text.includes(key.slice(12)), 'a key secret is in the log');
    assert.ok(!text.includes(b64.slice(100, 160)), 'image bytes are in the log');
    const emb = String(res.body.faces[0].embedding[0]);
    assert.ok(!text.includes(emb), 'an embedding is in the log');
  });
});

describe('faceprint serve under load', () => {
  test('past capacity: 503 with Retry-After, counted in metrics; nothing lost', async () => {
    const s = await startTestServer({ concurrency: 1, maxQueue: 0, rateLimitPerMinute: 0 });
    try {
      const bytes = readFileSync(GROUP);
      const all = await Promise.all(Array.from({ length: 6 }, () => api(s.url, 'POST', '/v1/analyze', { key: s.key.read, raw: bytes, type: 'image/jpeg' })));
      const refused = all.filter((r) => r.status === 503);
      assert.ok(refused.length >= 1, `statuses ${all.map((r) => r.status)}`);
      for (const r of refused) {
        assertError(r, 503, 'OVERLOADED');
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
      }
      assert.ok(all.every((r) => r.status === 200 || r.status === 503));
      const metrics = await api(s.url, 'GET', '/metrics', { key: s.key.admin });
      assert.match(metrics.text, new RegExp(`faceprint_requests_refused_total\\{reason="OVERLOADED"\\} ${refused.length}`));
    } finally {
      await s.close();
    }
  });

  test('8 clients enrolling and identifying at once: every acknowledged enrolment is stored; faces batched across requests', async () => {
    const s = await startTestServer({ concurrency: 8, maxQueue: 8, maxBatch: 16, maxWaitMs: 20, rateLimitPerMinute: 0 });
    try {
      const people = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];
      const acked: string[] = [];
      let retries = 0;
      const call = async (fn: () => Promise<any>): Promise<any> => {
        for (;;) {
          const res = await fn();
          if (res.status !== 503) return res;
          retries++;
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await Promise.all(people.map(async (person, c) => {
        for (let n = 1; n <= 4; n++) {
          const name = `${person}-${n}`;
          const created = await call(() => api(s.url, 'POST', '/v1/subjects', { key: s.key.write, json: { name } }));
          assert.equal(created.status, 201, created.text);
          const enrolled = await call(() => api(s.url, 'POST', `/v1/subjects/${name}/faces`, { key: s.key.write, form: formOf({ images: [photo(person, n)] }) }));
          assert.equal(enrolled.status, 201, enrolled.text);
          acked.push(name);
          const id = await call(() => api(s.url, 'POST', '/v1/identify?threshold=0.99&k=1', { key: s.key.read, form: formOf({ image: [photo(people[(c + n) % 8], 5)] }) }));
          assert.equal(id.status, 200, id.text);
        }
      }));
      const listed = await api(s.url, 'GET', '/v1/subjects?limit=1000', { key: s.key.read });
      assert.equal(listed.body.total, 32);
      assert.deepEqual(listed.body.subjects.map((x: any) => x.name).sort(), acked.sort());
      assert.ok(listed.body.subjects.every((x: any) => x.faceCount === 1));
      const metrics = (await api(s.url, 'GET', '/metrics', { key: s.key.admin })).text;
      const count = Number(/faceprint_embed_batch_size_count (\d+)/.exec(metrics)![1]);
      const sum = Number(/faceprint_embed_batch_size_sum (\d+)/.exec(metrics)![1]);
      assert.equal(sum, 64, 'one face per enrolment and per identify');
      assert.ok(count < sum, `faces from concurrent requests share runs (${sum} faces in ${count} runs)`);
      assert.equal((await api(s.url, 'GET', '/healthz')).status, 200);
      // eight clients, one request each at a time, eight slots: none is ever turned away
      assert.equal(retries, 0, `${retries} requests got 503`);
    } finally {
      await s.close();
    }
  });

  test('rate limit per key: 429 with Retry-After; another key is unaffected', async () => {
    const s = await startTestServer({ rateLimitPerMinute: 3 });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await api(s.url, 'GET', '/v1/clusters', { key: s.key.read })).status, 200);
      const limited = await api(s.url, 'GET', '/v1/clusters', { key: s.key.read });
      assertError(limited, 429, 'RATE_LIMITED');
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assert.equal((await api(s.url, 'GET', '/v1/clusters', { key: s.key.write })).status, 200);
      assert.equal((await api(s.url, 'GET', '/healthz')).status, 200);
    } finally {
      await s.close();
    }
  });
});

describe('faceprint serve limits', () => {
  test('multipart: files over the body limit in all → 413, whatever each file\'s size', async () => {
    const s = await startTestServer({ bodyLimit: 1_000_000 });
    try {
      const chunk = () => ({ data: new Uint8Array(400_000).fill(7), name: 'x.jpg' });
      assertError(await api(s.url, 'POST', '/v1/cluster', { key: s.key.write, form: formOf({ images: [chunk(), chunk(), chunk()] }) }), 413, 'BODY_TOO_LARGE');
      assertError(await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, raw: new Uint8Array(1_200_000), type: 'image/jpeg' }), 413, 'BODY_TOO_LARGE');
      assert.equal((await api(s.url, 'GET', '/v1/clusters', { key: s.key.read })).body.unclustered, 0, 'nothing of the refused upload was stored');
    } finally {
      await s.close();
    }
  });
});

describe('faceprint serve options', () => {
  test('CORS off by default, on for configured origins; URL fetch only from allowed hosts; single-user only on loopback', async () => {
    const images = createHttpServer((req, res) => {
      if (req.url === '/face.jpg') res.end(readFileSync(GROUP));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(images.address() as { port: number }).port}`;
    const off = await startTestServer({ singleUser: true });
    const on = await startTestServer({ corsOrigins: ['http://app.example'], fetchHosts: [host] });
    try {
      const plain = await fetch(`${off.url}/v1/clusters`);
      assert.equal(plain.status, 200, 'single-user mode needs no key');
      assert.equal(plain.headers.get('access-control-allow-origin'), null);
      // another site's page gets nothing from a server without CORS (test/security.test.ts probes this further)
      assertError(await api(off.url, 'GET', '/v1/clusters', { headers: { origin: 'http://app.example' } }), 403, 'CROSS_ORIGIN');
      const cors = await fetch(`${on.url}/v1/clusters`, { headers: { origin: 'http://app.example', authorization: `Bearer ${on.key.read}` } });
      assert.equal(cors.headers.get('access-control-allow-origin'), 'http://app.example');
      const fetched = await api(on.url, 'POST', '/v1/analyze', { key: on.key.read, json: { image: { url: `http://${host}/face.jpg` } } });
      assert.equal(fetched.status, 200, fetched.text);
      assert.ok(fetched.body.faces.length >= 3);
      assertError(await api(on.url, 'POST', '/v1/analyze', { key: on.key.read, json: { image: { url: `http://${host}/missing.jpg` } } }), 400, 'URL_FETCH_FAILED');
      assertError(await api(on.url, 'POST', '/v1/analyze', { key: on.key.read, json: { image: { url: 'http://localhost:1/x.jpg' } } }), 400, 'URL_NOT_ALLOWED');
      await assert.rejects(off.server.listen({ host: '0.0.0.0', port: 0 }), /loopback/);
    } finally {
      await off.close();
      await on.close();
      images.close();
    }
  });
});
