import { templateOf } from '../gallery/template.js';
import { dot } from '../matching/cosine.js';
import { BoxKalman } from './kalman.js';
import { assign, iou } from './assignment.js';

/** tentative: seen, not yet trusted · confirmed: followed · lost: not seen lately, may come back · ended. */
export type TrackState = 'tentative' | 'confirmed' | 'lost' | 'ended';

/** A detection as the tracker needs it. */
export interface TrackedDetection {
  bbox: [number, number, number, number];
  kps?: [number, number][];
  score: number;
}

export interface SubjectRef {
  id: string;
  name: string;
}

export type TrackEventType = 'track-started' | 'track-resumed' | 'identified' | 'label-changed' | 'track-ended';

export interface TrackEvent {
  type: TrackEventType;
  trackId: number;
  frame: number;
  timeMs: number;
  bbox: [number, number, number, number];
  /** The track's label after the event (null: unknown). */
  subject: SubjectRef | null;
  score: number | null;
  /** label-changed: the label before; track-ended: why (lost, cut, end, or identity: its face became someone else's). */
  previous?: SubjectRef | null;
  reason?: EndReason;
}

/** Why a track ended: out of sight too long, a shot cut, the video's end, or another person under its box. */
export type EndReason = 'lost' | 'cut' | 'end' | 'identity';

export interface TrackerOptions {
  /** Detections at or above this score start tracks and match first (ByteTrack's high set). Default 0.5. */
  highScore?: number;
  /** Detections from this score up keep existing tracks alive in a second round (the low set). Default 0.2. */
  lowScore?: number;
  /** Overlap with a track's predicted box needed to match: high round, low round. Defaults 0.2, 0.5. */
  minIou?: number;
  minIouLow?: number;
  /** Consecutive detection frames before a track is confirmed. Default 3. */
  minHits?: number;
  /** How long a track may go unseen and still be matched by position. Default 1000 ms. */
  maxLostMs?: number;
  /** How long a lost track may still be re-attached by appearance (a new track's first embedding). Default 5000 ms. */
  reattachMs?: number;
  /**
   * Cosine between a new track's embedding and a lost track's template to re-attach it, and below which a track's
   * new embedding is someone else (the track splits). The video analyzer sets both to the recognizer's decision
   * threshold when a gallery is given. Default 0.3.
   */
  sameFaceCosine?: number;
  /** A confirmed track is embedded again at least this often (its face checked to still be its person). Default 2000 ms. */
  reembedMs?: number;
  /** Tracks at once; detections past this are not followed. Default 16. */
  maxTracks?: number;
  /** Re-embed a track only when its face is this much better (quality ratio) … Default 1.25. */
  improveRatio?: number;
  /** … and at least this long after its last embedding. Default 500 ms. */
  minEmbedGapMs?: number;
  /** Embeddings kept per track (its template is their mean). Default 5. */
  maxEmbeddings?: number;
  /** Hysteresis: a label changes only on a score this far past the threshold, twice in a row. Default 0.05. */
  margin?: number;
}

/** What is known of one track. */
export interface TrackSummary {
  id: number;
  state: TrackState;
  firstFrame: number;
  lastFrame: number;
  firstTimeMs: number;
  lastTimeMs: number;
  /** Frames on which a detection matched it. */
  detections: number;
  /** Embeddings computed for it (recognizer runs). */
  embeddings: number;
  subject: SubjectRef | null;
  score: number | null;
  /** Frame at which it was first labelled with a subject. */
  labelledAtFrame: number | null;
  endReason?: EndReason;
  /** Its best face: the frame and box of the embedding with the highest quality. */
  best: { frame: number; bbox: [number, number, number, number]; quality: number } | null;
}

export interface Track {
  readonly id: number;
  state: TrackState;
  readonly kalman: BoxKalman;
  hits: number;
  detections: number;
  firstFrame: number;
  firstTimeMs: number;
  lastSeenFrame: number;
  lastSeenTimeMs: number;
  /** This frame's matched detection (null when not seen on it). */
  detection: TrackedDetection | null;
  /** The last box the detector gave it: what events report once it is out of sight. */
  lastBox: [number, number, number, number];
  embeddings: Float32Array[];
  embedRuns: number;
  template: Float32Array | null;
  lastEmbedTimeMs: number;
  /** The face under the box may not be the same one (a jump, a size change, a new look): embed it again now. */
  discontinuity: boolean;
  /** The pixels under the box changed as when another face takes its place (the strongest discontinuity). */
  faceChanged: boolean;
  bestQuality: number;
  best: TrackSummary['best'];
  subject: SubjectRef | null;
  score: number | null;
  labelledAtFrame: number | null;
  pending: { subject: SubjectRef | null; count: number } | null;
  endReason?: EndReason;
}

