import { FaceprintError } from '../errors.js';
import type { RgbImage } from '../image.js';
import type { ModelSession, TensorF32 } from '../runtime.js';
import { letterboxCanvas, letterboxToBlob, normalisationLut } from './letterbox.js';
import { greedyNms } from './nms.js';

const f32 = Math.fround;

/** A detected face in original-image pixels. kps: 5 (x, y) pairs flattened, or null for kps-less models. */
/** Five facial landmarks as [x, y] points: left eye, right eye, nose tip, left and right mouth corners. */
export type Landmarks = [number, number][];

export interface Detection {
  bbox: [number, number, number, number];
  /** The same points as a Face's (null: a detector without landmarks). */
  kps: Landmarks | null;
  score: number;
}

export interface DetectOptions {
  /** Score threshold (InsightFace det_thresh). Default 0.5. */
  detThresh?: number;
  /** IoU above which the lower-scored box is dropped. Default 0.4. */
  nmsThresh?: number;
  /** Keep at most this many faces, ranked as InsightFace ranks them (area − 2·offset²). 0 = all. */
  maxFaces?: number;
}

/** SCRFD output layouts InsightFace knows, by output count. */
const LAYOUTS: Record<number, { levels: number; strides: number[]; anchors: number; kps: boolean }> = {
  6: { levels: 3, strides: [8, 16, 32], anchors: 2, kps: false },
  9: { levels: 3, strides: [8, 16, 32], anchors: 2, kps: true },
  10: { levels: 5, strides: [8, 16, 32, 64, 128], anchors: 1, kps: false },
  15: { levels: 5, strides: [8, 16, 32, 64, 128], anchors: 1, kps: true },
};

/** The SCRFD input blob is (x − 127.5) / 128 (the model's own constants, fixed by InsightFace). */
const SCRFD_LUT = normalisationLut(127.5, 128);

/** Raw detector outputs with the letterbox they came from, so decoding can be tested from saved tensors. */
export interface ScrfdRawOutputs {
  outputs: readonly TensorF32[];
  inputWidth: number;
  inputHeight: number;
  scale: number;
}

export class ScrfdDetector {
  readonly session: ModelSession;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly layout: { levels: number; strides: number[]; anchors: number; kps: boolean };
  private readonly anchorCache = new Map<string, Float32Array>();
  /** Input blobs not in use by a run; reused so a 640×640 call does not allocate and zero 4.9 MB each time. */
  private readonly blobPool: Float32Array[] = [];

  /** True when the model takes uint8 NHWC pixels and normalises in its graph (see withUint8Input). */
  readonly takesUint8: boolean;
  /** True when the model's spatial input size is fixed in its graph: it then runs at that one size only. */
  readonly fixedInput: boolean;

  /** inputSize is used when the model's spatial size is dynamic; a fixed model size wins, as in InsightFace. */
  constructor(session: ModelSession, inputSize: [number, number] = [640, 640]) {
    const layout = LAYOUTS[session.outputs.length];
    if (!layout) {
      throw new FaceprintError(
        'MODEL_UNRECOGNISED',
        `${session.source}: a SCRFD detector has 6, 9, 10 or 15 outputs; this model has ${session.outputs.length}`,
      );
    }
    this.session = session;
    this.layout = layout;
    const shape = session.inputs[0]?.shape ?? [];
    this.takesUint8 = session.inputs[0]?.type === 'uint8';
    const [fixedH, fixedW] = this.takesUint8 ? [shape[1], shape[2]] : [shape[2], shape[3]];
    this.fixedInput = typeof fixedH === 'number' && typeof fixedW === 'number' && fixedH > 0 && fixedW > 0;
    if (this.fixedInput) {
      this.inputWidth = fixedW as number;
      this.inputHeight = fixedH as number;
    } else {
      const [w, h] = inputSize;
      if (!(w > 0 && h > 0 && w % 32 === 0 && h % 32 === 0)) {
        throw new FaceprintError('INVALID_INPUT', `detector input size must be positive multiples of 32, got ${w}×${h}`);
      }
      this.inputWidth = w;
      this.inputHeight = h;
    }
  }

