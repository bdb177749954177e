import type { Command } from 'commander';
import { FaceprintError } from '../core/errors.js';
import { galleryIdentifier } from '../core/video/gallery-identifier.js';
import type { VideoIdentifier } from '../core/video/video-analyzer.js';
import { FaceGallery } from '../node/gallery/index.js';
import { requireFfmpeg } from '../node/video/ffmpeg.js';
import { watchVideo } from '../node/video/watch.js';
import { addAnalyzerOptions, openAnalyzer, progressBar } from './options.js';
import { requireGallery } from './gallery.js';

type PrintLine = (line: string) => void;
type Parse = (v: string) => number;

export function addWatchCommand(program: Command, out: PrintLine, int: Parse, float: Parse): void {
  const cmd = program
    .command('watch')
    .description('faces in a video file, stream or camera: tracked across frames, recognised once per track; JSON lines of events, then a summary')
    .argument('<source>', 'a video file, an rtsp:// or http(s):// stream, or a V4L2 device (/dev/video0)');
  addAnalyzerOptions(cmd, int, float)
    .option('--store <url>', 'gallery to recognise against (SQLite file or postgres://…); none: tracks stay unlabelled', process.env.FACEPRINT_STORE)
    .option('--threshold <cosine>', 'decision threshold (cosine); default: the gallery calibration, else the known model\'s', float)
    .option('--far <rate>', 'decision threshold at this false-accept rate, from the gallery calibration', float)
    .option('--det-every <n>', 'run the detector on every n-th frame (tracks are predicted between)', int, 1)
    .option('--fps <n>', 'resample the video to this frame rate first', float)
    .option('--width <px>', 'scale frames to this width first', int)
    .option('--max-faces <n>', 'at most this many faces per frame (0 = all), as in analyze', int, 0)
    .option('--max-tracks <n>', 'faces followed at once', int, 16)
    .option('--no-cuts', 'do not look for shot cuts (a single camera)')
    .option('--cut-ratio <x>', 'a shot cut changes this many times more than the frames before it', float, 3)
    .option('--cut-min-content <x>', 'and at least this much (mean HSV difference, 0–255)', float, 10)
    .option('--min-shot-ms <ms>', 'no cut closer than this to the previous one', int, 300)
    .option('--max-frames <n>', 'stop after this many frames', int)
    .option('--realtime', 'read a file at its own pace, as a live stream arrives')
    .option('--out <file>', 'write the annotated video (H.264 MP4): boxes and names drawn')
    .option('--sheet <file>', 'write a contact sheet of the tracks\' best faces (PNG)')
    .option('--progress', 'progress bar on stderr (default: for files, on a terminal)')
    .action(async (source: string, opts) => {
      await requireFfmpeg();
      if (opts.detEvery < 1) throw new FaceprintError('INVALID_INPUT', '--det-every must be 1 or more');
      const analyzer = await openAnalyzer(opts);
      let gallery: FaceGallery | null = null;
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      try {
        let identifier: VideoIdentifier | null = null;
        if (opts.store) {
          requireGallery(opts.store);
          gallery = await FaceGallery.open({ analyzer, store: opts.store });
          identifier = await galleryIdentifier(gallery.gallery, { threshold: opts.threshold, far: opts.far });
        }
        const live = /^(rtsp|https?):\/\//.test(source) || source.startsWith('/dev/');
        const bar = (opts.progress ?? (process.stderr.isTTY && !live)) ? progressBar('watch', 'frames') : null;
        const report = await watchVideo(analyzer.core, source, {
          detEvery: opts.detEvery, fps: opts.fps, width: opts.width, maxTracks: opts.maxTracks, maxFaces: opts.maxFaces, maxFrames: opts.maxFrames, realtime: opts.realtime,
          // --det-thresh: the score at which a face starts a track (InsightFace's det_thresh); weaker ones only keep one alive
          highScore: opts.detThresh,
          // --det-input: 'image' (video's default) sizes the detector to the frame, 'model' uses the model's square
          detectorSize: opts.detInput === 'model' && cmd.getOptionValueSource('detInput') === 'cli' ? 'model' : 'frame',
          cuts: opts.cuts === false ? false : { ratio: opts.cutRatio, minContent: opts.cutMinContent, minShotMs: opts.minShotMs },
          out: opts.out, sheet: opts.sheet, identifier, signal: stop.signal,
          // video's default is one pass at the frame's shape; sizes given on the command line replace it
          detSizes: opts.detSizes ?? (cmd.getOptionValueSource('detSize') === 'cli' ? [opts.detSize] : undefined),
          onEvent: (e) => out(JSON.stringify(e)),
          onFrame: (r, info) => bar?.update(r.frame + 1, Math.max(r.frame + 1, opts.maxFrames ?? info.frames ?? r.frame + 1)),
        });
        bar?.stop();
        out(JSON.stringify({ type: 'summary', source: report.source, tracks: report.tracks, stats: report.stats, latencyMs: report.latencyMs, threshold: identifier?.threshold ?? null }));
      } finally {
        process.off('SIGINT', onSignal);
        await gallery?.close();
        await analyzer.close();
      }
    });
}
