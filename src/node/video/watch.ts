import sharp from 'sharp';
import type { FaceAnalyzerCore } from '../../core/analyzer.js';
import type { RgbImage } from '../../core/image.js';
import type { TrackEvent, TrackSummary } from '../../core/video/tracker.js';
import { VideoAnalyzer, type FrameResult, type VideoAnalyzerOptions, type VideoStats } from '../../core/video/video-analyzer.js';
import { faceSquare, FrameAnnotator } from './annotate.js';
import { probeVideo, readFrames, VideoWriter, type VideoInfo } from './ffmpeg.js';

export interface WatchOptions extends VideoAnalyzerOptions {
  /** Resample the source to this rate. */
  fps?: number;
  /** Scale frames to this width before detection. */
  width?: number;
  /** Read a file at its own pace, as a live stream (latency figures then mean frame → label on a live feed). */
  realtime?: boolean;
  /** Stop after this many frames (counted as decoded, whatever the container declares). */
  maxFrames?: number;
  /** ffmpeg's decoding threads; default: ffmpeg's choice. */
  decodeThreads?: number;
  /**
   * Frames decoded ahead of the analysis (default 3): ffmpeg decodes the next frames while this one is analysed.
   * A live source (a stream, a device, or `realtime`) never falls behind: when the queue is full the oldest frame
   * waiting is dropped (counted in `stats.droppedFrames`); a file waits instead.
   */
  queueFrames?: number;
  /** The source came from someone else (an upload): ffmpeg reads it as a local container file only. */
  untrusted?: boolean;
  /** Write the annotated video here (H.264 MP4). */
  out?: string;
  /** Write a contact sheet of the tracks' best faces here (PNG). */
  sheet?: string;
  onEvent?: (event: TrackEvent) => void;
  onFrame?: (result: FrameResult, info: VideoInfo) => void;
  signal?: AbortSignal;
}

export interface WatchReport {
  source: VideoInfo;
  tracks: TrackSummary[];
  events: TrackEvent[];
  stats: VideoStats & { seconds: number; fps: number; recognizerRunsPerFaceFrame: number; droppedFrames: number };
  /**
   * Why reading stopped: the source ended, maxFrames was reached, the signal aborted it, or ffmpeg failed after
   * some frames (all but 'end' are partial results).
   */
  ended: 'end' | 'max-frames' | 'aborted' | 'decode-error';
  /** Per frame: time from the frame's arrival (out of ffmpeg) to its result. */
  latencyMs: { p50: number; p99: number; max: number };
}

/**
 * A video file, stream or device through the tracker: events as they happen, a report at the end, and on request
 * the annotated video and a contact sheet.
 */
export async function watchVideo(core: FaceAnalyzerCore, source: string, options: WatchOptions = {}): Promise<WatchReport> {
  const info = await probeVideo(source, undefined, options.untrusted);
  const video = new VideoAnalyzer(core, options);
  const events: TrackEvent[] = [];
  const latencies: number[] = [];
  const annotator = options.out ? new FrameAnnotator() : null;
  const sink: { writer: VideoWriter | null } = { writer: null };
  const bestCrops = new Map<number, Promise<Buffer>>();
  const started = performance.now();
  let ended: WatchReport['ended'] = 'end';
  let dropped = 0;
  const take = (list: TrackEvent[]) => {
    for (const e of list) {
      events.push(e);
      options.onEvent?.(e);
    }
  };
  try {
    try {
      await readAll();
    } catch (e) {
      // stopped from outside (Ctrl-C on a live stream): what was seen is still reported
      if (!options.signal?.aborted) throw e;
      ended = 'aborted';
    }
    take(video.finish());
  } finally {
    await sink.writer?.close();
  }
  async function readAll(): Promise<void> {
    const frames = readFrames(source, info, {
      fps: options.fps, width: options.width, realtime: options.realtime, untrusted: options.untrusted, signal: options.signal,
      threads: options.decodeThreads, maxFrames: options.maxFrames, onStop: (reason) => { ended = reason; },
    });
    const live = !!options.realtime || /^[a-z]+:\/\//i.test(source) || source.startsWith('/dev/');
    for await (const frame of decodedAhead(frames, options.queueFrames ?? 3, live, () => dropped++)) {
      const arrived = performance.now();
      const result = await video.push(frame.image, frame.timeMs);
      latencies.push(performance.now() - arrived);
      take(result.events);
      options.onFrame?.(result, info);
      if (options.sheet) {
        for (const t of video.tracker.tracks) if (t.best?.frame === result.frame) bestCrops.set(t.id, faceTile(frame.image, t.best.bbox));
      }
      if (annotator) {
        sink.writer ??= new VideoWriter(options.out!, frame.image.width, frame.image.height, options.fps ?? info.fps);
        await annotator.draw(frame.image, result.faces);
        await sink.writer.write(frame.image);
      }
      // the writer's pipe may still hold the pixels; otherwise nothing does (the sheet's tiles are copies)
      else frame.release();
    }
  }
  const tracks = video.summaries();
  if (options.sheet) await writeContactSheet(options.sheet, tracks, bestCrops);
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (q: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10 : 0);
  return {
    source: info, tracks, events, ended,
    stats: {
      ...video.stats, seconds, fps: video.stats.frames / seconds, droppedFrames: dropped,
      recognizerRunsPerFaceFrame: video.stats.faceFrames ? video.stats.recognizerRuns / video.stats.faceFrames : 0,
    },
    latencyMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) },
  };
}

