// Video on real footage: clips cut from ../shared/fixtures/video/crowd_walk_1080p.mp4 (a real 1080p crowd, 25 fps)
// with ffmpeg in the test, scaled to 640×360 — a jump cut within the clip (same set, other people in place), a
// camera switch (a cut to a zoomed crop), a cut between two dark tinted shots, a lighting ramp and a one-frame
// flash within one shot. Each cut is found within one frame, no track spans one, and nothing else is a cut.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { FaceAnalyzer } from '../src/node/index.js';
import { watchVideo } from '../src/node/video/watch.js';
import type { FrameResult, TrackedFace } from '../src/core/video/video-analyzer.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';

const run = promisify(execFile);
const CROWD = join(SHARED, 'video/crowd_walk_1080p.mp4');
const dir = mkdtempSync(join(tmpdir(), 'faceprint-footage-'));

/** A clip from the crowd footage through an ffmpeg filter graph ([0:v] in, [out] out), H.264 at 640×360. */
async function clip(name: string, graph: string): Promise<string> {
  const path = join(dir, name);
  await run('ffmpeg', ['-loglevel', 'error', '-y', '-i', CROWD, '-filter_complex', graph, '-map', '[out]', '-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', path]);
  return path;
}

const SCALE = 'scale=640:360';
/** The crowd footage from a to b seconds, scaled. */
const part = (label: string, a: number, b: number, extra = '') => `[${label}]trim=${a}:${b},setpts=PTS-STARTPTS,${SCALE}${extra ? `,${extra}` : ''}`;

const CLIPS = {
  // 0–0.4 s, then 3.0–4.2 s: the same arcade, the crowd further on; the cut is frame 10
  jump: { graph: `[0:v]split[a][b];${part('a', 0, 0.4)}[x];${part('b', 3.0, 4.2)}[y];[x][y]concat=n=2:v=1[out]`, cut: 10 },
  // a wide shot, then a 2× zoomed crop of its centre: frame 40
  switch: { graph: `[0:v]split[a][b];${part('a', 0, 1.6)}[x];[b]trim=1.6:3.2,setpts=PTS-STARTPTS,crop=iw/2:ih/2:iw/4:ih/4,${SCALE}[y];[x][y]concat=n=2:v=1[out]`, cut: 40 },
  // two shots darkened to about a quarter and tinted, blue then orange: frame 40
  dark: { graph: `[0:v]split[a][b];${part('a', 0, 1.6, 'colorchannelmixer=rr=0.15:gg=0.2:bb=0.35')}[x];${part('b', 2.4, 4.0, 'colorchannelmixer=rr=0.35:gg=0.22:bb=0.12')}[y];[x][y]concat=n=2:v=1[out]`, cut: 40 },
  // the light coming up over one second within the shot: no cut
  ramp: { graph: `[0:v]${SCALE},eq=brightness='-0.35+0.35*clip((t-1.0)/1.0,0,1)':eval=frame[out]`, cut: null },
  // one frame (50) flashed white-ish: no cut
  flash: { graph: `[0:v]${SCALE},eq=brightness='if(eq(n,50),0.6,0)':eval=frame[out]`, cut: null },
} as const;

let fa: FaceAnalyzer;
before(async () => {
  fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
});
after(() => fa.close());

describe('shot cuts on real footage', () => {
  for (const [name, spec] of Object.entries(CLIPS)) {
    test(`${name}: ${spec.cut === null ? 'no cut' : `a cut at frame ${spec.cut}, found within one frame; no track spans it`}`, async () => {
      const path = await clip(`${name}.mp4`, spec.graph);
      const cuts: { at: number; found: number }[] = [];
      const report = await watchVideo(fa.core, path, { onFrame: (r) => { if (r.cut) cuts.push({ at: r.cutFrame!, found: r.frame }); } });
      if (spec.cut === null) {
        assert.deepEqual(cuts, [], `${name}: no cut`);
        assert.equal(report.stats.cuts, 0);
        return;
      }
      assert.equal(cuts.length, 1, JSON.stringify(cuts));
      assert.equal(cuts[0].at, spec.cut);
      assert.ok(cuts[0].found - spec.cut <= 1, `found at frame ${cuts[0].found}`);
      for (const t of report.tracks) assert.ok(t.lastFrame < spec.cut || t.firstFrame >= spec.cut, `track ${t.id} spans the cut: frames ${t.firstFrame}–${t.lastFrame}`);
      assert.ok(report.tracks.some((t) => t.lastFrame < spec.cut) && report.tracks.some((t) => t.firstFrame >= spec.cut), 'faces tracked on both sides');
    });
  }
});

