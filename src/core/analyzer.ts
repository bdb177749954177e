import { normCrop } from './alignment/norm-crop.js';
import { finishDetections, type ScrfdDetector, type Detection, type DetectOptions } from './detection/scrfd.js';
import { FittedDetectors } from './detection/fitted.js';
import { checkDetSizes, mergeCandidates } from './detection/multi-size.js';
import type { ArcFaceRecognizer } from './embedding/arcface.js';
import type { Embedder } from './embedding/batcher.js';
import { normaliseEmbedding } from './embedding/arcface.js';
import { FaceprintError } from './errors.js';
import { padImage, type RgbImage } from './image.js';
import type { Affine2x3 } from './imgproc/warp.js';
import { headCrop, type FaceHead, type HeadCrop, type HeadResults } from './heads/head.js';

/** A detected face and what the loaded models add to it (the heads' fields when the pack has them). */
export interface Face extends HeadResults {
  /** [x1, y1, x2, y2] in original-image pixels. */
  bbox: [number, number, number, number];
  /** Left eye, right eye, nose tip, left and right mouth corners. */
  kps: [number, number][];
  /** Detector confidence. */
  score: number;
  /** L2-normalised embedding (absent when no recognizer is loaded). */
  embedding?: Float32Array;
  rawEmbedding?: Float32Array;
  embeddingNorm?: number;
  /** The 2×3 matrix that aligned the face (original image → crop). */
  alignMatrix?: Affine2x3;
  /** The aligned crop, when asked for with `includeCrops`. */
  crop?: RgbImage;
}

export interface AnalyzeOptions extends DetectOptions {
  /** Keep the aligned crops on the result (for display or debugging). */
  includeCrops?: boolean;
  /**
   * The detector's input: 'model' (default) — the fixed square InsightFace uses (det_size), bit-exact with it;
   * 'image' — the image's own shape, scaled down to fit that square, never up (fittedInputSize): a small photo
   * costs its own pixels. Faster on small and non-square images; boxes and scores differ from the reference's.
   */
  detInput?: 'model' | 'image';
  /**
   * Square detector sizes run on every image, their candidates merged by one NMS — InsightFace 1.0's detection
   * ([128, 640] is its default "Auto"). One size is InsightFace 0.7.3's single pass. Default: the analyzer's.
   */
  detSizes?: readonly number[];
  /**
   * Retry an image without a detection on a black border of half its size: SCRFD misses faces that fill the
   * whole frame (tight 150×150 crops) and finds them once they have context around them. Boxes and landmarks
   * come back in the original image's coordinates.
   */
  padRetry?: boolean;
  /**
   * Stops the work between stages (after each image's detection, between recognizer batches) once aborted: a
   * request's deadline holds inside one image's work too.
   */
  signal?: AbortSignal;
}

/** Faces embedded per recognizer call when a signal may stop the work in between. */
const EMBED_CHUNK = 32;

/**
 * detect → align → embed on decoded pixels, InsightFace's FaceAnalysis.get: every face of every image, the
 * crops of all images embedded together in as few runs as the recognizer's batch allows.
 */
export class FaceAnalyzerCore {
  readonly detector: ScrfdDetector;
  readonly recognizer: ArcFaceRecognizer | null;
  /** Per-face heads run on every face (landmarks, pose, gender/age), in the order given. */
  readonly heads: readonly FaceHead[];
  readonly defaults: AnalyzeOptions;
  private embedder: Embedder | null;
  private closed = false;
  /** At most this many faces per image, the highest-scoring (0: no limit, InsightFace's behaviour). */
  private faceLimit = 0;
  private readonly fitted: FittedDetectors;

  constructor(detector: ScrfdDetector, recognizer: ArcFaceRecognizer | null, defaults: AnalyzeOptions = {}, heads: readonly FaceHead[] = []) {
    this.detector = detector;
    this.recognizer = recognizer;
    this.heads = heads;
    this.defaults = defaults;
    this.embedder = recognizer;
    this.fitted = new FittedDetectors(detector);
  }

