// Security suite, 2 of 3: what a hostile client with a valid key can do to `faceprint serve` — work, memory,
// the thread pool, latency, URL fetching, keys. Every probe against a real server on 127.0.0.1.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { KeyStore } from '../src/http/keys.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';
import { spawnServe } from './helpers/serve-process.js';
import { until } from './helpers/wait.js';
import { api, assertError, startTestServer, type TestServer } from './helpers/server.js';

const GROUP = readFileSync(join(SHARED, 'faces/groups/insightface/t1.jpg'));
const AMY = readFileSync(join(SHARED, 'faces/identities/bbt/amy/amy1.png'));
const TINY_PNG = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer();
// a 228-byte SVG whose blur takes libvips minutes to render
const SVG_BOMB = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="20000" height="20000"><filter id="b"><feGaussianBlur stdDeviation="900"/></filter><rect width="20000" height="20000" filter="url(#b)"/></svg>');
const b64 = (data: Uint8Array) => Buffer.from(data).toString('base64');

/** An image host for the URL probes: a face, a 1-byte-every-200-ms drip, an endless body; counts requests. */
function imageHost(): Promise<{ server: Server; host: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createHttpServer((req, res) => {
    hits.push(req.url!);
    if (req.url === '/face.jpg') return void res.end(GROUP);
    if (req.url === '/drip') {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const t = setInterval(() => res.write(Buffer.from([0xff])), 200);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (req.url === '/endless') {
      res.writeHead(200);
      const chunk = Buffer.alloc(1 << 16, 0xff);
      const more = () => { while (!res.destroyed && res.write(chunk)); };
      res.on('drain', more);
      more();
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, host: `127.0.0.1:${(server.address() as { port: number }).port}`, hits })));
}