describe('a name never passes from one person to another', () => {
  test('a same-place swap of two fixture people (no cut, same background): the swapped-in person never carries the first one\'s name', async () => {
    const { makeClip } = await import('./helpers/clips.js');
    const { FaceGallery } = await import('../src/node/gallery/index.js');
    const { galleryIdentifier } = await import('../src/core/video/gallery-identifier.js');
    // amy at one place for 45 frames, then penny at exactly the same place (the same grey room)
    const path = join(dir, 'swap.mp4');
    await makeClip(path, Array.from({ length: 90 }, (_, i) => ({ background: [128, 128, 128] as [number, number, number], faces: [{ person: i < 45 ? 'amy' : 'penny', x: 250, y: 110, size: 140 }] })));
    const gallery = await FaceGallery.open({ analyzer: fa, store: join(dir, 'swap.db') });
    try {
      for (const p of ['amy', 'penny']) await gallery.enroll(p, [1, 2, 3].map((n) => join(SHARED, `faces/identities/bbt/${p}/${p}${n}.png`)), { create: true });
      const identifier = await galleryIdentifier(gallery.gallery);
      const wrong: number[] = [];
      const report = await watchVideo(fa.core, path, {
        identifier,
        onFrame: (r) => { if (r.frame >= 45 && r.faces.some((f) => f.subject?.name === 'amy')) wrong.push(r.frame); },
      });
      assert.deepEqual(wrong, [], 'frames where penny is shown under amy\'s name');
      assert.equal(report.stats.cuts, 0, 'not a shot cut: the picture barely changes');
      const amy = report.tracks.find((t) => t.subject?.name === 'amy')!;
      const penny = report.tracks.find((t) => t.subject?.name === 'penny')!;
      assert.equal(amy.endReason, 'identity');
      assert.ok(amy.lastFrame <= 45 && penny.firstFrame >= 45, JSON.stringify(report.tracks));
      assert.ok(report.events.some((e) => e.type === 'track-ended' && e.reason === 'identity' && e.trackId === amy.id));
    } finally {
      await gallery.close();
    }
  });
});

describe('the untouched crowd footage', () => {
  test('the three people walking toward the camera in the middle keep one track id each, first detection to the end', async () => {
    // face centres read off frames 10 and 100 of the 1920×1080 footage (viewed at 960×540, doubled): the boy in
    // the blue hoodie, the red-haired young man on the left, the older man in the black jacket behind them
    const people = {
      boy: { 10: [968, 690], 100: [788, 734] },
      redhead: { 10: [763, 614], 100: [427, 640] },
      olderMan: { 10: [1119, 662], 100: [1144, 695] },
    } as const;
    const seen: Record<string, Record<number, number>> = { boy: {}, redhead: {}, olderMan: {} };
    const report = await watchVideo(fa.core, CROWD, {
      onFrame: (r: FrameResult) => {
        if (r.frame !== 10 && r.frame !== 100) return;
        for (const [who, at] of Object.entries(people)) {
          const [x, y]: readonly number[] = at[r.frame as 10 | 100];
          const near: TrackedFace[] = r.faces.filter((f) => Math.hypot((f.bbox[0] + f.bbox[2]) / 2 - x, (f.bbox[1] + f.bbox[3]) / 2 - y) < 30);
          assert.equal(near.length, 1, `${who} at frame ${r.frame}: ${JSON.stringify(r.faces.map((f) => f.bbox.map(Math.round)))}`);
          seen[who][r.frame] = near[0].trackId;
        }
      },
    });
    assert.equal(report.source.width, 1920);
    for (const [who, ids] of Object.entries(seen)) {
      assert.equal(ids[10], ids[100], `${who}: track ${ids[10]} at frame 10, ${ids[100]} at frame 100`);
      const track = report.tracks.find((t) => t.id === ids[10])!;
      assert.ok(track.firstFrame <= 10 && track.lastFrame === 104 && track.endReason === 'end', `${who}: ${JSON.stringify(track)}`);
    }
    assert.equal(new Set(Object.values(seen).map((s) => s[10])).size, 3);
    // the recognizer runs rarely: at most 5% of the face-frames
    assert.ok(report.stats.recognizerRuns <= 0.05 * report.stats.faceFrames, `${report.stats.recognizerRuns} runs for ${report.stats.faceFrames} face-frames`);
  });
});

