import { FaceprintError } from '../errors.js';
import type { RgbImage } from '../image.js';
import { warpAffine, type Affine2x3 } from '../imgproc/warp.js';
import { similarityTransform } from './similarity.js';

/** ArcFace's 5-point template for a 112×112 crop: eyes, nose tip, mouth corners (float32, as InsightFace). */
export const ARCFACE_TEMPLATE_112: readonly number[] = [
  38.2946, 51.6963, 73.5318, 51.5014, 56.0252, 71.7366, 41.5493, 92.3655, 70.7299, 92.2041,
].map(Math.fround);

/**
 * The matrix that maps 5 landmarks onto the ArcFace template scaled to `size` (insightface's estimate_norm):
 * multiples of 112 scale the template; multiples of 128 scale it from 112 and shift x by 8·size/128.
 */
export function estimateNorm(kps: readonly (readonly [number, number])[], size = 112): Affine2x3 {
  if (kps.length !== 5) throw new FaceprintError('INVALID_INPUT', `alignment needs 5 landmarks, got ${kps.length}`);
  let ratio: number;
  let diffX: number;
  if (size % 112 === 0) {
    ratio = size / 112;
    diffX = 0;
  } else if (size % 128 === 0) {
    ratio = size / 128;
    diffX = 8 * ratio;
  } else {
    throw new FaceprintError('INVALID_INPUT', `crop size must be a multiple of 112 or 128, got ${size}`);
  }
  // float32 template × float64 ratio stays float32 in NumPy; += diff likewise.
  const dst = ARCFACE_TEMPLATE_112.map((v, i) => Math.fround(Math.fround(v * ratio) + (i % 2 === 0 ? diffX : 0)));
  return similarityTransform(kps.flat(), dst);
}

/** insightface's norm_crop: the aligned size×size face, via the OpenCV-exact warp. */
export function normCrop(image: RgbImage, kps: readonly (readonly [number, number])[], size = 112): { crop: RgbImage; matrix: Affine2x3 } {
  const matrix = estimateNorm(kps, size);
  return { crop: warpAffine(image, matrix, size, size), matrix };
}
