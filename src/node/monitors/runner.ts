import sharp from 'sharp';
import type { FaceAnalyzerCore } from '../../core/analyzer.js';
import { EventRing } from '../../core/monitors/event-ring.js';
import { VisitTracker, type MonitorEvent, type VisitEvent } from '../../core/monitors/visits.js';
import type { RgbImage } from '../../core/image.js';
import { VideoAnalyzer, type FrameResult, type VideoIdentifier } from '../../core/video/video-analyzer.js';
import { faceSquare } from '../video/annotate.js';
import { readFrames } from '../video/ffmpeg.js';
import { decodedAhead } from '../video/watch.js';
import { isFileSource, redactSource } from './source.js';

export interface MonitorSettings {
  id: string;
  name: string;
  /** rtsp(s)://, http(s):// (MJPEG, MPEG-TS, HLS), a /dev/video device, or a file played in a loop. */
  source: string;
  /** Whether it should be running (kept across restarts). */
  enabled: boolean;
  /** Frames analysed per second at most (default 5). */
  fps: number;
  /** Detect on every n-th analysed frame (the tracker carries faces between). */
  detEvery: number;
  /** Faces per frame (0: all). */
  maxFaces: number;
  /** A decision threshold of its own; default the gallery's. */
  threshold: number | null;
  /** A person's visit ends this long after they were last seen (one event per visit, not per second). */
  cooldownS: number;
  /** Events carry the track's best face as a small JPEG (faces are biometric data: off by default). */
  keepFaces: boolean;
  /** Where its events are posted (signed), besides the server's global webhook. */
  webhook: string | null;
  /** The collection whose people it names (default: the default one). */
  collection: string;
}

/** degraded: running, but dropping most frames (no capacity) or failing to deliver its events. */
export type MonitorState = 'starting' | 'running' | 'degraded' | 'reconnecting' | 'stopped';

export interface MonitorDeps {
  core: FaceAnalyzerCore;
  /** A collection's gallery as this monitor's identifier (its threshold resolved now); null: no one to name. */
  identifier(threshold: number | null, collection: string): Promise<VideoIdentifier | null>;
  /** Runs one frame's analysis within the service's capacity; throws when there is none (the frame is dropped). */
  runFrame<T>(bytes: number, job: () => Promise<T>): Promise<T>;
  /** Every event, as it is added (webhooks). */
  onEvent(event: MonitorEvent): void;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
  /** A stream that sends no frame for this long is read again (default 10 s). */
  stallMs?: number;
}

/** Analysed frames are at most this size (scaled to fit, black bars): 720p keeps faces large enough to name. */
export const MONITOR_FRAME: [number, number] = [1280, 720];
const BACKOFF_MS = [1000, 30_000] as const;

/**
 * One camera: ffmpeg reads it (newest frame wins when analysis is behind), the core tracker follows the faces,
 * visits become events in a bounded ring. A stream that ends, fails or stalls is read again after a back-off of
 * 1 s doubling to 30 s (reset once frames flow); `monitor-error` once per outage, `monitor-recovered` when it ends.
 */
export class MonitorRunner {
  state: MonitorState = 'stopped';
  lastError: string | null = null;
  readonly stats = { frames: 0, analysed: 0, dropped: 0, reconnects: 0, faces: 0 };
  /** The last 500 frames' lag: from leaving ffmpeg to their events told (ms). */
  private readonly lags: number[] = [];
  /** The last 50 frames: analysed (true) or dropped (false). */
  private readonly outcomes: boolean[] = [];

  /** Share of the last 50 frames dropped for want of capacity. */
  dropRatio(): number {
    return this.outcomes.length ? this.outcomes.filter((x) => !x).length / this.outcomes.length : 0;
  }

  private outcome(analysed: boolean): void {
    this.outcomes.push(analysed);
    if (this.outcomes.length > 50) this.outcomes.shift();
  }
  readonly events: EventRing;
  /** The latest analysed frame and what was found on it (snapshot, preview). */
  latest: { image: RgbImage; result: FrameResult; at: number } | null = null;
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;

  constructor(public settings: MonitorSettings, private readonly deps: MonitorDeps, ringSize = 1000) {
    this.events = new EventRing(ringSize, Date.now() * 1000);
  }