  /**
   * The detector sizes in force under these options: the call's, else the analyzer's, else the base detector's
   * one size; a model with a fixed input size has only its own.
   */
  detSizesFor(options: Pick<AnalyzeOptions, 'detSizes'> = {}): number[] {
    const sizes = options.detSizes ?? this.defaults.detSizes;
    if (this.detector.fixedInput || !sizes) return [Math.max(this.detector.inputWidth, this.detector.inputHeight)];
    return checkDetSizes(sizes);
  }

  /** The detectors an image goes through under these options, one per size, in size order. */
  detectorsFor(image: RgbImage, options: Pick<AnalyzeOptions, 'detInput' | 'detSizes'> = {}): ScrfdDetector[] {
    const byImage = (options.detInput ?? this.defaults.detInput) === 'image';
    const sizes = options.detSizes ?? this.defaults.detSizes;
    // no list: the base detector as it was made (possibly non-square), as before detSizes existed
    if (!sizes || this.detector.fixedInput) return [byImage ? this.fitted.for(image) : this.detector];
    return this.detSizesFor(options).map((s) => (byImage ? this.fitted.for(image, s, s) : this.fitted.at(s, s)));
  }

  /** The detector an image goes through under these options (the largest, when several sizes run). */
  detectorFor(image: RgbImage, options: Pick<AnalyzeOptions, 'detInput' | 'detSizes'> = {}): ScrfdDetector {
    return this.detectorsFor(image, options).at(-1)!;
  }

  /** Detection at every size in force, merged as InsightFace 1.0 merges them (one size: exactly 0.7.3's). */
  private async detectAtSizes(image: RgbImage, opts: AnalyzeOptions): Promise<Detection[]> {
    const detectors = this.detectorsFor(image, opts);
    if (detectors.length === 1) return detectors[0].detect(image, opts);
    const perSize = [];
    for (const d of detectors) perSize.push(d.candidates(await d.forward(image), opts));
    const { merged, order } = mergeCandidates(perSize);
    return finishDetections(merged, order, image.width, image.height, opts);
  }

  /**
   * Routes the crops through another embedder in front of the recognizer (an EmbeddingBatcher that embeds the
   * faces of concurrent calls together); null restores the recognizer itself.
   */
  useEmbedder(embedder: Embedder | null): void {
    if (!this.recognizer) throw new FaceprintError('MODEL_MISSING', 'no recognizer to put an embedder in front of');
    this.embedder = embedder ?? this.recognizer;
  }

  /**
   * Caps the faces kept per image (the highest-scoring ones, after NMS), whatever a call asks: a service sets it
   * so that a low score threshold on a crowd cannot make one request embed thousands of faces. 0: no cap.
   */
  useFaceLimit(limit: number): void {
    this.faceLimit = Math.max(0, Math.floor(limit));
  }

  async detect(image: RgbImage, options: DetectOptions & Pick<AnalyzeOptions, 'detInput' | 'detSizes'> = {}): Promise<Detection[]> {
    this.ensureOpen();
    return this.limitFaces(await this.detectAtSizes(image, { ...this.defaults, ...options }));
  }

  /** Detections are in descending score order (InsightFace's), so the cap keeps the best ones. */
  private limitFaces(detections: Detection[]): Detection[] {
    return this.faceLimit > 0 && detections.length > this.faceLimit ? detections.slice(0, this.faceLimit) : detections;
  }

  async analyze(image: RgbImage, options: AnalyzeOptions = {}): Promise<Face[]> {
    return (await this.analyzeMany([image], options))[0];
  }