  /** Letterbox and run the model; returns the raw outputs. */
  async forward(image: RgbImage): Promise<ScrfdRawOutputs> {
    if (this.takesUint8) {
      const { canvas, scale } = letterboxCanvas(image, this.inputWidth, this.inputHeight);
      const outputs = await this.session.run({
        [this.session.inputs[0].name]: { data: canvas, dims: [1, this.inputHeight, this.inputWidth, 3] },
      });
      return { outputs, inputWidth: this.inputWidth, inputHeight: this.inputHeight, scale };
    }
    const { blob, scale } = letterboxToBlob(image, this.inputWidth, this.inputHeight, SCRFD_LUT, this.blobPool.pop());
    try {
      const outputs = await this.session.run({
        [this.session.inputs[0].name]: { data: blob, dims: [1, 3, this.inputHeight, this.inputWidth] },
      });
      return { outputs, inputWidth: this.inputWidth, inputHeight: this.inputHeight, scale };
    } finally {
      if (this.blobPool.length < 4) this.blobPool.push(blob);
    }
  }

  async detect(image: RgbImage, options: DetectOptions = {}): Promise<Detection[]> {
    const raw = await this.forward(image);
    return this.decode(raw, image.width, image.height, options);
  }

  /**
   * Anchors, score filter, distance decode, rescale, greedy NMS and maxFaces — all in float32 exactly as
   * InsightFace's SCRFD.detect, so the same raw outputs give the same boxes bit for bit.
   */
  decode(raw: ScrfdRawOutputs, imageWidth: number, imageHeight: number, options: DetectOptions = {}): Detection[] {
    const c = this.candidates(raw, options);
    if (c.scores.length === 0) return [];
    // argsort()[::-1] twice (detect, then nms): descending score, ties in ascending candidate order.
    const order = Int32Array.from({ length: c.scores.length }, (_, i) => i).sort((a, b) => c.scores[b] - c.scores[a] || a - b);
    return finishDetections(c, order, imageWidth, imageHeight, options);
  }

  /**
   * The candidates at or above the score threshold, in anchor order (stride by stride), decoded and divided by
   * the letterbox's scale in float32 — InsightFace's candidates before any sorting or NMS.
   */
  candidates(raw: ScrfdRawOutputs, options: DetectOptions = {}): Candidates {
    const threshold = f32(options.detThresh ?? 0.5);
    const { levels, strides, anchors, kps: hasKps } = this.layout;
    if (raw.outputs.length !== levels * (hasKps ? 3 : 2)) {
      throw new FaceprintError('INFERENCE_FAILED', `${this.session.source}: expected ${levels * (hasKps ? 3 : 2)} outputs, got ${raw.outputs.length}`);
    }
    const scores: number[] = [];
    const boxes: number[] = [];
    const points: number[] = [];
    for (let level = 0; level < levels; level++) {
      const stride = strides[level];
      const rows = Math.floor(raw.inputHeight / stride);
      const cols = Math.floor(raw.inputWidth / stride);
      const count = rows * cols * anchors;
      const centres = this.anchorCentres(rows, cols, stride, anchors);
      // Batched models ([1, N, C]) and unbatched ([N, C]) share the same flat layout for batch 1.
      const sc = raw.outputs[level].data;
      const bb = raw.outputs[level + levels].data;
      const kp = hasKps ? raw.outputs[level + 2 * levels].data : null;
      if (sc.length < count || bb.length < count * 4 || (kp && kp.length < count * 10)) {
        throw new FaceprintError('INFERENCE_FAILED', `${this.session.source}: output sizes do not match a ${raw.inputWidth}×${raw.inputHeight} input at stride ${stride}`);
      }
      for (let k = 0; k < count; k++) {
        const s = sc[k];
        if (!(s >= threshold)) continue;
        const cx = centres[2 * k];
        const cy = centres[2 * k + 1];
        scores.push(s);
        boxes.push(
          f32(cx - f32(bb[4 * k] * stride)),
          f32(cy - f32(bb[4 * k + 1] * stride)),
          f32(cx + f32(bb[4 * k + 2] * stride)),
          f32(cy + f32(bb[4 * k + 3] * stride)),
        );
        if (kp) {
          for (let p = 0; p < 5; p++) {
            points.push(f32(cx + f32(kp[10 * k + 2 * p] * stride)), f32(cy + f32(kp[10 * k + 2 * p + 1] * stride)));
          }
        }
      }
    }
    const n = scores.length;
    const scale = f32(raw.scale);
    const boxArr = new Float32Array(n * 4);
    for (let i = 0; i < n * 4; i++) boxArr[i] = boxes[i] / scale;
    const kpsArr = hasKps ? new Float32Array(n * 10) : null;
    if (kpsArr) for (let i = 0; i < n * 10; i++) kpsArr[i] = points[i] / scale;
    return { scores, boxes: boxArr, kps: kpsArr };
  }

