import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import yazl from 'yazl';
import { FaceAnalyzer, FaceprintError, pullPack, removePack, verifyPack } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A buffalo_sc-shaped zip from the fixture models (wrapped in a folder, as some official zips are). */
async function fixtureZip(): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  zip.addFile(DET_500M, 'buffalo_sc/det_500m.onnx');
  zip.addFile(MOBILEFACENET, 'buffalo_sc/w600k_mbf.onnx');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

let server: Server;
let base: string;
let good: Buffer;
let mode: 'ok' | 'cut' | 'corrupt' | 'html' | 'bomb' | 'oversize' = 'ok';
let bomb: Buffer;
let oversize: Buffer;
const requests: { url: string; range?: string }[] = [];

/** A zip of the given entries (name → bytes). */
async function zipOf(entries: Record<string, Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(entries)) zip.addBuffer(data, name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function serve(req: IncomingMessage, res: ServerResponse): void {
  requests.push({ url: req.url!, range: req.headers.range });
  if (req.url === '/buffalo_l.zip' && mode === 'oversize') {
    // one byte more than the published 288,621,354, announced
    res.writeHead(200, { 'content-length': 288_621_355 }).end();
    return;
  }
  if (req.url === '/buffalo_l.zip') {
    // no Content-Length: zeros streamed until the client hangs up
    res.writeHead(200);
    const chunk = Buffer.alloc(1 << 20);
    const more = () => { while (!res.destroyed && res.write(chunk)); };
    res.on('drain', more);
    res.on('close', () => res.off('drain', more));
    more();
    return;
  }
  if (req.url !== '/buffalo_sc.zip') { res.writeHead(404).end('not found'); return; }
  if (mode === 'html') { res.writeHead(200, { 'content-type': 'text/html' }).end('<html>rate limited</html>'); return; }
  let body = mode === 'bomb' ? bomb : mode === 'oversize' ? oversize : good;
  if (mode === 'corrupt') { body = Buffer.from(good); body[Math.floor(body.length / 2)] ^= 0xff; }
  const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : 0;
  const slice = body.subarray(start);
  res.writeHead(m ? 206 : 200, { 'content-length': slice.length, ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
  if (mode === 'cut' && !m) {
    // Half the bytes, then the connection drops.
    res.write(slice.subarray(0, Math.floor(slice.length / 2)), () => res.destroy());
    return;
  }
  res.end(slice);
}

before(async () => {
  good = await fixtureZip();
  // 64 MiB of zeros under a model's name: about 64 KiB zipped
  bomb = await zipOf({ 'det_500m.onnx': readFileSync(DET_500M), 'w600k_mbf.onnx': Buffer.alloc(64 << 20) });
  // det_500m's published size is 2,524,817 bytes: an entry of 3 MB (random, so not a bomb) under its name
  oversize = await zipOf({ 'det_500m.onnx': Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => (i * 2654435761) >>> 24)), 'w600k_mbf.onnx': readFileSync(MOBILEFACENET) });
  server = createServer(serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const freshHome = (): string => mkdtempSync(join(tmpdir(), 'faceprint-home-'));
const leftovers = (home: string): string[] => readdirSync(home).filter((f) => f.startsWith('.staging') || f.startsWith('.trash'));

test('pull: download, verify, install; the pack then loads by name; the licence is shown with every download', async () => {
  mode = 'ok';
  const home = freshHome();
  const licences: string[] = [];
  const dir = await pullPack('buffalo_sc', { home, mirror: base, onLicence: (t) => licences.push(t) });
  assert.deepEqual(readdirSync(dir).sort(), ['det_500m.onnx', 'w600k_mbf.onnx']);
  assert.deepEqual(readFileSync(join(dir, 'det_500m.onnx')), readFileSync(DET_500M));
  assert.equal(licences.length, 1);
  assert.match(licences[0], /non-commercial/);
  const lock = JSON.parse(readFileSync(join(home, 'packs.lock.json'), 'utf8'));
  assert.equal(lock.buffalo_sc.files['det_500m.onnx'].size, 2_524_817);
  assert.ok((await verifyPack('buffalo_sc', home)).every((r) => r.ok));
  const progress: number[] = [];
  const fa = await FaceAnalyzer.create({ pack: 'buffalo_sc', pull: { home, mirror: base, onProgress: (p) => progress.push(p.received) } });
  try {
    assert.equal(progress.length, 0); // already installed: nothing downloaded again
    const faces = await fa.analyze(join(SHARED, 'lfw/images/Lindsay_Davenport/Lindsay_Davenport_0005.jpg'));
    assert.equal(faces.length, 1);
    assert.equal(faces[0].embedding!.length, 128);
  } finally {
    await fa.close();
  }
  // installed: no download, no licence
  await pullPack('buffalo_sc', { home, mirror: base, onLicence: (t) => licences.push(t) });
  assert.equal(licences.length, 1);
  // a pull by the library's pack option shows it too
  const other = freshHome();
  const fb = await FaceAnalyzer.create({ pack: 'buffalo_sc', pull: { home: other, mirror: base, onLicence: (t) => licences.push(t) } });
  await fb.close();
  assert.equal(licences.length, 2);
});

test('a pack pulled by `analyze --pack NAME` prints the licence (stderr), not only `models pull`; no proxy warning without a proxy', async () => {
  mode = 'ok';
  const home = freshHome();
  const env: NodeJS.ProcessEnv = { ...process.env, FACEPRINT_HOME: home, FACEPRINT_MODEL_MIRROR: base };
  for (const v of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) delete env[v];
  const { stderr, stdout } = await run('node', [join(ROOT, 'bin/faceprint.js'), 'analyze', '--pack', 'buffalo_sc', '--json', join(SHARED, 'lfw/images/Lindsay_Davenport/Lindsay_Davenport_0005.jpg')], { env });
  assert.match(stderr, /buffalo_sc: InsightFace model packs are released for non-commercial research purposes only/);
  // undici's EnvHttpProxyAgent warns "experimental" whenever one is made: only made when a proxy is set
  assert.doesNotMatch(stderr, /UNDICI-EHPA|ExperimentalWarning/);
  assert.equal(JSON.parse(stdout).faces.length, 1);
});

test('size caps: a zip bomb, a file over its published size, a download over the published zip size — refused, nothing installed or recorded', async () => {
  const home = freshHome();
  mode = 'bomb';
  await assert.rejects(pullPack('buffalo_sc', { home, mirror: base, onLicence: false }), (e: unknown) => e instanceof FaceprintError && e.code === 'PACK_CORRUPT' && /w600k_mbf\.onnx compresses \d+:1, not a model/.test(e.message));
  mode = 'oversize';
  await assert.rejects(pullPack('buffalo_sc', { home, mirror: base, onLicence: false }), (e: unknown) => e instanceof FaceprintError && e.code === 'PACK_CORRUPT' && /det_500m\.onnx would extract to 3000000 bytes, more than the 2524817 allowed/.test(e.message));
  assert.equal(existsSync(join(home, 'buffalo_sc')), false);
  assert.equal(existsSync(join(home, 'packs.lock.json')), false);
  assert.deepEqual(leftovers(home), []);
  // buffalo_l's zip is 288,621,354 bytes: announced larger, or streamed past it without a length, it is cut off
  await assert.rejects(pullPack('buffalo_l', { home, mirror: base, onLicence: false, attempts: 1 }), (e: unknown) => e instanceof FaceprintError && e.code === 'DOWNLOAD_TOO_LARGE');
  mode = 'ok';
  await assert.rejects(pullPack('buffalo_l', { home, mirror: base, onLicence: false, attempts: 1 }), (e: unknown) => e instanceof FaceprintError && e.code === 'DOWNLOAD_TOO_LARGE' && /larger than 288621354 bytes/.test(e.message));
  assert.deepEqual(readdirSync(join(home, '.downloads')), []);
  assert.equal(existsSync(join(home, 'buffalo_l')), false);
});

test('a connection cut half-way is resumed with an HTTP Range request', async () => {
  mode = 'cut';
  const home = freshHome();
  requests.length = 0;
  const dir = await pullPack('buffalo_sc', { home, mirror: base, backoffMs: 10 });
  assert.ok(requests.length >= 2);
  assert.equal(requests[0].range, undefined);
  assert.match(requests[1].range ?? '', /^bytes=\d+-$/);
  assert.ok(Number(/\d+/.exec(requests[1].range!)![0]) > 0);
  assert.deepEqual(readFileSync(join(dir, 'w600k_mbf.onnx')), readFileSync(MOBILEFACENET));
  mode = 'ok';
});

test('a corrupted byte → checksum error against the recorded hash, nothing installed', async () => {
  mode = 'ok';
  const home = freshHome();
  await pullPack('buffalo_sc', { home, mirror: base });
  assert.equal(await removePack('buffalo_sc', home), true);
  mode = 'corrupt';
  await assert.rejects(pullPack('buffalo_sc', { home, mirror: base }), (e: unknown) => e instanceof FaceprintError && e.code === 'PACK_CORRUPT' && /sha256/.test(e.message));
  assert.equal(existsSync(join(home, 'buffalo_sc')), false);
  assert.deepEqual(leftovers(home), []);
  mode = 'ok';
});

test('404 and a non-zip body give clear errors and install nothing', async () => {
  const home = freshHome();
  await assert.rejects(pullPack('buffalo_sc', { home, mirror: `${base}/missing` }), (e: unknown) => e instanceof FaceprintError && e.code === 'DOWNLOAD_NOT_FOUND' && /HTTP 404/.test(e.message));
  mode = 'html';
  await assert.rejects(pullPack('buffalo_sc', { home, mirror: base }), (e: unknown) => e instanceof FaceprintError && e.code === 'PACK_CORRUPT' && /not a zip/.test(e.message));
  assert.equal(existsSync(join(home, 'buffalo_sc')), false);
  assert.deepEqual(leftovers(home), []);
  await assert.rejects(pullPack('buffalo_xl', { home }), { code: 'PACK_UNKNOWN' });
  mode = 'ok';
});

test('two concurrent pulls (two processes) leave one good pack', async () => {
  mode = 'ok';
  const home = freshHome();
  const env = { ...process.env, FACEPRINT_HOME: home, FACEPRINT_MODEL_MIRROR: base };
  const pull = () => run('node', [join(ROOT, 'bin/faceprint.js'), 'models', 'pull', 'buffalo_sc'], { env });
  const [a, b] = await Promise.all([pull(), pull()]);
  assert.match(a.stdout, /installed/);
  assert.match(b.stdout, /installed/);
  const models = join(home, 'models');
  assert.deepEqual(readdirSync(join(models, 'buffalo_sc')).sort(), ['det_500m.onnx', 'w600k_mbf.onnx']);
  assert.deepEqual(readdirSync(models).filter((f) => !['buffalo_sc', 'packs.lock.json', '.downloads'].includes(f)), []);
  const { stdout } = await run('node', [join(ROOT, 'bin/faceprint.js'), 'models', 'verify', 'buffalo_sc'], { env });
  assert.match(stdout, /ok +det_500m\.onnx/);
});