describe('a hostile client: work per request is bounded', () => {
  let s: TestServer;
  let images: Awaited<ReturnType<typeof imageHost>>;
  before(async () => {
    images = await imageHost();
    s = await startTestServer({ rateLimitPerMinute: 0, fetchHosts: [images.host, `localhost:${images.host.split(':')[1]}`], fetchTimeoutMs: 1500, bodyLimit: 12 * 1024 * 1024 });
  });
  after(async () => {
    await s.close();
    images.server.close();
  });

  test('images per request are capped (JSON and multipart): 33 tiny PNGs are refused before any decoding', async () => {
    const decodes = countDecodes(s);
    assertError(await api(s.url, 'POST', '/v1/cluster', { key: s.key.write, json: { images: Array.from({ length: 33 }, () => b64(TINY_PNG)) } }), 413, 'TOO_MANY_IMAGES');
    const form = new FormData();
    for (let i = 0; i < 33; i++) form.append('images', new Blob([TINY_PNG as Uint8Array<ArrayBuffer>]), `t${i}.png`);
    assertError(await api(s.url, 'POST', '/v1/subjects/x/faces?create=true', { key: s.key.write, form }), 413, 'TOO_MANY_IMAGES');
    assert.equal(decodes(), 0, 'refused without the work');
    assertError(await api(s.url, 'GET', '/v1/subjects/x', { key: s.key.read }), 404, 'SUBJECT_NOT_FOUND');
  });

  test('only the route\'s image fields are read, and URLs are fetched only after the whole request passed its checks', async () => {
    const url = { url: `http://${images.host}/face.jpg` };
    images.hits.length = 0;
    // analyze reads `image`: the 21 URLs elsewhere are refused, none fetched
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, json: { image: url, images: Array(20).fill(url), a: url } }), 400, 'INVALID_INPUT');
    // five URLs where four are allowed: refused before the first fetch
    assertError(await api(s.url, 'POST', '/v1/cluster', { key: s.key.write, json: { images: Array(5).fill(url) } }), 413, 'TOO_MANY_URLS');
    assert.deepEqual(images.hits, []);
    // verify against a subject reads one image: a and b together are not that
    assertError(await api(s.url, 'POST', '/v1/verify?subject=amy', { key: s.key.read, json: { image: url, b: url } }), 400, 'INVALID_INPUT');
    assert.deepEqual(images.hits, []);
    const ok = await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, json: { image: url } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(images.hits, ['/face.jpg']);
  });

  test('URL fetching: one time limit for the whole fetch (a drip is cut off), a byte cap, internal addresses refused at connect time, no raw TLS text', async () => {
    // the fetch's one time limit is what ends it ("took too long"), not the request's own deadline
    const drip = await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, json: { image: { url: `http://${images.host}/drip` } } });
    assertError(drip, 400, 'URL_FETCH_FAILED');
    assert.match(drip.body.error.message, /took too long/);
    assertError(await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, json: { image: { url: `http://${images.host}/endless` } } }), 413, 'BODY_TOO_LARGE');
    // an allowed *name* that resolves to loopback: what DNS rebinding turns a public name into
    const rebound = await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, json: { image: { url: `http://localhost:${images.host.split(':')[1]}/face.jpg` } } });
    assertError(rebound, 400, 'URL_FETCH_FAILED');
    assert.match(rebound.body.error.message, /resolves to an internal address/);
    // TLS to a plain-HTTP port: OpenSSL's own words ("wrong version number", "routines") stay in the server
    const tls = await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, json: { image: { url: `https://${images.host}/face.jpg` } } });
    assertError(tls, 400, 'URL_FETCH_FAILED');
    assert.doesNotMatch(tls.body.error.message, /routines|version number|SSL|ssl3|openssl/i);
    assert.match(tls.body.error.message, /^image: the image (host|could not)/);
  });

  test('a client that goes away stops its work: 32 group photos, the connection dropped after 0.5 s', async () => {
    const body = JSON.stringify({ images: Array.from({ length: 32 }, () => b64(GROUP)) });
    // the whole job, for comparison
    let t0 = Date.now();
    const full = await api(s.url, 'POST', '/v1/cluster', { key: s.key.write, json: JSON.parse(body) });
    assert.equal(full.status, 200, full.text);
    const fullMs = Date.now() - t0;
    const ac = new AbortController();
    const req = fetch(`${s.url}/v1/subjects/quitter/faces?create=true`, { method: 'POST', body, signal: ac.signal, headers: { authorization: `Bearer ${s.key.write}`, 'content-type': 'application/json' } }).catch(() => null);
    while (s.server.admission.running === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 500));
    ac.abort();
    t0 = Date.now();
    await req;
    while (s.server.admission.running > 0) await new Promise((r) => setTimeout(r, 10));
    const stoppedMs = Date.now() - t0;
    assert.ok(stoppedMs < fullMs / 2, `work went on ${stoppedMs} ms after the client left; the whole job takes ${fullMs} ms`);
    assertError(await api(s.url, 'GET', '/v1/subjects/quitter', { key: s.key.read }), 404, 'SUBJECT_NOT_FOUND');
    await until(() => s.logs.some((l) => /client gone: work stopped/.test(l)), Boolean, 'the "client gone" log line');
  });

  test('SVG and other non-raster formats are refused before decoding; key checks do not wait behind busy decoders', async () => {
    const svgs = await Promise.all(Array.from({ length: 4 }, () => api(s.url, 'POST', '/v1/analyze', { key: s.key.read, raw: SVG_BOMB, type: 'image/svg+xml' })));
    // refused by its content (sniffed before sharp is asked): a render of the blur bomb would take minutes
    for (const r of svgs) assertError(r, 415, 'IMAGE_UNSUPPORTED');
    // libuv's pool busy with four large decodes: authentication (and the gallery) answer regardless
    const big = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: { r: 9, g: 9, b: 9 } } }).jpeg({ quality: 100 }).toBuffer();
    const decodes = countDecodes(s);
    const finished: string[] = [];
    const busy = Promise.all(Array.from({ length: 4 }, () => api(s.url, 'POST', '/v1/analyze', { key: s.key.read, raw: big, type: 'image/jpeg' }).then((r) => {
      finished.push('decode');
      return r;
    })));
    // the decodes have begun (all four handed to the pool) before the read is sent
    await until(decodes, (n) => n === 4, 'four decodes under way');
    assert.equal((await api(s.url, 'GET', '/v1/subjects', { key: s.key.read })).status, 200);
    finished.push('read');
    const done = await busy;
    assert.ok(done.every((r) => r.status === 200));
    // the order, not a time: the authenticated read answered while the decodes were still going
    assert.equal(finished[0], 'read', finished.join(', '));
  });
});

/** Counts the server's image decodes from now on (every route decodes through its analyzer). */
function countDecodes(server: TestServer): () => number {
  const analyzer = server.analyzer as unknown as { decode: (...args: unknown[]) => Promise<unknown> };
  const real = Object.getPrototypeOf(analyzer).decode as (...args: unknown[]) => Promise<unknown>;
  let n = 0;
  analyzer.decode = (...args) => {
    n++;
    return real.apply(analyzer, args);
  };
  return () => n;
}