  private anchorCentres(rows: number, cols: number, stride: number, anchors: number): Float32Array {
    const key = `${rows}x${cols}@${stride}x${anchors}`;
    let c = this.anchorCache.get(key);
    if (!c) {
      c = new Float32Array(rows * cols * anchors * 2);
      let o = 0;
      for (let r = 0; r < rows; r++) {
        for (let col = 0; col < cols; col++) {
          for (let a = 0; a < anchors; a++) {
            c[o++] = col * stride;
            c[o++] = r * stride;
          }
        }
      }
      if (this.anchorCache.size < 100) this.anchorCache.set(key, c);
    }
    return c;
  }
}

/** Decoded detector candidates: scores, boxes (4 a candidate) and landmarks (10 a candidate, or null). */
export interface Candidates {
  scores: number[];
  boxes: Float32Array;
  kps: Float32Array | null;
}

/** Greedy NMS over the candidates in the given order, then the max_num ranking: InsightFace's last steps. */
export function finishDetections(c: Candidates, order: Int32Array, imageWidth: number, imageHeight: number, options: DetectOptions = {}): Detection[] {
  const maxFaces = options.maxFaces ?? 0;
  let keep = greedyNms(c.boxes, order, options.nmsThresh ?? 0.4);
  if (maxFaces > 0 && keep.length > maxFaces) keep = rankForMaxFaces(c.boxes, keep, imageWidth, imageHeight).slice(0, maxFaces);
  return keep.map((i) => ({
    bbox: [c.boxes[4 * i], c.boxes[4 * i + 1], c.boxes[4 * i + 2], c.boxes[4 * i + 3]],
    kps: c.kps ? Array.from({ length: 5 }, (_, p): [number, number] => [c.kps![10 * i + 2 * p], c.kps![10 * i + 2 * p + 1]]) : null,
    score: c.scores[i],
  }));
}

/**
 * InsightFace's max_num value of a box: its area minus twice the squared distance of its centre from the image
 * centre (rounded down), in float32 as NumPy computes it. Higher ranks first.
 */
export function insightfaceRankValue(x1: number, y1: number, x2: number, y2: number, width: number, height: number): number {
  const area = f32(f32(x2 - x1) * f32(y2 - y1));
  const ox = f32(f32(f32(x1 + x2) / 2) - Math.floor(width / 2));
  const oy = f32(f32(f32(y1 + y2) / 2) - Math.floor(height / 2));
  const dist = f32(f32(ox * ox) + f32(oy * oy));
  return f32(area - f32(dist * 2));
}

/** InsightFace's max_num ranking of the kept boxes, best first. */
function rankForMaxFaces(boxes: Float32Array, keep: number[], width: number, height: number): number[] {
  const value = new Map<number, number>();
  for (const i of keep) {
    const [x1, y1, x2, y2] = boxes.subarray(4 * i, 4 * i + 4);
    value.set(i, insightfaceRankValue(x1, y1, x2, y2, width, height));
  }
  return keep
    .map((i, pos) => ({ i, pos }))
    .sort((a, b) => value.get(b.i)! - value.get(a.i)! || b.pos - a.pos)
    .map((e) => e.i);
}