/**
 * How good a face is to embed: bigger, surer and more frontal is better. Frontal-ness comes from the 5 landmarks
 * (the nose's offset from the eyes' midpoint, relative to the eye distance), or from the 3-D head's yaw when given.
 */
export function faceQuality(d: TrackedDetection, yawDegrees?: number): number {
  const size = Math.sqrt(Math.max(0, (d.bbox[2] - d.bbox[0]) * (d.bbox[3] - d.bbox[1])));
  let frontal = 1;
  if (yawDegrees !== undefined) frontal = Math.max(0.1, Math.cos((Math.min(90, Math.abs(yawDegrees)) * Math.PI) / 180));
  else if (d.kps && d.kps.length >= 3) {
    const [le, re, nose] = d.kps;
    const eyeDist = Math.hypot(re[0] - le[0], re[1] - le[1]);
    if (eyeDist > 0) frontal = Math.max(0.1, 1 - Math.abs(nose[0] - (le[0] + re[0]) / 2) / eyeDist);
  }
  return size * d.score * frontal;
}

/** Frames a track must have been out of sight before a new track can take it over by appearance. */
const REATTACH_MIN_GAP = 5;
/** A match below this overlap with the track's predicted box, or this area ratio, is a discontinuity. */
const DISCONTINUITY_IOU = 0.5;
const DISCONTINUITY_AREA = 1.5;
const DISCONTINUITY_GAP_MS = 400;
/** An embedding decides that a track's face is someone else's only from a face this big and this good (share of its best). */
const SPLIT_MIN_FACE_PX = 64;
const SPLIT_MIN_QUALITY = 0.5;
/**
 * … and only when it is clearly below the same-face bound, unless the pixels under the box also changed as when
 * another face takes its place: a face looking down or half turned scores a little under it (0.22 against 0.3 on
 * the crowd footage) with its pixels changing gradually; a person stepping into another's place changes both.
 */
const SPLIT_MARGIN = 0.1;

/**
 * Faces followed across frames: ByteTrack-style two-round association (high-score detections against every
 * followed or lost track, then low-score ones against the tracks still unmatched) on Kalman-predicted boxes with
 * optimal assignment; appearance re-attaches a lost track; a shot cut ends every track. It decides which tracks
 * need an embedding (confirmed and unembedded, or clearly better than before) and keeps each track's label with
 * hysteresis. Pure and synchronous: the VideoAnalyzer runs the models around it.
 */
export class FaceTracker {
  readonly options: Required<TrackerOptions>;
  private readonly live: Track[] = [];
  private readonly finished: Track[] = [];
  private events: TrackEvent[] = [];
  /** track-started events held until the frame's embeddings are in: a re-attached track resumes instead. */
  private starting: Track[] = [];
  private nextId = 1;
  /** The frame's width and height: event boxes are kept inside it (Infinity: unknown). */
  frameSize: [number, number] = [Infinity, Infinity];
  private frame = -1;
  private timeMs = 0;

  constructor(options: TrackerOptions = {}) {
    this.options = {
      highScore: 0.5, lowScore: 0.2, minIou: 0.2, minIouLow: 0.5, minHits: 3, maxLostMs: 1000, reattachMs: 5000, sameFaceCosine: 0.3,
      reembedMs: 2000, maxTracks: 16, improveRatio: 1.25, minEmbedGapMs: 500, maxEmbeddings: 5, margin: 0.05, ...options,
    };
  }

  /** Tracks being followed (tentative, confirmed, lost). */
  get tracks(): readonly Track[] {
    return this.live;
  }

  /**
   * One frame: `detections` when the detector ran on it (null: predicted only), `cut` when the shot changed
   * (every track ends first).
   */
  step(frame: number, timeMs: number, detections: readonly TrackedDetection[] | null, cut = false): void {
    const steps = this.frame < 0 ? 1 : frame - this.frame;
    this.frame = frame;
    this.timeMs = timeMs;
    if (cut) for (const t of [...this.live]) this.end(t, 'cut');
    for (const t of this.live) {
      // a face unseen on the last frame keeps its size; only its position is extrapolated
      t.kalman.predict(steps, t.detection === null);
      t.detection = null;
    }
    if (detections) this.associate(detections);
    const o = this.options;
    for (const t of [...this.live]) {
      const unseenMs = timeMs - t.lastSeenTimeMs;
      if (t.state === 'tentative' && frame > t.lastSeenFrame && detections) this.drop(t);
      else if (t.state === 'confirmed' && unseenMs > o.maxLostMs) t.state = 'lost';
      else if (t.state === 'lost' && unseenMs > o.reattachMs) this.end(t, 'lost');
    }
  }

