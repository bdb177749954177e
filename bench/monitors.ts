/**
 * Camera monitors: how many 720p, 25 fps streams `serve` holds, each analysed at 5 fps, with the event lag (a
 * frame leaving ffmpeg → its events told) p99 ≤ 1 s, and the HTTP API's latency beside them. The streams are the
 * real crowd footage (../shared/fixtures/video/crowd_walk_1080p.mp4) scaled to 1280×720 by ffmpeg here and played
 * in a loop at their own pace (`-re`), one ffmpeg per monitor as for a camera. det_500m + MobileFaceNet.
 *
 *   node --import tsx bench/monitors.ts [--seconds 30] [--streams 1,2,4,6]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KeyStore } from '../src/http/keys.js';
import { createServer } from '../src/http/server.js';
import { FaceAnalyzer } from '../src/node/index.js';
import { FaceGallery } from '../src/node/gallery/index.js';
import { DET_500M, MOBILEFACENET, SHARED } from '../test/fixtures.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, streams: { type: 'string', default: '1,2,4,6' } } });
const seconds = Number(values.seconds);
const dir = mkdtempSync(join(tmpdir(), 'faceprint-bench-monitors-'));
const clip = join(dir, 'crowd_720p.mp4');
execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', join(SHARED, 'video/crowd_walk_1080p.mp4'), '-vf', 'scale=1280:720', '-r', '25', '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', clip]);
const photo = readFileSync(join(SHARED, 'faces/groups/insightface/t1.jpg'));
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

console.log(`streams: the crowd footage at 1280×720, 25 fps, looped; each analysed at 5 fps; ${seconds} s a row; ${new Date().toISOString().slice(0, 10)}`);
console.log('');
console.log('| streams | analysed fps per stream (min / mean) | dropped / decoded | event lag p50 / p99 ms (worst stream) | HTTP analyze p50 / p99 ms (1 client, t1.jpg) |');
console.log('|---|---|---|---|---|');
for (const n of values.streams!.split(',').map(Number)) {
  const analyzer = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
  const gallery = await FaceGallery.open({ analyzer, store: join(dir, `g${n}.db`) });
  const keys = await KeyStore.open(join(dir, `keys${n}.json`));
  const { key } = await keys.create('admin', ['read', 'write', 'admin']);
  const server = await createServer({ analyzer, gallery, keys, logger: false, rateLimitPerMinute: 0, monitors: { secretFile: join(dir, 'monitor.key'), maxMonitors: 16 } });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  for (let i = 0; i < n; i++) await fetch(`${url}/v1/monitors`, { method: 'POST', headers, body: JSON.stringify({ name: `cam${i}`, source: clip, fps: 5 }) });
  await new Promise((r) => setTimeout(r, 5000)); // warm-up: every ffmpeg started, first tracks
  const before = server.monitors!.list().map((m) => ({ ...m.stats }));
  const http: number[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const t0 = performance.now();
    await fetch(`${url}/v1/analyze`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/jpeg' }, body: photo });
    http.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 500));
  }
  const after = server.monitors!.list();
  const fps = after.map((m, i) => (m.stats.analysed - before[i].analysed) / seconds);
  const dropped = after.reduce((s, m, i) => s + m.stats.dropped - before[i].dropped, 0);
  const decoded = after.reduce((s, m, i) => s + m.stats.frames - before[i].frames, 0);
  const worst = after.reduce((w, m) => (m.stats.lagP99Ms > w.stats.lagP99Ms ? m : w));
  console.log(`| ${n} | ${Math.min(...fps).toFixed(1)} / ${(fps.reduce((a, b) => a + b, 0) / n).toFixed(1)} | ${dropped} / ${decoded} | ${worst.stats.lagP50Ms} / ${worst.stats.lagP99Ms} | ${pct(http, 0.5).toFixed(0)} / ${pct(http, 0.99).toFixed(0)} |`);
  await server.close();
  await analyzer.close();
}