  async analyzeMany(images: readonly RgbImage[], options: AnalyzeOptions = {}): Promise<Face[][]> {
    this.ensureOpen();
    const opts = { ...this.defaults, ...options };
    const perImage: Face[][] = [];
    const crops: RgbImage[] = [];
    const owners: Face[] = [];
    const sources: { image: RgbImage; face: Face }[] = [];
    for (const image of images) {
      opts.signal?.throwIfAborted();
      let detections = await this.detectAtSizes(image, opts);
      if (detections.length === 0 && opts.padRetry) detections = await this.detectPadded(image, opts);
      detections = this.limitFaces(detections);
      opts.signal?.throwIfAborted();
      const faces = detections.map((d) => toFace(d));
      for (const face of faces) sources.push({ image, face });
      if (this.recognizer) {
        for (let i = 0; i < faces.length; i++) {
          const kps = detections[i].kps;
          if (!kps) continue;
          const { crop, matrix } = normCrop(image, kps, this.recognizer.inputSize);
          faces[i].alignMatrix = matrix;
          if (opts.includeCrops) faces[i].crop = crop;
          crops.push(crop);
          owners.push(faces[i]);
        }
      }
      perImage.push(faces);
    }
    if (this.embedder && crops.length > 0) {
      const chunk = opts.signal ? EMBED_CHUNK : crops.length;
      for (let start = 0; start < crops.length; start += chunk) {
        opts.signal?.throwIfAborted();
        const raws = await this.embedder.embedRaw(crops.slice(start, start + chunk));
        raws.forEach((raw, i) => Object.assign(owners[start + i], normaliseEmbedding(raw)));
      }
    }
    opts.signal?.throwIfAborted();
    if (this.heads.length && sources.length) await this.runHeads(sources);
    return perImage;
  }

  /**
   * Embeddings of given faces of an image (their 5 landmarks), in one recognizer run where the batch allows:
   * what a video tracker asks for when only some faces need one. L2-normalised, in the order given.
   */
  async embedFaces(image: RgbImage, landmarks: readonly (readonly [number, number][])[]): Promise<Float32Array[]> {
    this.ensureOpen();
    if (!this.recognizer || !this.embedder) throw new FaceprintError('MODEL_MISSING', 'embedding faces needs a recognizer');
    if (landmarks.length === 0) return [];
    const crops = landmarks.map((kps) => normCrop(image, kps, this.recognizer!.inputSize).crop);
    const raws = await this.embedder.embedRaw(crops);
    return raws.map((raw) => normaliseEmbedding(raw).embedding);
  }

  /**
   * The heads alone on given face boxes (another detector's, or stored ones): what each head adds, per box.
   * The crops depend only on the box, so the same box gives the same bits as analyze().
   */
  async headsOn(image: RgbImage, boxes: readonly (readonly number[])[]): Promise<HeadResults[]> {
    this.ensureOpen();
    const faces: Face[] = boxes.map((b) => ({ bbox: [b[0], b[1], b[2], b[3]], kps: [], score: 1 }));
    await this.runHeads(faces.map((face) => ({ image, face })));
    return faces.map(({ bbox: _b, kps: _k, score: _s, ...heads }) => heads);
  }

  /** Each head over every face of the call in batches; heads of one input size share the crops. */
  private async runHeads(sources: readonly { image: RgbImage; face: Face }[]): Promise<void> {
    const crops = new Map<number, HeadCrop[]>();
    for (const head of this.heads) {
      let forSize = crops.get(head.inputSize);
      if (!forSize) {
        forSize = sources.map((s) => headCrop(s.image, s.face.bbox, head.inputSize));
        crops.set(head.inputSize, forSize);
      }
      const results = await head.run(forSize);
      results.forEach((r, i) => Object.assign(sources[i].face, r));
    }
  }

  private async detectPadded(image: RgbImage, opts: AnalyzeOptions): Promise<Detection[]> {
    const margin = Math.round(Math.max(image.width, image.height) / 2);
    const padded = padImage(image, margin);
    const found = await this.detectAtSizes(padded, opts);
    return found.map((d) => ({
      ...d,
      bbox: [d.bbox[0] - margin, d.bbox[1] - margin, d.bbox[2] - margin, d.bbox[3] - margin] as Detection['bbox'],
      kps: d.kps ? d.kps.map(([x, y]): [number, number] => [x - margin, y - margin]) : d.kps,
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.detector.session.close();
    await this.recognizer?.session.close();
    for (const head of this.heads) await head.session.close();
  }

  /** Throws CLOSED once close() has been called. */
  ensureOpen(): void {
    if (this.closed) throw new FaceprintError('CLOSED', 'this FaceAnalyzer has been closed');
  }
}

function toFace(d: Detection): Face {
  return { bbox: d.bbox, kps: d.kps ? d.kps.map(([x, y]): [number, number] => [x, y]) : [], score: d.score };
}