  private associate(detections: readonly TrackedDetection[]): void {
    const o = this.options;
    const high = detections.filter((d) => d.score >= o.highScore);
    const low = detections.filter((d) => d.score >= o.lowScore && d.score < o.highScore);
    const followed = this.live.filter((t) => t.state === 'confirmed' || t.state === 'lost');
    const tentative = this.live.filter((t) => t.state === 'tentative');
    const boxes = new Map(this.live.map((t) => [t, t.kalman.box()]));
    const match = (tracks: Track[], dets: readonly TrackedDetection[], minIou: number) => {
      const pairs = assign(tracks.map((t) => dets.map((d) => 1 - iou(boxes.get(t)!, d.bbox))), 1 - minIou);
      const usedTracks = new Set<Track>();
      const usedDets = new Set<TrackedDetection>();
      for (const [i, j] of pairs) {
        this.hit(tracks[i], dets[j], boxes.get(tracks[i])!);
        usedTracks.add(tracks[i]);
        usedDets.add(dets[j]);
      }
      return { tracks: tracks.filter((t) => !usedTracks.has(t)), dets: dets.filter((d) => !usedDets.has(d)) };
    };
    const first = match(followed, high, o.minIou);
    const second = match(tentative, first.dets, o.minIou);
    // the low round keeps a followed face alive through a blur or a half-occlusion; it starts nothing
    match(first.tracks.filter((t) => t.state === 'confirmed'), low, o.minIouLow);
    for (const d of second.dets) {
      if (this.live.length >= o.maxTracks) break;
      const t: Track = {
        id: this.nextId++, state: 'tentative', kalman: new BoxKalman(d.bbox), hits: 1, detections: 1, firstFrame: this.frame, firstTimeMs: this.timeMs,
        lastSeenFrame: this.frame, lastSeenTimeMs: this.timeMs, detection: d, lastBox: [...d.bbox], embeddings: [], embedRuns: 0, template: null, lastEmbedTimeMs: -Infinity, discontinuity: false, faceChanged: false,
        bestQuality: 0, best: null, subject: null, score: null, labelledAtFrame: null, pending: null,
      };
      this.live.push(t);
      if (o.minHits <= 1) this.confirm(t);
    }
  }

  private hit(t: Track, d: TrackedDetection, predicted: readonly number[]): void {
    // a match far from where the face was going, or of another size, may be another face: check it
    const area = (b: readonly number[]) => Math.max(1, (b[2] - b[0]) * (b[3] - b[1]));
    const grew = area(d.bbox) / area(predicted);
    if (iou(predicted as [number, number, number, number], d.bbox) < DISCONTINUITY_IOU || grew > DISCONTINUITY_AREA || grew < 1 / DISCONTINUITY_AREA) t.discontinuity = true;
    t.kalman.update(d.bbox);
    t.detection = d;
    t.lastBox = [...d.bbox];
    t.detections++;
    t.hits = t.lastSeenFrame === this.frame ? t.hits : t.hits + 1;
    t.lastSeenFrame = this.frame;
    t.lastSeenTimeMs = this.timeMs;
    if (t.state === 'lost') {
      t.state = 'confirmed';
      this.emit('track-resumed', t);
    } else if (t.state === 'tentative' && t.hits >= this.options.minHits) {
      this.confirm(t);
    }
  }

  private confirm(t: Track): void {
    t.state = 'confirmed';
    this.starting.push(t);
  }

  /**
   * Marks a track whose face looks different on this frame (the analyzer compares the pixels under its box);
   * `changed`: so different that another face may have taken its place.
   */
  markDiscontinuity(t: Track, changed = false): void {
    t.discontinuity = true;
    if (changed) t.faceChanged = true;
  }

