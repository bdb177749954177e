import { normalisesInGraph } from '../embedding/arcface.js';
import { FaceprintError } from '../errors.js';
import type { RgbImage } from '../image.js';
import { warpAffine, type Affine2x3 } from '../imgproc/warp.js';
import type { ModelSession } from '../runtime.js';

/** The per-face heads of InsightFace packs, by what they add (InsightFace's tasknames without underscores). */
export type HeadName = 'landmark2d106' | 'landmark3d68' | 'genderage';
export const HEAD_NAMES: readonly HeadName[] = ['landmark2d106', 'landmark3d68', 'genderage'];

/** Head pose in degrees (InsightFace's `pose`: pitch, yaw, roll). */
export interface Pose {
  pitch: number;
  yaw: number;
  roll: number;
}

/** What the heads add to a face. Every number is the float32 value InsightFace stores. */
export interface HeadResults {
  /** 106 2-D landmarks in image pixels (2d106det). */
  landmark2d106?: [number, number][];
  /** 68 3-D landmarks: x, y in image pixels, z on the same scale (1k3d68). */
  landmark3d68?: [number, number, number][];
  /** Head pose fitted to landmark3d68 (1k3d68 only). */
  pose?: Pose;
  /** 0 = female, 1 = male (genderage). */
  gender?: 0 | 1;
  sex?: 'F' | 'M';
  /** Years (genderage). */
  age?: number;
}

/** A face crop for a head: the warped pixels and the matrix that made them (image → crop). */
export interface HeadCrop {
  image: RgbImage;
  matrix: Affine2x3;
}

/**
 * A per-face model that runs after detection: it needs the image and the face box (its crop is cut by
 * `headCrop`), and adds fields to the face. The analyzer batches each head's crops across all faces.
 */
export interface FaceHead {
  readonly name: HeadName;
  /** Square crop side the model takes (192 for the landmark heads, 96 for genderage). */
  readonly inputSize: number;
  readonly session: ModelSession;
  /** The float32 NCHW blob the head is fed for these crops (normalised by the head's rule). */
  blob(crops: readonly RgbImage[]): Float32Array;
  /** The model's raw output row for each crop (what the post-processing reads). */
  infer(crops: readonly HeadCrop[]): Promise<Float32Array[]>;
  /** The head's fields for each crop, in order. */
  run(crops: readonly HeadCrop[]): Promise<HeadResults[]>;
}

export interface HeadOptions {
  /** Largest batch per run (default 32). */
  maxBatch?: number;
  /** The session takes uint8 NHWC pixels and normalises in the graph (withUint8Input), not a float32 NCHW blob. */
  uint8Input?: boolean;
}

/** Checks that a head's input is a square crop of `size` ([N,3,S,S], or [N,S,S,3] with uint8 input). */
export function headInputSize(session: ModelSession, size: number, uint8Input: boolean): void {
  const shape = session.inputs[0]?.shape ?? [];
  const [h, w] = uint8Input ? [shape[1], shape[2]] : [shape[2], shape[3]];
  if (shape.length !== 4 || h !== size || w !== size) {
    throw new FaceprintError('MODEL_UNRECOGNISED', `${session.source}: this head takes ${size}×${size} crops; its input is [${shape.join(',')}]`);
  }
}

/** Mean/std the heads' blob is built with: InsightFace's Landmark/Attribute rule. */
export interface HeadNormalisation {
  mean: number;
  std: number;
}

/**
 * InsightFace's Landmark/Attribute rule: mean 0, std 1 when the graph normalises itself (the recognizer's node-name
 * test, or a node named `bn_data` among the first 3); otherwise (x − 127.5) / 128 (the recognizer's is / 127.5).
 */
export function headNormalisation(firstNodeNames: readonly string[]): HeadNormalisation {
  return normalisesInGraph(firstNodeNames, true) ? { mean: 0, std: 1 } : { mean: 127.5, std: 128 };
}

/**
 * InsightFace's crop for a head (face_align.transform with rotation 0): centred on the box, the box's longer side
 * × 1.5 scaled to `size`. Dtypes as numpy 1.24 has them: w, h and x1 + x2 are float32, the rest float64.
 */
export function headCropMatrix(bbox: readonly number[], size: number): Affine2x3 {
  const w = Math.fround(bbox[2] - bbox[0]);
  const h = Math.fround(bbox[3] - bbox[1]);
  const cx = Math.fround(bbox[2] + bbox[0]) / 2;
  const cy = Math.fround(bbox[3] + bbox[1]) / 2;
  const s = size / (Math.max(w, h) * 1.5);
  return [s, 0, -(cx * s) + size / 2, 0, s, -(cy * s) + size / 2];
}

/** The head's crop of a face: OpenCV's warpAffine (bilinear, zero border), bit-exact. */
export function headCrop(image: RgbImage, bbox: readonly number[], size: number): HeadCrop {
  const matrix = headCropMatrix(bbox, size);
  return { image: warpAffine(image, matrix, size, size), matrix };
}

/** cv2.invertAffineTransform in float64. */
export function invertAffine(m: Affine2x3): Affine2x3 {
  const [a, b, c, d, e, f] = m;
  let det = a * e - b * d;
  det = det !== 0 ? 1 / det : 0;
  const a11 = e * det;
  const a22 = a * det;
  const a12 = -b * det;
  const a21 = -d * det;
  return [a11, a12, -a11 * c - a12 * f, a21, a22, -a21 * c - a22 * f];
}
