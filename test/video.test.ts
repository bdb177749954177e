// Video: the tracker on its own (synthetic detections), then whole clips made from the fixture photos with
// ffmpeg — people walking and zooming, crossing, leaving and coming back, a shot cut, an occlusion — through
// watchVideo and `faceprint watch`, against a gallery of three people.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { FaceTracker, type TrackedDetection } from '../src/core/video/tracker.js';
import { assign } from '../src/core/video/assignment.js';
import { galleryIdentifier } from '../src/core/video/gallery-identifier.js';
import { FaceAnalyzer, type VideoIdentifier } from '../src/node/index.js';
import { FaceGallery } from '../src/node/gallery/index.js';
import { watchVideo, type WatchReport } from '../src/node/video/watch.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';
import { cli } from './helpers/cli.js';
import { makeClip, SCENES } from './helpers/clips.js';

const run = promisify(execFile);

describe('the tracker alone', () => {
  const det = (x: number, y: number, size = 100, score = 0.9): TrackedDetection => ({ bbox: [x, y, x + size, y + size], score, kps: [[x + 30, y + 40], [x + 70, y + 40], [x + 50, y + 60], [x + 35, y + 80], [x + 65, y + 80]] });

  test('optimal assignment: the pairing with the least total cost, forbidden pairs left out', () => {
    // greedy would take (0,0) at 0.1 and leave row 1 with 0.95
    assert.deepEqual(assign([[0.1, 0.2], [0.15, 0.95]], 0.9).sort(), [[0, 1], [1, 0]]);
    assert.deepEqual(assign([[0.95, 0.99]], 0.9), []);
    assert.deepEqual(assign([[0.5], [0.1]], 0.9), [[1, 0]]);
  });

  test('two faces crossing keep their ids: motion carries each through the overlap', () => {
    const t = new FaceTracker();
    const idsAt: Record<number, [number, number]> = {};
    for (let f = 0; f < 60; f++) {
      const a = det(20 + f * 8, 100);
      const b = det(500 - f * 8, 110);
      t.step(f, f * 33, [a, b]);
      const ta = t.tracks.find((x) => x.detection === a);
      const tb = t.tracks.find((x) => x.detection === b);
      if (ta && tb) idsAt[f] = [ta.id, tb.id];
    }
    const first = idsAt[5];
    for (const [f, ids] of Object.entries(idsAt)) if (Number(f) >= 5) assert.deepEqual(ids, first, `frame ${f}`);
  });

  test('tentative until 3 detections; a 10-frame occlusion keeps the id; a cut ends every track', () => {
    const t = new FaceTracker();
    t.step(0, 0, [det(100, 100)]);
    t.step(1, 33, [det(102, 100)]);
    assert.equal(t.tracks[0].state, 'tentative');
    t.step(2, 66, [det(104, 100)]);
    assert.equal(t.tracks[0].state, 'confirmed');
    const id = t.tracks[0].id;
    for (let f = 3; f < 13; f++) t.step(f, f * 33, []);
    t.step(13, 13 * 33, [det(126, 100)]);
    assert.equal(t.tracks.length, 1);
    assert.equal(t.tracks[0].id, id);
    assert.equal(t.tracks[0].detection !== null, true);
    t.step(14, 14 * 33, [det(128, 100)], true);
    const events = t.drainEvents();
    assert.deepEqual(events.map((e) => e.type), ['track-started', 'track-ended']);
    assert.equal(events[1].reason, 'cut');
    assert.equal(t.tracks.every((x) => x.id !== id), true);
  });

  test('labels with hysteresis: one dip or one rival decision does not flip a label; two in a row do', () => {
    const t = new FaceTracker({ minHits: 1 });
    t.step(0, 0, [det(100, 100)]);
    const track = t.tracks[0];
    const amy = { id: 'a', name: 'amy' };
    const penny = { id: 'p', name: 'penny' };
    t.decide(track, { subject: amy, score: 0.6 }, 0.3);
    t.decide(track, { subject: amy, score: 0.31 }, 0.3);
    t.decide(track, { subject: penny, score: 0.5 }, 0.3);
    assert.equal(track.subject?.name, 'amy');
    t.decide(track, { subject: amy, score: 0.5 }, 0.3);
    t.decide(track, null, 0.3);
    assert.equal(track.subject?.name, 'amy');
    t.decide(track, { subject: penny, score: 0.5 }, 0.3);
    t.decide(track, { subject: penny, score: 0.52 }, 0.3);
    assert.equal(track.subject?.name, 'penny');
    assert.deepEqual(t.drainEvents().map((e) => e.type), ['track-started', 'identified', 'label-changed']);
  });
});