  /**
   * The tracks that want an embedding of this frame's face: newly confirmed; a discontinuity (it may be someone
   * else now); due for its periodic check; or clearly better than before.
   */
  wantsEmbedding(): { track: Track; detection: TrackedDetection; quality: number }[] {
    const o = this.options;
    const out: { track: Track; detection: TrackedDetection; quality: number }[] = [];
    for (const t of this.live) {
      const d = t.detection;
      if (t.state !== 'confirmed' || !d?.kps || d.score < o.highScore) continue;
      const quality = faceQuality(d);
      const first = t.embeddings.length === 0;
      const since = this.timeMs - t.lastEmbedTimeMs;
      const due = since >= o.reembedMs;
      const better = quality > t.bestQuality * o.improveRatio && since >= o.minEmbedGapMs && t.embedRuns < o.maxEmbeddings * 2;
      // a discontinuity is checked at once, but one track's face not more than every DISCONTINUITY_GAP_MS (a crowd
      // crossing flags many, and the first check answers for the next few frames)
      const jumped = t.discontinuity && since >= DISCONTINUITY_GAP_MS;
      if (first || jumped || due || better) out.push({ track: t, detection: d, quality });
    }
    return out;
  }

  /**
   * A track's new embedding. A newly confirmed track whose first embedding matches a lost track's template takes
   * over that track (same id, label and embeddings): the face came back.
   */
  addEmbedding(t: Track, embedding: Float32Array, quality: number): Track {
    const o = this.options;
    if (t.embeddings.length === 0 && this.starting.includes(t)) {
      let best: Track | null = null;
      let bestCos = o.sameFaceCosine;
      for (const l of this.live) {
        // a track out of sight for a while (lost, or confirmed but unseen): the face may be back under a new track
        if (l === t || !l.template || l.state === 'tentative' || this.frame - l.lastSeenFrame <= REATTACH_MIN_GAP) continue;
        const c = dot(l.template, embedding);
        if (c >= bestCos) {
          bestCos = c;
          best = l;
        }
      }
      if (best) {
        this.starting.splice(this.starting.indexOf(t), 1);
        this.live.splice(this.live.indexOf(t), 1);
        best.state = 'confirmed';
        best.kalman.update(t.detection!.bbox);
        Object.assign(best, { detection: t.detection, lastBox: t.lastBox, lastSeenFrame: this.frame, lastSeenTimeMs: this.timeMs, detections: best.detections + t.detections });
        this.emit('track-resumed', best);
        t = best;
      }
    }
    // someone else under the box (a swap in place, a track that jumped faces): the old track ends here and the face
    // starts its own; a name never passes from one person to another. Only a face the recognizer can be trusted
    // on decides that (big and good enough); a small or poor face that disagrees is neither believed nor averaged in.
    else if (t.template && dot(t.template, embedding) < o.sameFaceCosine - (t.faceChanged ? 0 : SPLIT_MARGIN)) {
      const box = t.detection!.bbox;
      const trusted = Math.min(box[2] - box[0], box[3] - box[1]) >= SPLIT_MIN_FACE_PX && quality >= t.bestQuality * SPLIT_MIN_QUALITY;
      if (!trusted) {
        t.embedRuns++;
        t.lastEmbedTimeMs = this.timeMs;
        t.discontinuity = false;
        t.faceChanged = false;
        return t;
      }
      t = this.split(t);
    }
    t.embedRuns++;
    t.lastEmbedTimeMs = this.timeMs;
    t.discontinuity = false;
    t.faceChanged = false;
    if (quality > t.bestQuality) {
      t.bestQuality = quality;
      t.best = { frame: this.frame, bbox: [...(t.detection?.bbox ?? t.kalman.box())] as [number, number, number, number], quality };
    }
    t.embeddings.push(embedding);
    // the best few: a bad early face does not weigh on the template for ever
    if (t.embeddings.length > o.maxEmbeddings) t.embeddings.shift();
    // a track's template is built as a gallery subject's is
    t.template = templateOf(t.embeddings);
    return t;
  }

  /**
   * The gallery's answer for a track's template: its best subject and score (null: no subject) against the
   * threshold. A label is given at the first score past the threshold; changed or taken away only by two
   * decisions in a row past the margin.
   */
  decide(t: Track, best: { subject: SubjectRef; score: number } | null, threshold: number): void {
    const o = this.options;
    this.announce(t);
    const score = best?.score ?? null;
    if (!t.subject) {
      if (best && best.score >= threshold) {
        t.subject = best.subject;
        t.score = best.score;
        t.labelledAtFrame ??= this.frame;
        t.pending = null;
        this.emit('identified', t);
      } else {
        t.score = score;
      }
      return;
    }
    if (best && best.subject.id === t.subject.id) {
      t.score = best.score;
      if (best.score >= threshold - o.margin) t.pending = null;
      else this.propose(t, null, best.score);
      return;
    }
    if (best && best.score >= threshold + o.margin) this.propose(t, best.subject, best.score);
    else if (!best || best.score < threshold - o.margin) this.propose(t, null, score);
    else t.pending = null;
  }