/**
 * The frames of `source`, read ahead into a queue of `depth` while the consumer works on the current one. Full:
 * a live source drops its oldest waiting frame (`onDrop`), a file waits. Stopping early stops the source.
 */
export async function* decodedAhead<T>(source: AsyncGenerator<T>, depth: number, live: boolean, onDrop: () => void): AsyncGenerator<T> {
  const queue: T[] = [];
  let finished = false;
  let failure: unknown = null;
  // who waits: the consumer for a frame, the reader for room in the queue
  const waiting: { frame: (() => void) | null; room: (() => void) | null } = { frame: null, room: null };
  let stopped = false;
  const notify = () => { waiting.frame?.(); waiting.frame = null; };
  const makeRoom = () => { waiting.room?.(); waiting.room = null; };
  const reader = (async () => {
    try {
      for await (const item of source) {
        if (stopped) break;
        if (queue.length >= depth) {
          if (live) {
            queue.shift();
            onDrop();
          } else {
            await new Promise<void>((r) => { waiting.room = r; });
            if (stopped) break;
          }
        }
        queue.push(item);
        notify();
      }
    } catch (e) {
      failure = e;
    } finally {
      finished = true;
      notify();
    }
  })();
  try {
    for (;;) {
      if (queue.length) {
        const item = queue.shift()!;
        makeRoom();
        yield item;
        continue;
      }
      if (finished) break;
      await new Promise<void>((r) => { waiting.frame = r; });
    }
    if (failure) throw failure;
  } finally {
    stopped = true;
    makeRoom();
    // ends the source (ffmpeg) if the consumer stopped early, and waits for it
    await source.return(undefined as never);
    await reader;
  }
}

const TILE = 128;

/** A face's box widened by a fifth, as a square tile (RGB). */
function faceTile(image: RgbImage, bbox: readonly number[]): Promise<Buffer> {
  // a copy: the frame is drawn on (--out) before sharp reads it
  return sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract(faceSquare(image.width, image.height, bbox, 1.2))
    .resize(TILE, TILE, { fit: 'contain', background: '#000' })
    .raw()
    .toBuffer();
}

/** One tile per track (its best face) with its id and label underneath. */
async function writeContactSheet(path: string, tracks: readonly TrackSummary[], tiles: Map<number, Promise<Buffer>>): Promise<void> {
  const shown = tracks.filter((t) => tiles.has(t.id));
  const columns = Math.max(1, Math.min(6, shown.length));
  const rows = Math.max(1, Math.ceil(shown.length / columns));
  const cell = { w: TILE + 8, h: TILE + 28 };
  const annotator = new FrameAnnotator();
  const composites: sharp.OverlayOptions[] = [];
  for (let i = 0; i < shown.length; i++) {
    const t = shown[i];
    const x = (i % columns) * cell.w + 4;
    const y = Math.floor(i / columns) * cell.h + 4;
    composites.push({ input: await tiles.get(t.id)!, raw: { width: TILE, height: TILE, channels: 3 }, left: x, top: y });
    const label = await annotator.label(`#${t.id} ${t.subject?.name ?? 'unknown'}`);
    composites.push({ input: label.rgba, raw: { width: label.width, height: label.height, channels: 4 }, left: x, top: y + TILE + 2 });
  }
  await sharp({ create: { width: columns * cell.w, height: rows * cell.h, channels: 3, background: '#f0f0f0' } }).composite(composites).png().toFile(path);
}
