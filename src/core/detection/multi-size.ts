import { FaceprintError } from '../errors.js';
import type { Candidates } from './scrfd.js';

/**
 * InsightFace 1.0's default detection ("Auto", FaceAnalysis.prepare() without det_size): SCRFD at 128×128 and
 * 640×640, the candidates of both merged by one NMS. The 128 pass sees large faces whole (a face filling a
 * 250-px LFW photo), the 640 pass the small ones.
 */
export const AUTO_DET_SIZES: readonly number[] = [128, 640];

/** InsightFace Server's limits on a list of sizes: how many, each side, and all passes' pixels together. */
export const DET_SIZES_LIMITS = { maxSizes: 4, minSide: 32, maxSide: 2048, maxPixels: 4 * 2 ** 20 } as const;

/**
 * A list of square detector sizes checked against the limits, duplicates dropped (first kept), order kept.
 *   checkDetSizes([128, 640]) → [128, 640]
 *   checkDetSizes([100]) throws INVALID_INPUT "detector sizes must be multiples of 32 from 32 to 2048, got 100"
 */
export function checkDetSizes(sizes: readonly number[]): number[] {
  const unique = [...new Set(sizes)];
  const { maxSizes, minSide, maxSide, maxPixels } = DET_SIZES_LIMITS;
  if (unique.length === 0 || unique.length > maxSizes) throw new FaceprintError('INVALID_INPUT', `detector sizes: give 1 to ${maxSizes} sizes, got ${unique.length}`);
  for (const s of unique) {
    if (!Number.isInteger(s) || s < minSide || s > maxSide || s % 32 !== 0) {
      throw new FaceprintError('INVALID_INPUT', `detector sizes must be multiples of 32 from ${minSide} to ${maxSide}, got ${s}`);
    }
  }
  const pixels = unique.reduce((sum, s) => sum + s * s, 0);
  if (pixels > maxPixels) throw new FaceprintError('INVALID_INPUT', `detector sizes ${unique.join(', ')} add up to ${pixels} pixels; at most ${maxPixels}`);
  return unique;
}

/** A size list as a short label, as answers and galleries name it: "128,640". */
export const detSizesLabel = (sizes: readonly number[]): string => sizes.join(',');

/**
 * Stacks the sizes' candidates in size order and orders them as InsightFace 1.0's SCRFD.detect does before its
 * one NMS. Its three `argsort()[::-1]` passes (per size, over the stack, inside nms) each reverse the order of
 * equal scores, so ties end up with the earlier size first and, within a size, the later anchor first.
 */
export function mergeCandidates(perSize: readonly Candidates[]): { merged: Candidates; order: Int32Array } {
  const n = perSize.reduce((sum, c) => sum + c.scores.length, 0);
  const hasKps = perSize.every((c) => c.kps !== null);
  const scores: number[] = [];
  const boxes = new Float32Array(n * 4);
  const kps = hasKps ? new Float32Array(n * 10) : null;
  const sizeOf = new Int32Array(n);
  const indexIn = new Int32Array(n);
  let at = 0;
  perSize.forEach((c, size) => {
    boxes.set(c.boxes, at * 4);
    if (kps) kps.set(c.kps!, at * 10);
    for (let i = 0; i < c.scores.length; i++) {
      scores.push(c.scores[i]);
      sizeOf[at + i] = size;
      indexIn[at + i] = i;
    }
    at += c.scores.length;
  });
  const order = Int32Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => scores[b] - scores[a] || sizeOf[a] - sizeOf[b] || indexIn[b] - indexIn[a]);
  return { merged: { scores, boxes, kps }, order };
}
