// Security suite, 1 of 3: what a hostile web page in the user's browser can do to `faceprint serve`
// (the quick start runs --single-user on 127.0.0.1). Every probe against a real server on 127.0.0.1.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SHARED } from './fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { multipartBody, rawRequest } from './helpers/raw-http.js';

const AMY = (n: number) => readFileSync(join(SHARED, `faces/identities/bbt/amy/amy${n}.png`));

describe('a hostile web page', () => {
  let s: TestServer;
  let host: string;
  before(async () => {
    s = await startTestServer({ singleUser: true });
    host = new URL(s.url).host;
  });
  after(() => s.close());

  test('a cross-site form post cannot enrol a stranger, nothing is enrolled', async () => {
    const { body, contentType } = multipartBody('images', 'stranger.png', AMY(1));
    // what Chromium sends for a cross-site <form method=post enctype=multipart/form-data>
    const res = await rawRequest(s.url, 'POST', '/v1/subjects/alice/faces?create=true', {
      host, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'content-type': contentType,
    }, body);
    assert.equal(res.status, 403, res.text);
    assert.equal(res.body.error.code, 'CROSS_ORIGIN');
    assert.equal((await rawRequest(s.url, 'GET', '/v1/subjects/alice', { host })).status, 404, 'nothing was enrolled');
    // without the Origin header (older browsers, some navigations) Sec-Fetch-Site alone refuses it
    const bare = await rawRequest(s.url, 'POST', '/v1/subjects/alice/faces?create=true', { host, 'sec-fetch-site': 'cross-site', 'content-type': contentType }, body);
    assert.equal(bare.status, 403);
    // a page on another port of localhost is same-site, not same-origin: refused too
    const sibling = await rawRequest(s.url, 'GET', '/v1/subjects', { host, origin: 'http://127.0.0.1:3000', 'sec-fetch-site': 'same-site' });
    assert.equal(sibling.status, 403);
    // Origin "null" (sandboxed frames, file://)
    assert.equal((await rawRequest(s.url, 'GET', '/v1/subjects', { host, origin: 'null' })).status, 403);
  });

  test('reads are refused across sites as well: an <img>/<script> GET and a fetch() GET of the gallery', async () => {
    const crossSite: Record<string, string>[] = [{ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' }];
    for (const headers of crossSite) {
      for (const path of ['/v1/subjects', '/v1/clusters', '/v1/threshold', '/readyz', '/metrics']) {
        const res = await rawRequest(s.url, 'GET', path, { host, ...headers });
        assert.equal(res.status, 403, `${path}: ${res.text}`);
        assert.equal(res.body.error.code, 'CROSS_ORIGIN');
      }
    }
  });

  test('DNS rebinding: a Host that is not this server is refused on every route, the page included', async () => {
    for (const path of ['/', '/v1/subjects', '/readyz', '/healthz', '/openapi.json']) {
      const res = await rawRequest(s.url, 'GET', path, { host: `attacker.example:${new URL(s.url).port}` });
      assert.equal(res.status, 421, `${path}: ${res.text}`);
      assert.equal(res.body.error.code, 'HOST_NOT_ALLOWED');
    }
    // no Host at all: Node's HTTP server answers 400 before any route runs
    assert.equal((await rawRequest(s.url, 'GET', '/v1/subjects', {})).status, 400, 'no Host header at all');
  });

  test('the server\'s own page and non-browser clients pass: same origin, loopback names, no Origin', async () => {
    const port = new URL(s.url).port;
    for (const h of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const same = await rawRequest(s.url, 'GET', '/v1/subjects', { host: h, origin: `http://${h}`, 'sec-fetch-site': 'same-origin' });
      assert.equal(same.status, 200, `${h}: ${same.text}`);
    }
    assert.equal((await rawRequest(s.url, 'GET', '/v1/subjects', { host })).status, 200, 'curl');
    assert.equal((await rawRequest(s.url, 'GET', '/v1/subjects', { host, 'sec-fetch-site': 'none' })).status, 200, 'typed in the address bar');
  });

  test('an origin configured with --cors and a name added with --allowed-hosts are let in; nothing else is', async () => {
    const t = await startTestServer({ singleUser: true, corsOrigins: ['https://app.example'], allowedHosts: ['faces.internal'] });
    try {
      const port = new URL(t.url).port;
      const cors = await rawRequest(t.url, 'GET', '/v1/subjects', { host: `127.0.0.1:${port}`, origin: 'https://app.example', 'sec-fetch-site': 'cross-site' });
      assert.equal(cors.status, 200);
      assert.equal(cors.headers['access-control-allow-origin'], 'https://app.example');
      assert.equal((await rawRequest(t.url, 'GET', '/v1/subjects', { host: `127.0.0.1:${port}`, origin: 'https://other.example' })).status, 403);
      assert.equal((await rawRequest(t.url, 'GET', '/v1/subjects', { host: `faces.internal:${port}` })).status, 200);
      assert.equal((await rawRequest(t.url, 'GET', '/v1/subjects', { host: `faces.internal.evil:${port}` })).status, 421);
    } finally {
      await t.close();
    }
  });

  test('the page: a Content-Security-Policy of its own scripts only, no framing, no sniffing, no referrer', async () => {
    const page = await rawRequest(s.url, 'GET', '/', { host });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    const csp = String(page.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]) assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    assert.doesNotMatch(csp, /script-src[^;]*'unsafe-inline'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    // the built page has no inline script for the policy to break
    assert.doesNotMatch(page.text, /<script(?![^>]*\bsrc=)[^>]*>/);
    const api = await rawRequest(s.url, 'GET', '/v1/subjects', { host });
    assert.equal(api.headers['x-content-type-options'], 'nosniff');
    assert.equal(api.headers['cross-origin-resource-policy'], 'same-origin');
  });
});
