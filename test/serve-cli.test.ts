import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';
import { ROOT, cli } from './helpers/cli.js';
import { api } from './helpers/server.js';

const GROUP = join(SHARED, 'faces/groups/insightface/t1.jpg');

/** Starts `faceprint serve` as a process; resolves with its URL once it listens. */
function startServe(args: string[]): Promise<{ url: string; proc: ReturnType<typeof spawn>; stdout: () => string; exited: Promise<number | null> }> {
  const proc = spawn('node', [join(ROOT, 'bin/faceprint.js'), 'serve', '--detector', DET_500M, '--recognizer', MOBILEFACENET, '--port', '0', ...args], { cwd: ROOT });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    proc.stderr!.on('data', (d) => {
      err += d;
      const m = /faceprint serving (http:\/\/[\d.:]+)/.exec(err);
      if (m) resolve({ url: m[1], proc, stdout: () => out, exited });
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

test('faceprint keys: created once, stored hashed, listed without secrets, revoked for a running server', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-keys-'));
  const keys = join(dir, 'keys.json');
  const noKeys = await cli(['serve', '--detector', DET_500M, '--recognizer', MOBILEFACENET, '--keys', keys, '--store', join(dir, 'g.db')]);
  assert.equal(noKeys.code, 2);
  assert.match(noKeys.stderr, /no API key .*faceprint keys create/);
  const created = await cli(['keys', 'create', '--name', 'ops', '--scope', 'admin', '--keys', keys, '--json']);
  assert.equal(created.code, 0, created.stderr);
  const { key, id, scopes } = JSON.parse(created.stdout);
  assert.match(key, /^fp_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(scopes, ['admin']);
  const file = readFileSync(keys, 'utf8');
  assert.ok(!file.includes(key.slice(12)), 'the key file holds the secret');
  assert.match(file, /"sha256": "[0-9a-f]{64}"/);
  const bad = await cli(['keys', 'create', '--name', 'x', '--scope', 'root', '--keys', keys]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown scope "root"/);

  const server = await startServe(['--keys', keys, '--store', join(dir, 'g.db')]);
  try {
    assert.equal((await api(server.url, 'GET', '/v1/subjects', { key })).status, 200);
    const listed = await cli(['keys', 'list', '--keys', keys, '--json']);
    assert.deepEqual(JSON.parse(listed.stdout).map((r: any) => [r.id, r.name, r.sha256, r.key]), [[id, 'ops', undefined, undefined]]);
    assert.equal((await cli(['keys', 'revoke', 'ops', '--keys', keys])).code, 0);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await api(server.url, 'GET', '/v1/subjects', { key })).status, 401);
    assert.match((await cli(['keys', 'list', '--keys', keys])).stdout, /REVOKED/);
  } finally {
    server.proc.kill('SIGKILL');
  }
});

test('SIGTERM: requests in flight finish, new ones are refused, the process exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-drain-'));
  const server = await startServe(['--single-user', '--concurrency', '1', '--store', join(dir, 'g.db')]);
  const bytes = readFileSync(GROUP);
  const inFlight = Array.from({ length: 6 }, () => api(server.url, 'POST', '/v1/analyze', { raw: bytes, type: 'image/jpeg' }));
  // wait until the server has taken all six in
  for (let i = 0; i < 200 && (server.stdout().match(/"url":"\/v1\/analyze".*"incoming request"/g) ?? []).length < 6; i++) await new Promise((r) => setTimeout(r, 10));
  server.proc.kill('SIGTERM');
  const results = await Promise.all(inFlight);
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
  assert.ok(results.every((r) => r.body.faces.length >= 3));
  assert.equal(await server.exited, 0);
  assert.match(server.stdout(), /shutting down/);
  assert.match(server.stdout(), /"msg":"stopped"/);
  await assert.rejects(fetch(`${server.url}/healthz`));
});

test('serve --open where no browser can be opened says so and prints the URL to open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-open-'));
  // a PATH without xdg-open (or open): the spawn fails as on a headless machine
  const proc = spawn(process.execPath, [join(ROOT, 'bin/faceprint.js'), 'serve', '--detector', DET_500M, '--recognizer', MOBILEFACENET, '--port', '0', '--single-user', '--open', '--store', join(dir, 'g.db')], { cwd: ROOT, env: { ...process.env, PATH: dir } });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise((r) => proc.on('exit', r));
  const started = Date.now();
  while (!/could not open a browser/.test(err) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 50));
  proc.kill('SIGTERM');
  await exited;
  const url = /faceprint serving (http:\/\/[\d.:]+)/.exec(err)?.[1];
  assert.ok(url, err);
  assert.match(err, new RegExp(`faceprint: could not open a browser \\((xdg-)?open: ENOENT\\); open ${url.replace(/[.]/g, '\\.')}/ yourself`));
});