  /** Lag percentiles over the last 500 analysed frames (ms; 0 before any). */
  lag(): { p50: number; p99: number } {
    const sorted = [...this.lags].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]) : 0);
    return { p50: at(0.5), p99: at(0.99) };
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal).finally(() => {
      this.loop = null;
      this.state = 'stopped';
    });
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
  }

  private emit(e: Omit<MonitorEvent, 'id' | 'monitorId'>): void {
    this.deps.onEvent(this.events.add({ ...e, monitorId: this.settings.id }));
  }

  private async run(signal: AbortSignal): Promise<void> {
    let backoff: number = BACKOFF_MS[0];
    let outage = false;
    while (!signal.aborted) {
      this.state = outage ? 'reconnecting' : 'starting';
      let flowed = false;
      try {
        await this.connect(signal, () => {
          flowed = true;
          backoff = BACKOFF_MS[0];
          if (outage) {
            outage = false;
            this.lastError = null;
            this.emit({ type: 'monitor-recovered', time: new Date().toISOString(), trackId: null, subject: null, score: null, bbox: null });
          }
          this.state = 'running';
        });
        if (!signal.aborted) throw new Error('the stream ended');
      } catch (e) {
        if (signal.aborted) break;
        const message = redactSource(String((e as Error).message ?? e)).replaceAll(this.settings.source, redactSource(this.settings.source));
        this.lastError = message;
        if (!outage) {
          outage = true;
          this.emit({ type: 'monitor-error', time: new Date().toISOString(), trackId: null, subject: null, score: null, bbox: null, message });
          this.deps.log.warn({ monitor: this.settings.id, source: redactSource(this.settings.source), err: message }, 'monitor: stream lost, reconnecting');
        }
      }
      if (signal.aborted) break;
      this.state = 'reconnecting';
      this.stats.reconnects++;
      if (flowed) backoff = BACKOFF_MS[0];
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoff);
        signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
      });
      backoff = Math.min(BACKOFF_MS[1], backoff * 2);
    }
  }

  /** One connection: frames until the stream ends, fails, stalls or the monitor stops. */
  private async connect(signal: AbortSignal, onFrame: () => void): Promise<void> {
    const s = this.settings;
    const identifier = await this.deps.identifier(s.threshold, s.collection);
    const video = new VideoAnalyzer(this.deps.core, { identifier, detEvery: s.detEvery, maxFaces: s.maxFaces });
    const visits = new VisitTracker({ cooldownMs: s.cooldownS * 1000, unknownAfterMs: 1500 });
    const stall = new AbortController();
    const connection = AbortSignal.any([signal, stall.signal]);
    let lastFrame = Date.now();
    const stallMs = this.deps.stallMs ?? 10_000;
    const watchdog = setInterval(() => {
      if (Date.now() - lastFrame > stallMs) stall.abort(new Error(`no frame for ${stallMs / 1000} s`));
    }, Math.min(1000, stallMs / 4));
    const [width, height] = MONITOR_FRAME;
    const info = { width, height, fps: s.fps, durationS: null, frames: null };
    const file = isFileSource(s.source);
    const frames = readFrames(s.source, info, { fps: s.fps, fitInto: MONITOR_FRAME, realtime: file, loop: file, signal: connection, threads: 2 });
    try {
      for await (const frame of decodedAhead(frames, 1, true, () => { this.stats.dropped++; this.outcome(false); })) {
        lastFrame = Date.now();
        const arrived = performance.now();
        this.stats.frames++;
        onFrame();
        let result: FrameResult;
        try {
          result = await this.deps.runFrame(width * height * 3, () => video.push(frame.image, Date.now()));
        } catch {
          this.stats.dropped++; // no capacity for it now: the next frame is newer anyway
          this.outcome(false);
          continue;
        }
        this.outcome(true);
        this.stats.analysed++;
        this.stats.faces += result.faces.length;
        this.latest = { image: frame.image, result, at: Date.now() };
        await this.tell(visits.push(result.events, Date.now()), video);
        this.lags.push(performance.now() - arrived);
        if (this.lags.length > 500) this.lags.shift();
      }
      if (stall.signal.aborted) throw stall.signal.reason;
    } catch (e) {
      if (stall.signal.aborted && !signal.aborted) throw stall.signal.reason;
      throw e;
    } finally {
      clearInterval(watchdog);
      await this.tell([...visits.push(video.finish(), Date.now()), ...visits.finish(Date.now())], video);
    }
  }

  private async tell(events: VisitEvent[], video: VideoAnalyzer): Promise<void> {
    for (const e of events) {
      const face = this.settings.keepFaces && e.type.endsWith('-enter') ? await this.faceJpeg(e.trackId, video) : undefined;
      this.emit({ ...e, ...(face ? { face } : {}) });
    }
  }

  /**
   * The track's face on the latest frame as a 160-px JPEG (base64): its box and a fifth around it, so that the
   * photo can be enrolled as it is (a face detector needs some context around a face).
   */
  private async faceJpeg(trackId: number, video: VideoAnalyzer): Promise<string | undefined> {
    const frame = this.latest;
    const t = video.tracker.tracks.find((x) => x.id === trackId);
    const box = t?.lastBox;
    if (!frame || !box) return undefined;
    const { width, height, data } = frame.image;
    const square = faceSquare(width, height, box, 1.4);
    if (square.width < 8 || square.height < 8) return undefined;
    const jpeg = await sharp(Buffer.from(data), { raw: { width, height, channels: 3 } }).extract(square).resize(160, 160, { fit: 'contain', background: '#000' }).jpeg({ quality: 85 }).toBuffer();
    return jpeg.toString('base64');
  }
}
