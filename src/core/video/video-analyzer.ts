import type { FaceAnalyzerCore } from '../analyzer.js';
import { ScrfdDetector, type Detection } from '../detection/scrfd.js';
import type { RgbImage } from '../image.js';
import { ShotCutDetector, type ShotCutOptions } from './shot-cut.js';
import { FaceTracker, type SubjectRef, type TrackEvent, type TrackerOptions, type TrackState, type TrackSummary } from './tracker.js';

/** Who a face is: the gallery behind a video (its best subject for an embedding, and the threshold in force). */
export interface VideoIdentifier {
  threshold: number;
  identify(embedding: Float32Array): Promise<{ subject: SubjectRef; score: number } | null>;
}

export interface VideoAnalyzerOptions extends TrackerOptions {
  /** Run the detector on every n-th frame; between, tracks move by their prediction. Default 1. */
  detEvery?: number;
  /**
   * Shot-cut detection (an adaptive content detector, see ShotCutDetector): its settings, or false for none.
   * At a cut every track ends: a face in the new shot is a new track, never the old one's continuation.
   */
  cuts?: ShotCutOptions | false;
  /** Who faces are; none: tracks stay unlabelled (embeddings are still taken, for re-attachment). */
  identifier?: VideoIdentifier | null;
  /**
   * The detector's input: 'frame' (default) — the frame's own shape, scaled down to fit the detector's usual
   * input, padded to multiples of 32 (640×360 → 640×384: 40% fewer pixels than 640×640); 'model' — the analyzer's square
   * input, as for still images; or [width, height]. Models with a fixed input size always use theirs.
   */
  detectorSize?: 'frame' | 'model' | [number, number];
  /**
   * Several detector sizes merged by one NMS (InsightFace 1.0; [128, 640] its Auto), each fitted to the frame's
   * shape unless detectorSize is 'model'. Default: one pass (detectorSize) — the 128 pass costs time per frame
   * and the tracker already carries faces between detections.
   */
  detSizes?: readonly number[];
  /** At most this many faces per frame, InsightFace's max_num ranking (largest and most central). 0: all. */
  maxFaces?: number;
}

/** A tracked face on a frame. */
export interface TrackedFace {
  trackId: number;
  state: TrackState;
  bbox: [number, number, number, number];
  /** Whether the detector saw it on this frame (false: predicted). */
  detected: boolean;
  subject: SubjectRef | null;
  score: number | null;
}

export interface FrameResult {
  frame: number;
  timeMs: number;
  /** Whether the detector ran on this frame. */
  detected: boolean;
  /** A shot cut was confirmed on this frame; `cutFrame` is the new shot's first frame (the one before, held back). */
  cut: boolean;
  cutFrame?: number;
  /** Confirmed tracks (in sight or briefly predicted). */
  faces: TrackedFace[];
  events: TrackEvent[];
}

export interface VideoStats {
  frames: number;
  detectorRuns: number;
  /** Faces embedded (each a recognizer input). */
  recognizerRuns: number;
  cuts: number;
  /** Sum over frames of the confirmed faces in sight: what embedding every face of every frame would cost. */
  faceFrames: number;
}

/** Mean RGB difference (0–255) between face patches past which the face under a box is taken to have changed. */
const PATCH_CHANGE = 25;
/** … and past which another face may have taken its place (a same-place swap of two people: 43). */
const FACE_CHANGED = 35;
const PATCH_GRID = 8;

/** A face box's central 80% sampled on an 8×8 grid, RGB. */
export function facePatch(image: RgbImage, bbox: readonly number[]): Uint8Array {
  const out = new Uint8Array(PATCH_GRID * PATCH_GRID * 3);
  const w = bbox[2] - bbox[0];
  const h = bbox[3] - bbox[1];
  let k = 0;
  for (let gy = 0; gy < PATCH_GRID; gy++) {
    const y = Math.min(image.height - 1, Math.max(0, Math.floor(bbox[1] + h * (0.1 + (0.8 * (gy + 0.5)) / PATCH_GRID))));
    for (let gx = 0; gx < PATCH_GRID; gx++) {
      const x = Math.min(image.width - 1, Math.max(0, Math.floor(bbox[0] + w * (0.1 + (0.8 * (gx + 0.5)) / PATCH_GRID))));
      const o = (y * image.width + x) * 3;
      out[k++] = image.data[o];
      out[k++] = image.data[o + 1];
      out[k++] = image.data[o + 2];
    }
  }
  return out;
}