describe('clips from the fixture photos', () => {
  let dir: string;
  let analyzer: FaceAnalyzer;
  let gallery: FaceGallery;
  let identifier: VideoIdentifier;
  const clips: Record<string, string> = {};
  const reports: Record<string, WatchReport> = {};
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'faceprint-video-'));
    analyzer = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
    gallery = await FaceGallery.open({ analyzer, store: join(dir, 'g.db') });
    // enrolled from photos 1–3; the clips show photo 5 of each
    for (const p of ['amy', 'penny', 'raj']) await gallery.enroll(p, [1, 2, 3].map((n) => join(SHARED, `faces/identities/bbt/${p}/${p}${n}.png`)));
    identifier = await galleryIdentifier(gallery.gallery);
    for (const [name, scene] of Object.entries(SCENES)) {
      clips[name] = join(dir, `${name}.mp4`);
      await makeClip(clips[name], scene());
      reports[name] = await watchVideo(analyzer.core, clips[name], { identifier });
    }
  });
  after(async () => {
    await gallery.close();
    await analyzer.close();
  });

  const labels = (r: WatchReport) => r.tracks.map((t) => t.subject?.name ?? null);

  test('walking and zooming: one track, labelled amy within a few frames of appearing, embedded rarely', () => {
    const r = reports.walk;
    assert.deepEqual(labels(r), ['amy']);
    assert.ok(r.tracks[0].labelledAtFrame! <= 5, `labelled at frame ${r.tracks[0].labelledAtFrame}`);
    assert.ok(r.stats.recognizerRuns <= 0.05 * r.stats.faceFrames, JSON.stringify(r.stats));
    assert.equal(r.events.filter((e) => e.type === 'label-changed').length, 0);
  });

  test('two people crossing: two tracks, each keeps its person, no identity switch', () => {
    const r = reports.cross;
    assert.deepEqual(labels(r).sort(), ['amy', 'penny']);
    assert.equal(r.events.filter((e) => e.type === 'label-changed').length, 0);
    // amy walks right: her track's box at the end is on the right
    const ends = r.events.filter((e) => e.type === 'track-ended');
    const amyEnd = ends.find((e) => e.subject?.name === 'amy')!;
    const pennyEnd = ends.find((e) => e.subject?.name === 'penny')!;
    assert.ok(amyEnd.bbox[0] > 400 && pennyEnd.bbox[0] < 200, JSON.stringify(ends));
    // the crossing is a discontinuity for both tracks: each face is checked again after it, within the 5% budget
    assert.ok(r.stats.recognizerRuns <= 0.05 * r.stats.faceFrames, `${r.stats.recognizerRuns} runs for ${r.stats.faceFrames} face-frames`);
  });

  test('a face leaving and coming back is re-attached to its track by appearance', () => {
    const r = reports.leaveAndReturn;
    assert.deepEqual(labels(r), ['amy']);
    assert.equal(r.tracks.length, 1);
    assert.ok(r.events.some((e) => e.type === 'track-resumed' && e.frame >= 75), JSON.stringify(r.events));
  });

  test('a shot cut ends the tracks: amy\'s track ends at the cut, penny gets a new one; nobody is labelled twice', () => {
    const r = reports.cut;
    assert.equal(r.stats.cuts, 1);
    assert.deepEqual(labels(r), ['amy', 'penny']);
    assert.equal(r.tracks[0].endReason, 'cut');
    assert.ok(r.tracks[0].lastFrame <= 44 && r.tracks[1].firstFrame >= 45);
    assert.equal(r.events.filter((e) => e.type === 'label-changed').length, 0);
  });

  test('a 10-frame occlusion: the track survives with its id and label', () => {
    const r = reports.occlusion;
    assert.equal(r.tracks.length, 1);
    assert.equal(r.tracks[0].subject?.name, 'amy');
    assert.ok(r.tracks[0].firstFrame <= 2 && r.tracks[0].lastFrame >= 88);
  });

  test('recognizer runs are far fewer than frames × faces over all clips (≤ 5%)', () => {
    const runs = Object.values(reports).reduce((s, r) => s + r.stats.recognizerRuns, 0);
    const faceFrames = Object.values(reports).reduce((s, r) => s + r.stats.faceFrames, 0);
    assert.ok(runs <= 0.05 * faceFrames, `${runs} runs for ${faceFrames} face-frames`);
  });

  test('detection every 3rd frame: the same people, fewer detector runs', async () => {
    const r = await watchVideo(analyzer.core, clips.cross, { identifier, detEvery: 3 });
    assert.deepEqual(labels(r).sort(), ['amy', 'penny']);
    assert.equal(r.stats.detectorRuns, 30);
  });

  test('faceprint watch: JSON lines of events and a summary; the annotated video and the contact sheet', async () => {
    const out = join(dir, 'cross-annotated.mp4');
    const sheet = join(dir, 'cross-sheet.png');
    const r = await cli(['watch', clips.cross, '--detector', DET_500M, '--recognizer', MOBILEFACENET, '--store', join(dir, 'g.db'), '--out', out, '--sheet', sheet]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const summary = lines.pop();
    assert.equal(summary.type, 'summary');
    assert.deepEqual(summary.tracks.map((t: { subject: { name: string } }) => t.subject.name).sort(), ['amy', 'penny']);
    assert.equal(summary.threshold, 0.27);
    assert.ok(lines.every((e) => ['track-started', 'identified', 'label-changed', 'track-resumed', 'track-ended'].includes(e.type) && Number.isInteger(e.frame) && e.bbox.length === 4));
    assert.equal(lines.filter((e) => e.type === 'identified').length, 2);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'csv=p=0', out]);
    assert.equal(stdout.trim(), '640,360,90');
    const meta = await sharp(sheet).metadata();
    assert.equal(meta.width, 2 * 136);
    // the annotated frame 30: amy's box drawn in green somewhere on the left half
    const { stdout: frame } = await run('ffmpeg', ['-loglevel', 'error', '-i', out, '-vf', 'select=eq(n\\,30)', '-vframes', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { encoding: 'buffer', maxBuffer: 1 << 22 });
    let green = 0;
    for (let i = 0; i < frame.length; i += 3) if (frame[i + 1] > 170 && frame[i] < 90 && frame[i + 2] < 110) green++;
    assert.ok(green > 300, `${green} green pixels`);
  });

  test('faceprint watch without a gallery tracks without names; a missing source and a missing ffmpeg are clear errors', async () => {
    const r = await cli(['watch', clips.walk, '--detector', DET_500M, '--recognizer', MOBILEFACENET]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(summary.tracks.length, 1);
    assert.equal(summary.tracks[0].subject, null);
    const missing = await cli(['watch', join(dir, 'nope.mp4'), '--detector', DET_500M, '--recognizer', MOBILEFACENET]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /VIDEO_UNREADABLE/);
    const noFfmpeg = await run(process.execPath, [join(import.meta.dirname, '../bin/faceprint.js'), 'watch', clips.walk, '--detector', DET_500M], { env: { ...process.env, PATH: '/nonexistent' } }).catch((e) => e);
    assert.equal(noFfmpeg.code, 2);
    assert.match(noFfmpeg.stderr, /FFMPEG_MISSING: ffmpeg was not found on PATH: .*apt install ffmpeg/);
  });

  test('the video API: frames pushed by hand (no ffmpeg) give the same tracks and events as the file', async () => {
    const { VideoAnalyzer } = await import('../src/core/video/video-analyzer.js');
    const { renderFrame, WIDTH, HEIGHT, FPS } = await import('./helpers/clips.js');
    const video = new VideoAnalyzer(analyzer.core, { identifier });
    const events = [];
    let frame = 0;
    for (const spec of SCENES.cut()) {
      const result = await video.push({ width: WIDTH, height: HEIGHT, data: new Uint8Array(await renderFrame(spec)) }, (frame++ * 1000) / FPS);
      events.push(...result.events);
    }
    events.push(...video.finish());
    // the file is the same frames through H.264: the same tracks, events and names, boxes within a few pixels
    const file = reports.cut;
    const trackShape = (t: { id: number; subject: { name: string } | null; firstFrame: number; lastFrame: number; endReason?: string; labelledAtFrame: number | null }) =>
      [t.id, t.subject?.name, t.firstFrame, t.lastFrame, t.endReason, t.labelledAtFrame];
    const eventShape = (e: { type: string; trackId: number; frame: number; subject: { name: string } | null; reason?: string }) => [e.type, e.trackId, e.frame, e.subject?.name, e.reason];
    assert.deepEqual(video.summaries().map(trackShape), file.tracks.map(trackShape));
    assert.deepEqual(events.map(eventShape), file.events.map(eventShape));
    assert.deepEqual(video.summaries().map((t) => t.subject?.name), ['amy', 'penny']);
    events.forEach((e, i) => e.bbox.forEach((v, k) => assert.ok(Math.abs(v - file.events[i].bbox[k]) <= 4, `event ${i} box ${e.bbox} vs ${file.events[i].bbox}`)));
  });
});

