// Security suite, third pass: what one read-scope key could do to stop `faceprint serve` for everyone — video
// uploads that never answered, a detection threshold that shut the admission door — and the findings beside
// them. Every probe against a real server on 127.0.0.1; each ends by checking the server still answers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { SHARED } from './fixtures.js';
import { api, assertError, startTestServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
const T1 = readFileSync(join(SHARED, 'faces/groups/insightface/t1.jpg'));
// 118 faces at the default threshold, 1,274 at 0.1 (det_500m)
const SELFIE = readFileSync(join(SHARED, 'faces/groups/insightface/worlds-largest-selfie.jpg'));
const work = mkdtempSync(join(tmpdir(), 'faceprint-sec3-'));

/** A clip made by ffmpeg from a lavfi source (no faces needed: these probes are about the plumbing). */
async function lavfiClip(name: string, source: string, extra: string[] = []): Promise<Buffer> {
  const path = join(work, name);
  await run('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', source, ...extra, '-c:v', 'libx264', '-preset', 'ultrafast', path]);
  return readFileSync(path);
}

/** Uploaded clips still on disk (the route's temp folders), other than those there before this file ran. */
const strayBefore = new Set(readdirSync(tmpdir()));
const clipDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('faceprint-clip-') && !strayBefore.has(n));

