// Security suite, 3 of 3: bad input and leaks — errors that name no internals, malformed input as 400s, subject
// names, logs, file modes. Against a real server on 127.0.0.1 and the built CLI.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { maskPassword } from '../src/storage/postgres.js';
import { until } from './helpers/wait.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';
import { cli } from './helpers/cli.js';
import { multipartBody, rawRequest } from './helpers/raw-http.js';
import { api, assertError, formOf, startTestServer, type TestServer } from './helpers/server.js';

const AMY = (n: number) => ({ data: readFileSync(join(SHARED, `faces/identities/bbt/amy/amy${n}.png`)), name: `amy${n}.png` });
const deep = (depth: number) => '{"d":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
const MODELS = ['--detector', DET_500M, '--recognizer', MOBILEFACENET];

describe('bad input and leaks, over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ rateLimitPerMinute: 0 });
  });
  after(() => s.close());

  test('a 500 says "internal error" and the request id, never a path; the detail is in the log', async () => {
    writeFileSync(s.keys!.path, '{ not json');
    // the key file is re-read at most once a second: asked until the server has read the broken one
    const res = await until(() => api(s.url, 'GET', '/v1/subjects', { key: s.key.read, headers: { 'x-request-id': 'probe-500' } }), (r) => r.status !== 200, 'the broken key file to be read');
    assertError(res, 500, 'INTERNAL');
    assert.equal(res.body.error.message, 'internal error (request probe-500; the server log has the detail)');
    assert.ok(!res.text.includes(s.dir), 'no file path in the answer');
    assert.ok(s.logs.some((l) => l.includes('probe-500') && l.includes('keys.json')), 'the log has it');
  });

  test('/readyz tells anyone whether it is ready, and nothing about files or models', async () => {
    const res = await api(s.url, 'GET', '/readyz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { ready: true, store: true, closing: false });
  });

  test('metadata nested 4,000 levels deep is a 400 on every route that takes it, not a stack overflow', async () => {
    const t = await startTestServer({ rateLimitPerMinute: 0 });
    try {
      const body = `{"name":"deep","metadata":${deep(4000)}}`;
      for (const [method, path] of [['POST', '/v1/subjects'], ['PATCH', '/v1/subjects/someone'], ['POST', '/v1/clusters/x/promote']] as const) {
        if (path === '/v1/subjects/someone') await api(t.url, 'POST', '/v1/subjects', { key: t.key.write, json: { name: 'someone' } });
        const res = await rawRequest(t.url, method, path, { host: new URL(t.url).host, authorization: `Bearer ${t.key.write}`, 'content-type': 'application/json' }, method === 'PATCH' ? `{"metadata":${deep(4000)}}` : body);
        assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
        assert.equal(res.body.error.code, 'INVALID_INPUT');
      }
      // a query string that deep would not fit the request line; 40 levels do, and are refused the same way
      assertError(await api(t.url, 'POST', `/v1/identify?where=${encodeURIComponent(deep(40))}`, { key: t.key.read, form: formOf({ image: [AMY(1)] }) }), 400, 'INVALID_INPUT');
      assert.ok(!t.logs.some((l) => /"level":50/.test(l)), 'nothing logged as our fault');
    } finally {
      await t.close();
    }
  });

  test('malformed multipart is a 400, logged without a stack', async () => {
    const t = await startTestServer({ rateLimitPerMinute: 0 });
    try {
      const { body, contentType } = multipartBody('image', 'a.png', AMY(1).data);
      const cut = body.subarray(0, body.length - 20); // the closing boundary is missing
      for (const [type, payload] of [[contentType, cut], ['multipart/form-data', body], [contentType.replace(/boundary=.*/, 'boundary='), body]] as const) {
        const res = await rawRequest(t.url, 'POST', '/v1/analyze', { host: new URL(t.url).host, authorization: `Bearer ${t.key.read}`, 'content-type': type }, payload);
        assert.ok(res.status === 400 || res.status === 415, `${type}: ${res.status} ${res.text}`);
        assert.doesNotMatch(res.text, /\n\s+at /);
      }
      assert.ok(!t.logs.some((l) => /"level":50/.test(l) || /"stack"/.test(l)), t.logs.filter((l) => /"level":50|"stack"/.test(l)).join('\n'));
    } finally {
      await t.close();
    }
  });

  test('subject names: 100 characters of any script reach every route by name; 101 and hidden characters are refused', async () => {
    const t = await startTestServer({ rateLimitPerMinute: 0 });
    try {
      const name = 'Zoë-' + '\u6f22'.repeat(96); // 100 characters, 293 bytes of UTF-8, 877 percent-encoded
      const ref = encodeURIComponent(name);
      const enrol = await api(t.url, 'POST', `/v1/subjects/${ref}/faces?create=true`, { key: t.key.write, form: formOf({ images: [AMY(1)] }) });
      assert.equal(enrol.status, 201, enrol.text);
      assert.equal((await api(t.url, 'GET', `/v1/subjects/${ref}`, { key: t.key.read })).body.name, name);
      assert.equal((await api(t.url, 'POST', `/v1/verify?subject=${ref}&threshold=0.3`, { key: t.key.read, form: formOf({ image: [AMY(2)] }) })).status, 200);
      assert.equal((await api(t.url, 'PATCH', `/v1/subjects/${ref}`, { key: t.key.write, json: { metadata: { a: 1 } } })).status, 200);
      // the decomposed spelling finds the same subject
      assert.equal((await api(t.url, 'GET', `/v1/subjects/${encodeURIComponent(name.normalize('NFD'))}`, { key: t.key.read })).body.name, name);
      assert.equal((await api(t.url, 'DELETE', `/v1/subjects/${ref}`, { key: t.key.write })).status, 200);
      assertError(await api(t.url, 'POST', '/v1/subjects', { key: t.key.write, json: { name: name + 'x' } }), 400, 'INVALID_INPUT');
      for (const bad of ['\u001b[2J\u001b[Hroot', 'admin\u202Egnp.exe', 'bo\u200Bb', 'tab\there']) {
        assertError(await api(t.url, 'POST', '/v1/subjects', { key: t.key.write, json: { name: bad } }), 400, 'INVALID_INPUT');
        assertError(await api(t.url, 'POST', `/v1/subjects/${encodeURIComponent(bad)}/faces?create=true`, { key: t.key.write, form: formOf({ images: [AMY(3)] }) }), 400, 'INVALID_INPUT');
      }
      assert.equal((await api(t.url, 'GET', '/v1/subjects', { key: t.key.read })).body.total, 0);
    } finally {
      await t.close();
    }
  });

  test('logs: no query strings (a key sent as ?key= stays out), X-Request-Id kept only when short and plain', async () => {
    const t = await startTestServer({ rateLimitPerMinute: 0 });
    try {
      await api(t.url, 'GET', '/v1/subjects?key=SECRET-IN-QUERY&name=alice', { key: t.key.read });
      const good = await api(t.url, 'GET', '/healthz', { headers: { 'x-request-id': 'trace-42.a:b_c' } });
      assert.equal(good.headers.get('x-request-id'), 'trace-42.a:b_c');
      for (const bad of ['x'.repeat(65), 'has space', 'quote"', '<script>']) {
        const res = await api(t.url, 'GET', '/healthz', { headers: { 'x-request-id': bad } });
        assert.match(res.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/, bad);
      }
      // every request's line is written (the last one's included) before the log is searched
      await until(() => t.logs.filter((l) => /request completed/.test(l)).length, (n) => n >= 1 + 1 + 4, 'a line for each of the six requests');
      const all = t.logs.join('\n');
      assert.ok(!all.includes('SECRET-IN-QUERY') && !all.includes('name=alice'));
      assert.ok(all.includes('"/v1/subjects"'), 'the path is logged');
      assert.ok(!all.includes('has space') && !all.includes('<script>'));
    } finally {
      await t.close();
    }
  });
});

