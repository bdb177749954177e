// Security suite, third pass: what one read-scope key could do to stop `faceprint serve` for everyone — video
// uploads that never answered, a detection threshold that shut the admission door — and the findings beside
// them. Every probe against a real server on 127.0.0.1; each ends by checking the server still answers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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