/** This process's ffmpeg/ffprobe children (the test server runs in-process). */
function ffmpegChildren(): { pid: number; args: string }[] {
  const found: { pid: number; args: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (ppid === process.pid && /^ff(mpeg|probe) /.test(args)) found.push({ pid: Number(entry), args });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The server is whole again: no request holds a slot or budget, and an ordinary model request answers 200. */
async function assertServing(s: TestServer): Promise<void> {
  await waitFor('the slots to be free', () => s.server.admission.running === 0 && s.server.budget.inUse === 0);
  assert.deepEqual(ffmpegChildren(), [], 'no ffmpeg left running');
  const res = await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, raw: T1, type: 'image/jpeg' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.faces.length, 6);
}

describe('HIGH: a read key cannot stop the service with a video', () => {
  let s: TestServer;
  let tinyMany: Buffer;
  before(async () => {
    // 32×32 at 1000 fps for 100 s: 100,000 frames in 1.3 MB (the reported clip)
    tinyMany = await lavfiClip('tiny_many.mp4', 'color=gray:s=32x32:r=1000:d=100');
    s = await startTestServer({ rateLimitPerMinute: 0, deadlineMs: 3000 });
  });
  after(() => s.close());

  test('a clip that outlasts the deadline answers, marked truncated, and frees its slot, budget, ffmpeg and temp files', async () => {
    const res = await api(s.url, 'POST', '/v1/video?identify=false', { key: s.key.read, raw: tinyMany, type: 'video/mp4' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.truncated, true);
    assert.ok(['deadline', 'frame-limit', 'decode-error'].includes(res.body.truncatedBy), res.text);
    assert.ok(res.body.stats.frames < res.body.stats.framesDeclared, `${res.body.stats.frames} of ${res.body.stats.framesDeclared} frames`);
    assert.deepEqual(clipDirs(), [], 'the upload is deleted');
    await assertServing(s);
  });

  test('eight such uploads at once: each answers and the server serves right after', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => api(s.url, 'POST', '/v1/video?identify=false', { key: s.key.read, raw: tinyMany, type: 'video/mp4' })));
    for (const a of answers) assert.ok(a.status === 200 || a.status === 503, a.text);
    await assertServing(s);
    assert.deepEqual(clipDirs(), []);
  });

  test('a client that leaves mid-analysis frees its slot and files', async () => {
    const gone = new AbortController();
    const req = fetch(`${s.url}/v1/video?identify=false`, { method: 'POST', headers: { authorization: `Bearer ${s.key.read}`, 'content-type': 'video/mp4' }, body: new Uint8Array(tinyMany), signal: gone.signal }).catch((e: Error) => e);
    await waitFor('ffmpeg to decode the clip', () => ffmpegChildren().some((c) => c.args.includes('rawvideo')));
    gone.abort();
    assert.ok((await req) instanceof Error);
    await waitFor('the upload to be deleted', () => clipDirs().length === 0);
    await assertServing(s);
  });

  test('ffmpeg killed while it decodes: the request answers and leaves nothing behind', async () => {
    const req = api(s.url, 'POST', '/v1/video?identify=false', { key: s.key.read, raw: tinyMany, type: 'video/mp4' });
    const decoder = await waitFor('ffmpeg to decode the clip', () => ffmpegChildren().find((c) => c.args.includes('rawvideo')));
    process.kill(decoder.pid, 'SIGKILL');
    const res = await req;
    // frames already analysed are reported; ffmpeg's death before any frame is the clip's error
    assert.ok(res.status === 200 || res.status === 415, res.text);
    assert.deepEqual(clipDirs(), []);
    await assertServing(s);
  });

  test('ffprobe killed while it measures: a typed error, nothing behind', async () => {
    // ffprobe is quick: keep killing whatever ffprobe appears until this request has answered
    let killed = 0;
    let done = false;
    const killer = (async () => {
      while (!done) {
        for (const c of ffmpegChildren()) {
          if (c.args.startsWith('ffprobe ')) {
            process.kill(c.pid, 'SIGKILL');
            killed++;
          }
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const res = await api(s.url, 'POST', '/v1/video?identify=false', { key: s.key.read, raw: tinyMany, type: 'video/mp4' });
    done = true;
    await killer;
    if (killed > 0) assertError(res, 415, 'VIDEO_UNREADABLE');
    else assert.equal(res.status, 200, res.text);
    assert.deepEqual(clipDirs(), []);
    await assertServing(s);
  });

  test('VIDEO_UNREADABLE says it in our words: no temp path, no ffprobe text', async () => {
    const res = await api(s.url, 'POST', '/v1/video', { key: s.key.read, raw: Buffer.from('not a video at all'), type: 'video/mp4' });
    assertError(res, 415, 'VIDEO_UNREADABLE');
    assert.doesNotMatch(res.body.error.message, /faceprint-clip|\/tmp|Invalid data|moov/);
  });
});

describe('HIGH: a detection threshold cannot shut the admission door', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ rateLimitPerMinute: 0, deadlineMs: 4000, maxFacesPerImage: 64 });
  });
  after(() => s.close());

  test('detThresh below the sane range is a 400 before any work', async () => {
    for (const t of [0, 0.01, 0.09]) assertError(await api(s.url, 'POST', `/v1/analyze?detThresh=${t}`, { key: s.key.read, raw: T1, type: 'image/jpeg' }), 400, 'INVALID_INPUT');
    assert.equal(s.server.admission.running, 0);
  });

  test('the lowest allowed threshold on a crowd keeps the server\'s faces per image, the best-scoring ones', async () => {
    const all = await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, raw: SELFIE, type: 'image/jpeg' });
    assert.equal(all.status, 200, all.text);
    assert.equal(all.body.faces.length, 64);
    const low = await api(s.url, 'POST', '/v1/analyze?detThresh=0.1', { key: s.key.read, raw: SELFIE, type: 'image/jpeg' });
    assert.equal(low.status, 200, low.text);
    assert.equal(low.body.faces.length, 64);
    const scores = low.body.faces.map((f: { score: number }) => f.score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'descending score: the cap keeps the best');
    // the same 64 best faces whatever the threshold below them
    assert.deepEqual(low.body.faces.map((f: { bbox: number[] }) => f.bbox), all.body.faces.map((f: { bbox: number[] }) => f.bbox));
  });

  test('after jobs far slower than the deadline, the estimate fades and an idle server admits the next job', async () => {
    const admission = s.server.admission;
    // three jobs of 30 s each on a 4 s deadline, recorded as the server would record them
    const slow = () => admission.run(() => new Promise((r) => setTimeout(r, 50)));
    const realNow = Date.now;
    let shift = 0;
    Date.now = () => realNow() + shift;
    try {
      for (let i = 0; i < 3; i++) {
        const started = admission.run(async () => {
          shift += 30_000;
        });
        await started;
      }
      assert.ok(admission.typicalEstimate() > 1000, `estimate ${admission.typicalEstimate()} ms`);
      // idle: the next job is admitted (the probe that measures again), whatever the estimate says
      await slow();
      // and with time the estimate fades by itself
      shift += 60_000;
      assert.ok(admission.typicalEstimate() < 10, `estimate ${admission.typicalEstimate()} ms a minute later`);
    } finally {
      Date.now = realNow;
    }
    await assertServing(s);
  });
});