describe('bad input and leaks, at the edges', () => {
  test('the gallery\'s SQLite file and its WAL are created 0600, like the key file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceprint-mode-'));
    const db = join(dir, 'g.db');
    const r = await cli(['enroll', 'amy', join(SHARED, 'faces/identities/bbt/amy/amy1.png'), '--store', db, ...MODELS]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(db).mode & 0o777, 0o600);
    const open = new Database(db); // WAL and SHM exist while a connection is open
    open.prepare('SELECT count(*) FROM subjects').get();
    assert.equal(statSync(`${db}-wal`).mode & 0o777, 0o600);
    assert.equal(statSync(`${db}-shm`).mode & 0o777, 0o600);
    open.close();
  });

  test('the CLI prints names as text: escape sequences in an old gallery\'s names do not reach the terminal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceprint-ansi-'));
    const db = join(dir, 'g.db');
    assert.equal((await cli(['enroll', 'amy', join(SHARED, 'faces/identities/bbt/amy/amy1.png'), '--store', db, ...MODELS])).code, 0);
    // written by an older faceprint, before names were checked
    const raw = new Database(db);
    raw.prepare('UPDATE subjects SET name = ?').run('\u001b[2J\u001b]0;pwned\u0007amy\u202E');
    raw.close();
    for (const args of [['subjects', 'list'], ['subjects', 'list', '--json'], ['identify', join(SHARED, 'faces/identities/bbt/amy/amy2.png'), ...MODELS, '--threshold', '0.3']]) {
      const r = await cli([...args, '--store', db]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /[\u001b\u0007\u202E]/, args.join(' '));
      assert.match(r.stdout, /\\u001b\[2J\\u001b\]0;pwned\\u0007amy\\u202e/);
    }
    const json = await cli(['subjects', 'list', '--json', '--store', db]);
    assert.equal(JSON.parse(json.stdout).subjects[0].name, '\u001b[2J\u001b]0;pwned\u0007amy\u202E', 'JSON output keeps its meaning');
  });

  test('SVG is refused by the CLI too, by content whatever the file is called', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceprint-svg-'));
    const svg = join(dir, 'photo.jpg');
    writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="9000" height="9000"><filter id="b"><feGaussianBlur stdDeviation="900"/></filter><rect width="9000" height="9000" filter="url(#b)"/></svg>');
    const r = await cli(['analyze', svg, ...MODELS]);
    assert.equal(r.code, 1, 'an image that failed');
    // refused by its content before any rendering (librsvg on a 9000² blur would take minutes)
    assert.match(r.stdout + r.stderr, /IMAGE_UNSUPPORTED: .*not a raster image/);
  });

  test('PostgreSQL passwords are masked in messages, in the user part and as ?password=', async () => {
    assert.equal(maskPassword('postgres://u:hunter2@db:5432/x'), 'postgres://u:***@db:5432/x');
    assert.equal(maskPassword('postgres://db/x?sslmode=require&password=hunter2&user=u'), 'postgres://db/x?sslmode=require&password=***&user=u');
    assert.equal(maskPassword('postgresql://db/x?PASSWORD=hunter2'), 'postgresql://db/x?PASSWORD=***');
    for (const url of ['postgres://u:hunter2@127.0.0.1:1/x', 'postgres://127.0.0.1:1/x?user=u&password=hunter2']) {
      const r = await cli(['subjects', 'list', '--store', url]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /STORE_UNAVAILABLE/);
      assert.doesNotMatch(r.stderr + r.stdout, /hunter2/);
    }
  });
});