export function patchChange(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/**
 * Video on raw frames, the way real-time trackers work: detect often, embed rarely, decide per track. Each
 * pushed frame is detected (every `detEvery`-th), associated to tracks, and only the tracks that need one get an
 * embedding (newly confirmed, or a clearly better face than before); a track's label comes from its embeddings
 * together, with hysteresis. Pure core: the same in Node (`faceprint watch`, POST /v1/video) and the browser.
 */
export class VideoAnalyzer {
  readonly tracker: FaceTracker;
  readonly stats: VideoStats = { frames: 0, detectorRuns: 0, recognizerRuns: 0, cuts: 0, faceFrames: 0 };
  private readonly core: FaceAnalyzerCore;
  private readonly detEvery: number;
  private readonly cuts: ShotCutDetector | null;
  private readonly identifier: VideoIdentifier | null;
  private frame = 0;
  private readonly detectorSize: 'frame' | 'model' | [number, number];
  private detector: ScrfdDetector | null = null;
  private readonly detSizes: readonly number[] | undefined;
  private readonly maxFaces: number;
  /** Each track's face patch on its last detection. */
  private readonly patches = new Map<number, Uint8Array>();

  constructor(core: FaceAnalyzerCore, options: VideoAnalyzerOptions = {}) {
    this.core = core;
    // with a gallery, "the same face" means what the recognizer's decision threshold means
    this.tracker = new FaceTracker({ ...(options.identifier ? { sameFaceCosine: options.identifier.threshold } : {}), ...options });
    this.detEvery = Math.max(1, Math.floor(options.detEvery ?? 1));
    this.cuts = options.cuts === false ? null : new ShotCutDetector(options.cuts ?? {});
    this.identifier = options.identifier ?? null;
    this.detectorSize = options.detectorSize ?? 'frame';
    this.detSizes = options.detSizes ? core.detSizesFor({ detSizes: options.detSizes }) : undefined;
    this.maxFaces = options.maxFaces ?? 0;
  }

  /**
   * This video's detections on a frame, through the analyzer's own detect (its sizes, fitted to the frame or its
   * square): one pass at the analyzer's largest size unless detSizes asks for more. Only an explicit
   * [width, height] input has its own detector on the same session.
   */
  private detectFrame(image: RgbImage, detThresh: number): Promise<Detection[]> {
    const maxFaces = this.maxFaces;
    if (Array.isArray(this.detectorSize)) {
      this.core.ensureOpen();
      this.detector ??= new ScrfdDetector(this.core.detector.session, this.detectorSize);
      return this.detector.detect(image, { detThresh, maxFaces });
    }
    const detSizes = this.detSizes ?? [Math.max(...this.core.detSizesFor())];
    return this.core.detect(image, { detThresh, maxFaces, detSizes, detInput: this.detectorSize === 'model' ? 'model' : 'image' });
  }

  /** One frame (RGB); `timeMs` defaults to the frame number at 30 fps. */
  async push(image: RgbImage, timeMs?: number): Promise<FrameResult> {
    const frame = this.frame++;
    const time = timeMs ?? (frame * 1000) / 30;
    this.tracker.frameSize = [image.width, image.height];
    const verdict = this.cuts?.push(image, time);
    // a frame that changed like a cut is not matched to anything until the next frame says whether it was one
    // (a flash returns to the picture before it): no face of a new shot is ever taken for an old track
    const held = verdict?.candidate ?? false;
    const cut = verdict?.confirmed ?? false;
    // after a cut the detector runs at once: the new shot's faces should not wait for the schedule
    const detect = !held && (cut || frame % this.detEvery === 0);
    let detections = null;
    if (detect) {
      const found = await this.detectFrame(image, this.tracker.options.lowScore);
      detections = found.map((d) => ({
        bbox: d.bbox,
        kps: d.kps ?? undefined,
        score: d.score,
      }));
      this.stats.detectorRuns++;
    }
    this.tracker.step(frame, time, detections, cut);
    if (cut) this.stats.cuts++;
    if (detections) this.checkFacePatches(image);
    if (!held) await this.embedWanted(image);
    this.stats.frames++;
    const faces: TrackedFace[] = this.tracker.tracks
      .filter((t) => t.state === 'confirmed')
      .map((t) => ({
        trackId: t.id, state: t.state, bbox: t.detection?.bbox ?? t.kalman.box(), detected: t.detection !== null, subject: t.subject, score: t.score,
      }));
    this.stats.faceFrames += faces.length;
    return { frame, timeMs: time, detected: detect, cut, ...(cut ? { cutFrame: frame - 1 } : {}), faces, events: this.tracker.drainEvents() };
  }

  /**
   * The pixels under each matched box against the same track's on its last detection: a face that changed
   * suddenly (another person stepped into the same place) is a discontinuity, embedded again at once.
   */
  private checkFacePatches(image: RgbImage): void {
    const seen = new Set<number>();
    for (const t of this.tracker.tracks) {
      if (!t.detection) continue;
      seen.add(t.id);
      const patch = facePatch(image, t.detection.bbox);
      const before = this.patches.get(t.id);
      this.patches.set(t.id, patch);
      const change = before ? patchChange(patch, before) : 0;
      if (t.state === 'confirmed' && change > PATCH_CHANGE) this.tracker.markDiscontinuity(t, change > FACE_CHANGED);
    }
    for (const id of this.patches.keys()) if (!seen.has(id) && !this.tracker.tracks.some((t) => t.id === id)) this.patches.delete(id);
  }

  private async embedWanted(image: RgbImage): Promise<void> {
    const wanted = this.tracker.wantsEmbedding();
    if (wanted.length === 0 || !this.core.recognizer) return;
    const embeddings = await this.core.embedFaces(image, wanted.map((w) => w.detection.kps!));
    this.stats.recognizerRuns += embeddings.length;
    for (let i = 0; i < wanted.length; i++) {
      const track = this.tracker.addEmbedding(wanted[i].track, embeddings[i], wanted[i].quality);
      if (this.identifier && track.template) this.tracker.decide(track, await this.identifier.identify(track.template), this.identifier.threshold);
    }
  }

  /** The video is over: every track ends; returns the last events. */
  finish(): TrackEvent[] {
    this.tracker.finish();
    return this.tracker.drainEvents();
  }

  /** Every track so far, in id order. */
  summaries(): TrackSummary[] {
    return this.tracker.summaries();
  }
}