/** A small JPEG padded with comment segments to `bytes` (its pixels cost nothing; its body is large). */
async function paddedJpeg(bytes: number): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const small = await sharp(T1).resize(320).jpeg().toBuffer();
  const segments: Buffer[] = [];
  let size = small.length;
  const chunk = Buffer.alloc(65_533, 0x20);
  while (size + 65_537 <= bytes) {
    segments.push(Buffer.from([0xff, 0xfe, 0xff, 0xff]), chunk);
    size += 65_537;
  }
  return Buffer.concat([small.subarray(0, 2), ...segments, small.subarray(2)]);
}

/** A request whose headers (and `sent` bytes of its body) go out now; `finish()` sends the rest and reads the answer. */
function heldUpload(url: string, key: string, body: Buffer, sent: number): { finish: () => Promise<{ status: number; text: string }>; abort: () => void } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.write(`POST /v1/identify HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${key}\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\n\r\n`);
  socket.write(body.subarray(0, sent));
  let raw = '';
  socket.on('data', (d) => { raw += d; });
  socket.on('error', () => undefined);
  return {
    abort: () => socket.destroy(),
    finish: async () => {
      socket.write(body.subarray(sent));
      try {
        await waitFor('the answer', () => /\r\n\r\n/.test(raw) && (/content-length: (\d+)/i.exec(raw) ? raw.split('\r\n\r\n')[1].length >= Number(/content-length: (\d+)/i.exec(raw)![1]) : true));
      } catch (e) {
        throw new Error(`${(e as Error).message}; got ${JSON.stringify(raw.slice(0, 300))}`);
      }
      return { status: Number(raw.split(' ')[1]), text: raw.split('\r\n\r\n')[1] };
    },
  };
}

describe('MEDIUM: bodies, video streams, auth failures, truncated answers', () => {
  test('request bodies hold memory budget as they arrive: one that cannot fit is refused unread, a slow sender holds only what it sent', async () => {
    // 64 MiB budget: bodies may hold 32 MiB, and a 12 MB body holds 24 MB (chunks + their concatenation)
    const s = await startTestServer({ rateLimitPerMinute: 0, memoryBudget: 64 * 2 ** 20, bodyLimit: 20 * 2 ** 20 });
    try {
      const big = await paddedJpeg(12_000_000);
      const first = heldUpload(s.url, s.key.read, big, 11_000_000);
      await waitFor('the first body to hold 22 MB', () => s.server.budget.bodyBytes >= 22_000_000);
      const second = await api(s.url, 'POST', '/v1/identify', { key: s.key.read, raw: big, type: 'image/jpeg' });
      assertError(second, 503, 'OVERLOADED');
      assert.match(second.body.error.message, /request bodies/);
      assert.ok(second.headers.get('retry-after'));
      const answer = await first.finish();
      assert.equal(answer.status, 200, answer.text);
      await waitFor('the body share to be given back', () => s.server.budget.bodyBytes === 0 && s.server.budget.inUse === 0);
      // a drip that has sent 1 MB holds 2 MB: the next upload goes through beside it
      const slow = heldUpload(s.url, s.key.read, big, 1_000_000);
      await waitFor('the slow body', () => s.server.budget.bodyBytes >= 2_000_000);
      assert.ok(s.server.budget.bodyBytes < 3_000_000, `${s.server.budget.bodyBytes} bytes held for 1 MB sent`);
      assert.equal((await api(s.url, 'POST', '/v1/identify', { key: s.key.read, raw: big, type: 'image/jpeg' })).status, 200);
      // a client that leaves with its body half sent gives its share back
      slow.abort();
      await waitFor('the share of the client that left', () => s.server.budget.bodyBytes === 0);
    } finally {
      await s.close();
    }
  });

  test('a clip is decoded on the stream that was measured, frames counted as they come, and its source size bounded', async () => {
    const s = await startTestServer({ rateLimitPerMinute: 0, deadlineMs: 20_000 });
    try {
      // v:0 64×64 for 3 s; a default-flagged v:1 1920×1080 for 30 s
      const twoStreams = join(work, 'two-streams.mkv');
      await run('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=red:s=64x64:r=25:d=3', '-f', 'lavfi', '-i', 'color=blue:s=1920x1080:r=25:d=30',
        '-map', '0:v', '-map', '1:v', '-disposition:v:0', '0', '-disposition:v:1', 'default', '-c:v', 'libx264', '-preset', 'ultrafast', twoStreams]);
      const two = await api(s.url, 'POST', '/v1/video?identify=false', { key: s.key.read, raw: readFileSync(twoStreams), type: 'video/x-matroska' });
      assert.equal(two.status, 200, two.text);
      assert.deepEqual([two.body.source.width, two.body.stats.frames, two.body.truncated], [64, 75, false]);
      // Matroska written to a pipe carries no duration: 130 s at 5 fps is counted and stopped at 120 s
      const endless = join(work, 'no-duration.mkv');
      const { execSync } = await import('node:child_process');
      execSync(`ffmpeg -loglevel error -f lavfi -i color=gray:s=32x32:r=5:d=130 -c:v libx264 -preset ultrafast -f matroska pipe:1 > ${endless}`);
      const long = await api(s.url, 'POST', '/v1/video?identify=false', { key: s.key.read, raw: readFileSync(endless), type: 'video/x-matroska' });
      assert.equal(long.status, 200, long.text);
      assert.deepEqual([long.body.truncated, long.body.truncatedBy, long.body.stats.frames], [true, 'frame-limit', 600]);
      // frames over 4096×4096 are not decoded at all
      const huge = await lavfiClip('huge.mp4', 'color=black:s=4160x4160:r=1:d=1');
      assertError(await api(s.url, 'POST', '/v1/video', { key: s.key.read, raw: huge, type: 'video/mp4' }), 413, 'VIDEO_TOO_LARGE');
      await assertServing(s);
    } finally {
      await s.close();
    }
  });

  test('failed authentications throttle guesses, never a valid key; behind a trusted proxy each client counts alone', async () => {
    const s = await startTestServer({ rateLimitPerMinute: 0, authFailuresPerMinute: 5, trustProxy: ['127.0.0.1'] });
    try {
      const bad = (from: string) => api(s.url, 'GET', '/v1/threshold', { key: 'fp_wrong', headers: { 'x-forwarded-for': from } });
      for (let i = 0; i < 5; i++) assertError(await bad('198.51.100.7'), 401, 'UNAUTHORIZED');
      assertError(await bad('198.51.100.7'), 429, 'TOO_MANY_AUTH_FAILURES');
      // the same client's valid key still works
      assert.equal((await api(s.url, 'GET', '/v1/threshold', { key: s.key.read, headers: { 'x-forwarded-for': '198.51.100.7' } })).status, 200);
      // another client behind the same proxy is not locked out
      assertError(await bad('198.51.100.8'), 401, 'UNAUTHORIZED');
    } finally {
      await s.close();
    }
  });
});