describe('POST /v1/video', () => {
  test('a clip upload: tracks and events as faceprint watch gives them; bounded like the rest', async () => {
    const { startTestServer, api, assertError } = await import('./helpers/server.js');
    const s = await startTestServer({ rateLimitPerMinute: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'faceprint-video-api-'));
    try {
      for (const p of ['amy', 'penny']) {
        const form = new FormData();
        for (const n of [1, 2, 3]) form.append('images', new Blob([readFileSync(join(SHARED, `faces/identities/bbt/${p}/${p}${n}.png`))]), `${p}${n}.png`);
        assert.equal((await api(s.url, 'POST', `/v1/subjects/${p}/faces?create=true`, { key: s.key.write, form })).status, 201);
      }
      const clip = join(dir, 'cut.mp4');
      await makeClip(clip, SCENES.cut());
      const res = await api(s.url, 'POST', '/v1/video?detEvery=2', { key: s.key.read, raw: readFileSync(clip), type: 'video/mp4' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.tracks.map((t: { subject: { name: string } }) => t.subject.name), ['amy', 'penny']);
      assert.equal(res.body.stats.cuts, 1);
      // every other frame, none on the frame held back at the cut, and the frame after it that confirms the cut
      assert.equal(res.body.stats.detectorRuns, 45);
      assert.equal(res.body.threshold, 0.27);
      assert.ok(res.body.events.some((e: { type: string; reason?: string }) => e.type === 'track-ended' && e.reason === 'cut'));
      const form = new FormData();
      form.append('video', new Blob([readFileSync(clip)]), 'cut.mp4');
      assert.equal((await api(s.url, 'POST', '/v1/video?identify=false', { key: s.key.read, form })).body.tracks.length, 2);
      assertError(await api(s.url, 'POST', '/v1/video', { key: s.key.read, raw: Buffer.from('not a video at all'), type: 'video/mp4' }), 415, 'VIDEO_UNREADABLE');
      // an HLS playlist sent as a "video" naming another local file: plain ffmpeg would read that file; uploads
      // are read as container files only
      const playlist = Buffer.from(`#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\n${clip}\n#EXT-X-ENDLIST\n`);
      assertError(await api(s.url, 'POST', '/v1/video', { key: s.key.read, raw: playlist, type: 'video/mp4' }), 415, 'VIDEO_UNREADABLE');
      assertError(await api(s.url, 'POST', '/v1/video', { key: s.key.read, json: { video: 'x' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      assertError(await api(s.url, 'POST', '/v1/video', { raw: readFileSync(clip), type: 'video/mp4' }), 401, 'UNAUTHORIZED');
    } finally {
      await s.close();
    }
  });
});