describe('a hostile client: latency and memory', () => {
  test('a request\'s deadline counts from its arrival: 40 at once on one slot, every answer within deadline + one job, 503 + Retry-After for the rest', async () => {
    const s = await startTestServer({ rateLimitPerMinute: 0, concurrency: 1, maxQueue: 1000, deadlineMs: 1500 });
    try {
      const t0 = Date.now();
      const results = await Promise.all(Array.from({ length: 40 }, async () => {
        const r = await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, raw: GROUP, type: 'image/jpeg' });
        return { status: r.status, ms: Date.now() - t0, retryAfter: r.headers.get('retry-after') };
      }));
      const served = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 503);
      assert.equal(served.length + refused.length, 40);
      assert.ok(served.length >= 2 && refused.length >= 1, JSON.stringify(results.map((r) => r.status)));
      assert.ok(refused.every((r) => Number(r.retryAfter) >= 1));
      const worst = Math.max(...results.map((r) => r.ms));
      assert.ok(worst < 1500 + 1000, `slowest answer ${worst} ms`);
    } finally {
      await s.close();
    }
  });

  test('decoded pixels in flight stay within the memory budget: eight 20-MP PNGs at once, RSS under the budget; over it alone: 413', async () => {
    const big = await sharp({ create: { width: 4472, height: 4472, channels: 3, background: { r: 120, g: 90, b: 60 } } }).png().toBuffer();
    const huge = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: { r: 120, g: 90, b: 60 } } }).png().toBuffer();
    assert.ok(big.length < 300_000, 'a few hundred KB on the wire');
    const server = await spawnServe(['--single-user', '--store', join(mkdtempSync(join(tmpdir(), 'faceprint-sec-')), 'g.db'), '--detector', DET_500M, '--recognizer', MOBILEFACENET,
      '--log-level', 'warn', '--memory-budget-mb', '400', '--pixel-limit', '40000000', '--rate-limit', '0']);
    try {
      await fetch(server.url + '/v1/analyze', { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: GROUP as Uint8Array<ArrayBuffer> });
      const base = server.rssMiB();
      let peak = base;
      const sampler = setInterval(() => { peak = Math.max(peak, server.rssMiB()); }, 20);
      const statuses = await Promise.all(Array.from({ length: 8 }, () => fetch(server.url + '/v1/identify', { method: 'POST', headers: { 'content-type': 'image/png' }, body: big as Uint8Array<ArrayBuffer> }).then((r) => r.status)));
      clearInterval(sampler);
      assert.deepEqual(statuses, Array(8).fill(200));
      assert.ok(peak - base < 400, `RSS rose ${(peak - base).toFixed(0)} MiB over a 400 MiB budget`);
      const alone = await fetch(server.url + '/v1/analyze', { method: 'POST', headers: { 'content-type': 'image/png' }, body: huge as Uint8Array<ArrayBuffer> });
      assert.equal(alone.status, 413);
      assert.equal((await alone.json()).error.code, 'IMAGE_TOO_LARGE');
    } finally {
      await server.stop();
    }
  });
});

describe('a hostile client: keys', () => {
  test('key names are unique; a name shared by old keys is revoked only by id; the bearer scheme is case-insensitive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceprint-keys-'));
    const ks = await KeyStore.open(join(dir, 'keys.json'));
    await ks.create('ci', ['read']);
    await assert.rejects(ks.create('ci', ['admin']), /already named "ci"/);
    // a file written before names were unique: two active keys named "ci"
    const file = join(dir, 'old.json');
    const a = await KeyStore.open(file);
    const first = await a.create('ci', ['read']);
    const second = await a.create('ci2', ['read']);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.keys[1].name = 'ci';
    writeFileSync(file, JSON.stringify(json));
    const old = await KeyStore.open(file);
    await assert.rejects(old.revoke('ci'), new RegExp(`2 active keys are named "ci" \\(ids ${first.record.id}, ${second.record.id}\\)`));
    assert.equal((await old.revoke(second.record.id)).id, second.record.id);
    assert.equal((await old.revoke('ci')).id, first.record.id, 'one active key left with the name: unambiguous');
    const s = await startTestServer();
    try {
      for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
        assert.equal((await api(s.url, 'GET', '/v1/subjects', { headers: { authorization: `${scheme} ${s.key.read}` } })).status, 200, scheme);
      }
    } finally {
      await s.close();
    }
  });

  test('failed authentications are rate-limited per address: past 20 a minute, 429 with Retry-After — a good key still works', async () => {
    const s = await startTestServer({ authFailuresPerMinute: 20 });
    try {
      for (let i = 0; i < 20; i++) assertError(await api(s.url, 'GET', '/v1/subjects', { key: `fp_0000000${i % 10}_${'A'.repeat(43)}` }), 401, 'UNAUTHORIZED');
      const blocked = await api(s.url, 'GET', '/v1/subjects', { key: `fp_00000001_${'B'.repeat(43)}` });
      assertError(blocked, 429, 'TOO_MANY_AUTH_FAILURES');
      assert.ok(Number(blocked.headers.get('retry-after')) > 0);
      // the throttle is for guesses: behind one NAT, a colleague's valid key is not locked out
      assert.equal((await api(s.url, 'GET', '/v1/subjects', { key: s.key.read })).status, 200);
    } finally {
      await s.close();
    }
  });
});