describe('faceprint watch honours what it accepts', () => {
  test('--det-thresh, --max-faces (per frame, as in analyze), --det-input and --no-cuts change what it does', async () => {
    const { cli } = await import('./helpers/cli.js');
    const path = await clip('jump-cli.mp4', CLIPS.jump.graph);
    const models = ['--detector', DET_500M, '--recognizer', MOBILEFACENET];
    const summary = async (...args: string[]) => {
      const r = await cli(['watch', path, ...models, ...args]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    };
    const plain = await summary();
    assert.equal(plain.stats.cuts, 1);
    assert.ok(plain.tracks.length >= 4, `${plain.tracks.length} tracks`);
    // no face of this crowd scores 0.99: nothing starts a track
    assert.equal((await summary('--det-thresh', '0.99')).tracks.length, 0);
    const one = await summary('--max-faces', '1');
    assert.ok(one.tracks.length < plain.tracks.length && one.stats.faceFrames <= one.stats.frames, JSON.stringify(one.stats));
    assert.equal((await summary('--no-cuts')).stats.cuts, 0);
    // the model's square instead of the frame's shape: another detector input, so other scores and runs
    const square = await summary('--det-input', 'model');
    assert.notDeepEqual(square.tracks.map((t: { best: unknown }) => t.best), plain.tracks.map((t: { best: unknown }) => t.best));
  });
});

describe('live sources and event boxes', () => {
  test('a live source never falls behind: with a slow consumer the oldest waiting frames are dropped and counted; a file waits', async () => {
    const { decodedAhead } = await import('../src/node/video/watch.js');
    // a source with a frame every 10 ms, a consumer that takes 50 ms a frame
    async function* frames() {
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 10));
        yield i;
      }
    }
    const consume = async (live: boolean) => {
      let dropped = 0;
      const got: number[] = [];
      for await (const f of decodedAhead(frames(), 3, live, () => dropped++)) {
        got.push(f);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { got, dropped };
    };
    const live = await consume(true);
    assert.ok(live.dropped > 10, `${live.dropped} dropped`);
    assert.equal(live.got.length + live.dropped, 40);
    assert.deepEqual(live.got, [...live.got].sort((a, b) => a - b), 'in order');
    assert.equal(live.got.at(-1), 39, 'the newest frame is never the one dropped');
    const file = await consume(false);
    assert.deepEqual(file, { got: Array.from({ length: 40 }, (_, i) => i), dropped: 0 });
  });

  test('a lost track keeps its size, and events carry its last observed box, inside the frame', async () => {
    const { FaceTracker } = await import('../src/core/video/tracker.js');
    const tracker = new FaceTracker({ minHits: 1, maxLostMs: 200, reattachMs: 400 });
    tracker.frameSize = [640, 360];
    // a face moving right and growing fast, near the right edge, then gone
    for (let f = 0; f < 10; f++) tracker.step(f, f * 40, [{ bbox: [560 + 6 * f, 100, 620 + 8 * f, 170 + 2 * f], score: 0.9 }]);
    tracker.drainEvents();
    const seen = tracker.tracks[0];
    const size = () => { const b = seen.kalman.box(); return [b[2] - b[0], b[3] - b[1]]; };
    tracker.step(10, 400, []);
    const before = size();
    for (let f = 11; f < 30; f++) tracker.step(f, f * 40, []);
    assert.deepEqual(size().map(Math.round), before.map(Math.round), 'its size is frozen while unseen');
    const ended = tracker.drainEvents().find((e) => e.type === 'track-ended')!;
    assert.equal(ended.reason, 'lost');
    // the last detection was [614, 100, 692, 188]: reported as observed, cut at the frame's right edge
    assert.deepEqual(ended.bbox, [614, 100, 640, 188]);
  });
});