describe('LOW: transactions, deadlines, names, slow clients, hosts', () => {
  test('?create=true writes the subject and its face in one transaction: a failed face write leaves no empty subject', async () => {
    const s = await startTestServer({ rateLimitPerMinute: 0 });
    try {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(join(s.dir, 'gallery.db'));
      db.exec(`CREATE TRIGGER refuse_faces BEFORE INSERT ON faces BEGIN SELECT RAISE(ABORT, 'disk full'); END;`);
      const amy = readFileSync(join(SHARED, 'faces/identities/bbt/amy/amy1.png'));
      const res = await api(s.url, 'POST', '/v1/subjects/ghost/faces?create=true', { key: s.key.write, raw: amy, type: 'image/png' });
      // the store's own failure: a 5xx, never a half-written enrolment
      assert.ok(res.status >= 500, res.text);
      assertError(await api(s.url, 'GET', '/v1/subjects/ghost', { key: s.key.read }), 404, 'SUBJECT_NOT_FOUND');
      db.exec('DROP TRIGGER refuse_faces');
      db.close();
      assert.equal((await api(s.url, 'POST', '/v1/subjects/ghost/faces?create=true', { key: s.key.write, raw: amy, type: 'image/png' })).status, 201);
    } finally {
      await s.close();
    }
  });

  test('URL fetches answer by the request\'s deadline; an IPv4-mapped address on the allowlist matches its URLs', async () => {
    const host = createHttpServer((req, res) => {
      if (req.url === '/face.jpg') return void res.end(T1);
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const t = setInterval(() => res.write(Buffer.from([0xff])), 200);
      res.on('close', () => clearInterval(t));
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', () => r()));
    const port = (host.address() as { port: number }).port;
    const s = await startTestServer({ rateLimitPerMinute: 0, deadlineMs: 2000, fetchTimeoutMs: 10_000, fetchHosts: [`[::ffff:127.0.0.1]:${port}`, `127.0.0.1:${port}`] });
    try {
      const slow = await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, json: { image: { url: `http://127.0.0.1:${port}/drip` } } });
      assertError(slow, 503, 'OVERLOADED');
      assert.match(slow.body.error.message, /deadline passed while its images were fetched/);
      const mapped = await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, json: { image: { url: `http://[::ffff:127.0.0.1]:${port}/face.jpg` } } });
      assert.equal(mapped.status, 200, mapped.text);
      assert.equal(mapped.body.faces.length, 6);
    } finally {
      await s.close();
      host.close();
    }
  });

  test('a decode stops waiting when its signal aborts (the deadline), and libvips by its own time limit', async () => {
    const { decodeImage } = await import('../src/node/decode.js');
    const { default: sharp } = await import('sharp');
    const noise = await sharp(Buffer.from(Array.from({ length: 3000 * 3000 * 3 }, (_, i) => (i * 2654435761) >>> 24)), { raw: { width: 3000, height: 3000, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    await assert.rejects(decodeImage(noise, { signal: AbortSignal.timeout(1) }), (e: Error) => e.name === 'TimeoutError');
    assert.equal((await decodeImage(noise, { timeoutMs: 10_000 })).width, 3000);
  });

  test('an image\'s name (a face\'s source) follows the subject-name rules: no newline or hidden characters, at most 255 characters', async () => {
    const s = await startTestServer({ rateLimitPerMinute: 0 });
    try {
      const amy = readFileSync(join(SHARED, 'faces/identities/bbt/amy/amy1.png')).toString('base64');
      for (const name of ['line\nbreak.png', 'x'.repeat(256), 'rtl\u202Eevil.png']) {
        assertError(await api(s.url, 'POST', '/v1/subjects/amy/faces?create=true', { key: s.key.write, json: { images: [{ base64: amy, name }] } }), 400, 'INVALID_INPUT');
      }
      const ok = await api(s.url, 'POST', '/v1/subjects/amy/faces?create=true', { key: s.key.write, json: { images: [{ base64: amy, name: 'Amy — café.png' }] } });
      assert.equal(ok.status, 201, ok.text);
      assert.equal(ok.body.accepted[0].source, 'Amy — café.png');
    } finally {
      await s.close();
    }
  });

  test('slow clients: a body drip gets 408 by the request timeout, a slowloris is cut at the headers timeout, one address holds a bounded number of connections', async () => {
    const s = await startTestServer({ rateLimitPerMinute: 0, requestTimeoutMs: 2000, headersTimeoutMs: 1000, maxConnectionsPerAddress: 8 });
    try {
      const { port } = new URL(s.url);
      // a body that would take 60 s
      const drip = connect(Number(port), '127.0.0.1');
      drip.write(`POST /v1/analyze HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${s.key.read}\r\nContent-Type: image/jpeg\r\nContent-Length: 300\r\n\r\n`);
      const dripTimer = setInterval(() => drip.write(Buffer.from([0xff])), 200);
      let dripAnswer = '';
      drip.on('data', (d) => { dripAnswer += d; });
      const dripClosed = new Promise<void>((r) => drip.once('close', () => r()));
      drip.on('error', () => undefined);
      // headers that never end
      const lazy = connect(Number(port), '127.0.0.1');
      lazy.on('error', () => undefined);
      lazy.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
      const lazyTimer = setInterval(() => lazy.write('X-A: b\r\n'), 200);
      const lazyClosed = new Promise<void>((r) => lazy.once('close', () => r()));
      await lazyClosed;
      await dripClosed;
      clearInterval(dripTimer);
      clearInterval(lazyTimer);
      assert.match(dripAnswer, /^HTTP\/1\.1 408/);
      // eight connections from one address; the ninth and tenth are closed at once
      const idle = Array.from({ length: 10 }, () => connect(Number(port), '127.0.0.1').on('error', () => undefined));
      await Promise.all(idle.map((c) => new Promise((r) => c.once('connect', r))));
      await waitFor('two connections to be refused', () => idle.filter((c) => c.destroyed || c.readyState === 'closed').length >= 2, 5000);
      for (const c of idle) c.destroy();
      // once the server has seen them close, the address may connect again
      let health = 0;
      for (let i = 0; i < 50 && health !== 200; i++) {
        health = await api(s.url, 'GET', '/healthz').then((r) => r.status, () => 0);
        if (health !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(health, 200);
    } finally {
      await s.close();
    }
  });
});
