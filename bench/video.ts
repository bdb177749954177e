/**
 * Video speed: a 640×360, 30 fps, 10 s clip of three people walking (made from the fixture photos with ffmpeg)
 * through `watchVideo` — frames per second end to end (ffmpeg decoding included), detector and recognizer runs
 * per frame, recognizer runs as a share of frames × faces — for det_500m + MobileFaceNet and for the w600k_r50
 * replica, at several detection intervals; then the clip as a live stream (ffmpeg -re): per-frame latency
 * p50/p99 and the delay from a face's first frame to its label.
 *
 * Then real footage: ../shared/fixtures/video/crowd_walk_1080p.mp4 (1920×1080, 25 fps, a dozen faces) with the
 * default settings, and a 4K version of it (scaled up by ffmpeg here) plainly and with the recommended 4K
 * settings (`width: 1280`: ffmpeg scales the frames before they are piped), decoding included.
 *
 *   node --import tsx bench/video.ts [--seconds 10] [--json out.json] [--real-only]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildIResNetReplica } from '../src/core/models/iresnet-replica.js';
import { galleryIdentifier } from '../src/core/video/gallery-identifier.js';
import { FaceAnalyzer } from '../src/node/index.js';
import { FaceGallery } from '../src/node/gallery/index.js';
import { watchVideo, type WatchReport } from '../src/node/video/watch.js';
import { FPS, makeClip, type FrameSpec } from '../test/helpers/clips.js';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared/fixtures');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, json: { type: 'string' }, 'real-only': { type: 'boolean' } } });
const frames = Number(values.seconds) * FPS;
const tmp = mkdtempSync(join(tmpdir(), 'faceprint-bench-video-'));

// three people crossing the frame at different speeds and sizes, in view most of the clip
const lerp = (a: number, b: number, t: number) => a + (b - a) * t;
const scene: FrameSpec[] = Array.from({ length: frames }, (_, i) => {
  const t = i / (frames - 1);
  return {
    background: [120, 130, 140],
    faces: [
      { person: 'amy', x: lerp(10, 480, t), y: 30, size: 120 },
      { person: 'penny', x: lerp(480, 40, t), y: 190, size: 110 },
      { person: 'raj', x: lerp(200, 320, t), y: lerp(100, 60, t), size: lerp(90, 140, t) },
    ],
  };
});
const clip = join(tmp, 'three.mp4');
await makeClip(clip, scene);
const faceFrames = frames * 3;

const r50 = join(tmp, 'r50-replica.onnx');
writeFileSync(r50, buildIResNetReplica('iresnet50', 1).bytes);
const recognizers = { 'MobileFaceNet (fixture)': join(SHARED, 'models/mobilefacenet.onnx'), 'w600k_r50 replica': r50 };

interface Row { recognizer: string; detEvery: number; realtime: boolean; report: WatchReport }
const rows: Row[] = [];
for (const [name, recognizer] of Object.entries(values['real-only'] ? {} : recognizers)) {
  const analyzer = await FaceAnalyzer.create({ detector: join(SHARED, 'models/det_500m.onnx'), recognizer });
  const gallery = await FaceGallery.open({ analyzer, store: join(tmp, `${name.replace(/\W/g, '')}.db`) });
  for (const p of ['amy', 'penny', 'raj']) await gallery.enroll(p, [1, 2, 3].map((n) => join(SHARED, `faces/identities/bbt/${p}/${p}${n}.png`)));
  // the replica's random weights know nobody: a threshold that labels every track keeps the identify work in
  const identifier = await galleryIdentifier(gallery.gallery, name.startsWith('w600k') ? { threshold: -1 } : {});
  await watchVideo(analyzer.core, clip, { identifier, maxFrames: 30 }); // warm-up
  const settings: [number, boolean][] = name.startsWith('Mobile') ? [[1, false], [2, false], [2, true]] : [[1, false], [3, false], [5, false], [3, true]];
  for (const [detEvery, realtime] of settings) {
    const report = await watchVideo(analyzer.core, clip, { identifier, detEvery, realtime });
    rows.push({ recognizer: name, detEvery, realtime, report });
    process.stderr.write(`${name} det every ${detEvery}${realtime ? ' (live)' : ''}: ${report.stats.fps.toFixed(1)} fps, ${JSON.stringify(report.stats)} latency ${JSON.stringify(report.latencyMs)}\n`);
  }
  await gallery.close();
  await analyzer.close();
}

const labelDelay = (r: WatchReport) => r.tracks.filter((t) => t.labelledAtFrame !== null).map((t) => Math.round(((t.labelledAtFrame! - t.firstFrame) * 1000) / FPS));
console.log(`clip: 640×360, ${FPS} fps, ${frames} frames, 3 faces in view (${faceFrames} face-frames); det_500m on the frame's shape (640×384)`);
console.log('');
console.log('| recognizer | detect every | mode | fps | detector runs / frame | recognizer runs / frame | recognizer runs / (frames × faces) | frame latency p50 / p99 ms | first frame → label ms |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const s = r.report.stats;
  console.log(`| ${r.recognizer} | ${r.detEvery} | ${r.realtime ? 'live (-re)' : 'file, as fast as it goes'} | ${s.fps.toFixed(1)} | ${(s.detectorRuns / s.frames).toFixed(2)} | ${(s.recognizerRuns / s.frames).toFixed(3)} | ${((100 * s.recognizerRuns) / faceFrames).toFixed(2)}% | ${r.report.latencyMs.p50} / ${r.report.latencyMs.p99} | ${labelDelay(r.report).join(', ')} |`);
}
// Real footage, MobileFaceNet, no gallery (the crowd is nobody we know): the 1080p clip, then 4K
const crowd = join(SHARED, 'video/crowd_walk_1080p.mp4');
const crowd4k = join(tmp, 'crowd_4k.mp4');
execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', crowd, '-vf', 'scale=3840:2160:flags=bicubic', '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', crowd4k]);
const realRows: { clip: string; setting: string; report: WatchReport }[] = [];
{
  const analyzer = await FaceAnalyzer.create({ detector: join(SHARED, 'models/det_500m.onnx'), recognizer: recognizers['MobileFaceNet (fixture)'] });
  await watchVideo(analyzer.core, crowd, { maxFrames: 20 }); // warm-up
  const runs: [string, string, string, object][] = [
    ['1080p crowd (real)', 'default', crowd, {}],
    ['1080p crowd (real)', 'default', crowd, {}],
    ['4K crowd (scaled up)', 'default', crowd4k, {}],
    ['4K crowd (scaled up)', 'width 1280 (recommended for 4K)', crowd4k, { width: 1280 }],
    ['4K crowd (scaled up)', 'width 1280 (recommended for 4K)', crowd4k, { width: 1280 }],
    ['4K crowd (scaled up)', 'width 1280, detect every 3rd frame', crowd4k, { width: 1280, detEvery: 3 }],
  ];
  for (const [name, setting, path, opts] of runs) {
    const report = await watchVideo(analyzer.core, path, opts);
    realRows.push({ clip: name, setting, report });
    process.stderr.write(`${name} ${setting}: ${report.stats.fps.toFixed(1)} fps, latency ${JSON.stringify(report.latencyMs)}\n`);
  }
  await analyzer.close();
}
console.log('');
console.log('| footage | setting | fps (decode included) | recognizer runs / face-frames | frame latency p50 / p99 ms | tracks |');
console.log('|---|---|---|---|---|---|');
for (const r of realRows) {
  const s = r.report.stats;
  console.log(`| ${r.clip} | ${r.setting} | ${s.fps.toFixed(1)} | ${s.recognizerRuns} / ${s.faceFrames} (${(100 * s.recognizerRunsPerFaceFrame).toFixed(1)}%) | ${r.report.latencyMs.p50} / ${r.report.latencyMs.p99} | ${r.report.tracks.length} |`);
}
if (values.json) writeFileSync(values.json, JSON.stringify(rows.map((r) => ({ recognizer: r.recognizer, detEvery: r.detEvery, realtime: r.realtime, stats: r.report.stats, latencyMs: r.report.latencyMs, labelDelayMs: labelDelay(r.report) })), null, 2));