  private propose(t: Track, subject: SubjectRef | null, score: number | null): void {
    const same = t.pending && (t.pending.subject?.id ?? null) === (subject?.id ?? null);
    t.pending = { subject, count: same ? t.pending!.count + 1 : 1 };
    if (t.pending.count < 2) return;
    const previous = t.subject;
    t.subject = subject;
    t.score = score;
    t.pending = null;
    if (subject) t.labelledAtFrame ??= this.frame;
    this.emit('label-changed', t, { previous });
  }

  /** Events of the frames stepped since the last call, oldest first. */
  drainEvents(): TrackEvent[] {
    for (const t of this.starting) this.emit('track-started', t);
    this.starting = [];
    const out = this.events;
    this.events = [];
    return out;
  }

  /** Ends every track (the video is over). */
  finish(): void {
    for (const t of [...this.live]) {
      if (t.state === 'tentative') this.drop(t);
      else this.end(t, 'end');
    }
  }

  summaries(): TrackSummary[] {
    return [...this.finished, ...this.live.filter((t) => t.state !== 'tentative')].sort((a, b) => a.id - b.id).map((t) => ({
      id: t.id, state: t.state, firstFrame: t.firstFrame, lastFrame: t.lastSeenFrame, firstTimeMs: t.firstTimeMs, lastTimeMs: t.lastSeenTimeMs,
      detections: t.detections, embeddings: t.embedRuns, subject: t.subject, score: t.score, labelledAtFrame: t.labelledAtFrame,
      endReason: t.endReason, best: t.best,
    }));
  }

  /** Ends `t` (identity) and gives its current detection a new, confirmed track of its own. */
  private split(t: Track): Track {
    const d = t.detection!;
    this.end(t, 'identity');
    const n: Track = {
      id: this.nextId++, state: 'confirmed', kalman: new BoxKalman(d.bbox), hits: this.options.minHits, detections: 1, firstFrame: this.frame, firstTimeMs: this.timeMs,
      lastSeenFrame: this.frame, lastSeenTimeMs: this.timeMs, detection: d, lastBox: [...d.bbox], embeddings: [], embedRuns: 0, template: null, lastEmbedTimeMs: -Infinity,
      discontinuity: false, faceChanged: false, bestQuality: 0, best: null, subject: null, score: null, labelledAtFrame: null, pending: null,
    };
    this.live.push(n);
    this.starting.push(n);
    return n;
  }

  private drop(t: Track): void {
    this.live.splice(this.live.indexOf(t), 1);
    const s = this.starting.indexOf(t);
    if (s >= 0) this.starting.splice(s, 1);
  }

  private end(t: Track, reason: EndReason): void {
    if (t.state === 'tentative') return this.drop(t);
    this.live.splice(this.live.indexOf(t), 1);
    t.state = 'ended';
    t.endReason = reason;
    this.finished.push(t);
    this.emit('track-ended', t, { reason });
  }

  /** Emits a newly confirmed track's track-started now (its first embedding is in: it is not a re-attachment). */
  private announce(t: Track): void {
    const held = this.starting.indexOf(t);
    if (held < 0) return;
    this.starting.splice(held, 1);
    this.emit('track-started', t);
  }

  private emit(type: TrackEventType, t: Track, extra: Pick<TrackEvent, 'previous' | 'reason'> = {}): void {
    // a track is announced before anything else is said of it
    if (type !== 'track-started') this.announce(t);
    // the last observed box (never an extrapolation), inside the frame when its size is known
    const [fw, fh] = this.frameSize;
    const bbox = (t.detection?.bbox ?? t.lastBox).map((v, i) => Math.min(Math.max(v, 0), i % 2 === 0 ? fw : fh));
    const ended = type === 'track-ended';
    this.events.push({
      type, trackId: t.id, frame: ended ? t.lastSeenFrame : this.frame, timeMs: Math.round((ended ? t.lastSeenTimeMs : this.timeMs) * 10) / 10,
      bbox: bbox.map((v) => Math.round(v * 10) / 10) as [number, number, number, number], subject: t.subject, score: t.score, ...extra,
    });
  }
}
