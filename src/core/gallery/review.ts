import type { Face } from '../analyzer.js';
import type { RgbImage } from '../image.js';

/**
 * Enrolment review: how good a face is to enrol, part by part, each with its value and limit. The image parts are
 * measured on the 112×112 aligned crop the recognizer sees: sharpness (variance of its grey Laplacian), brightness
 * (mean grey) and contrast (grey standard deviation), on a 0–255 scale.
 */
export interface QualityPart {
  name: 'sharpness' | 'brightness' | 'contrast' | 'size' | 'score' | 'pose';
  value: number;
  /** The least (`min`) or most (`max`) the value may be. */
  min?: number;
  max?: number;
  ok: boolean;
}

export interface FaceReview {
  parts: QualityPart[];
  /** 0–1: the mean of the parts' scores (each part's value against its limit, capped at 1). */
  quality: number;
  ok: boolean;
}

/** Limits of the standard review (see docs/gallery.md for how they were chosen). */
export interface ReviewLimits {
  minSharpness: number;
  minBrightness: number;
  maxBrightness: number;
  minContrast: number;
  minSize: number;
  minScore: number;
  /** Degrees; applied when the 3-D landmark head gave the face its pose. */
  maxYaw: number;
  maxPitch: number;
}

export const DEFAULT_REVIEW_LIMITS: ReviewLimits = {
  minSharpness: 20, minBrightness: 40, maxBrightness: 220, minContrast: 12, minSize: 40, minScore: 0.6, maxYaw: 45, maxPitch: 35,
};

/**
 * Sharpness, brightness and contrast of an aligned crop's face: the region between the template's eyes and mouth,
 * widened (x 24–88, y 28–100 of 112), so that background, hair and the border a padded retry adds (a sharp edge
 * of black) do not count (grey = 0.299 R + 0.587 G + 0.114 B).
 */
export function cropStatistics(crop: RgbImage): { sharpness: number; brightness: number; contrast: number } {
  const s = crop.width / 112;
  const x0 = Math.round(24 * s);
  const y0 = Math.round(28 * s);
  const w = Math.round(64 * s);
  const h = Math.round(72 * s);
  const grey = new Float32Array(w * h);
  let sum = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = ((y0 + y) * crop.width + x0 + x) * 3;
      const g = 0.299 * crop.data[p] + 0.587 * crop.data[p + 1] + 0.114 * crop.data[p + 2];
      grey[y * w + x] = g;
      sum += g;
    }
  }
  const mean = sum / grey.length;
  let sq = 0;
  for (const g of grey) sq += (g - mean) * (g - mean);
  // 4-neighbour Laplacian over the interior, its variance
  let ls = 0;
  let lsq = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const l = grey[i - 1] + grey[i + 1] + grey[i - w] + grey[i + w] - 4 * grey[i];
      ls += l;
      lsq += l * l;
      n++;
    }
  }
  const lm = ls / Math.max(n, 1);
  return { sharpness: lsq / Math.max(n, 1) - lm * lm, brightness: mean, contrast: Math.sqrt(sq / grey.length) };
}

const round = (v: number, digits = 1) => Number(v.toFixed(digits));

/** A face's review: every part with its value and limit; the face passes when every part does. */
export function reviewFace(face: Pick<Face, 'bbox' | 'score' | 'pose' | 'crop'>, limits: ReviewLimits = DEFAULT_REVIEW_LIMITS): FaceReview {
  const parts: QualityPart[] = [];
  const scores: number[] = [];
  const add = (name: QualityPart['name'], value: number, min: number | undefined, max: number | undefined, score: number) => {
    parts.push({ name, value: round(value, name === 'score' ? 3 : 1), ...(min !== undefined && { min }), ...(max !== undefined && { max }), ok: (min === undefined || value >= min) && (max === undefined || value <= max) });
    scores.push(Math.max(0, Math.min(1, score)));
  };
  if (face.crop) {
    const s = cropStatistics(face.crop);
    add('sharpness', s.sharpness, limits.minSharpness, undefined, s.sharpness / (2 * limits.minSharpness));
    add('brightness', s.brightness, limits.minBrightness, limits.maxBrightness, 1 - Math.abs(s.brightness - 128) / 128);
    add('contrast', s.contrast, limits.minContrast, undefined, s.contrast / (2 * limits.minContrast));
  }
  const size = Math.min(face.bbox[2] - face.bbox[0], face.bbox[3] - face.bbox[1]);
  add('size', size, limits.minSize, undefined, size / (2 * limits.minSize));
  add('score', face.score, limits.minScore, undefined, face.score);
  if (face.pose) {
    const turned = Math.max(Math.abs(face.pose.yaw) / limits.maxYaw, Math.abs(face.pose.pitch) / limits.maxPitch);
    add('pose', Math.max(Math.abs(face.pose.yaw), Math.abs(face.pose.pitch)), undefined, Math.min(limits.maxYaw, limits.maxPitch), 1 - turned / 2);
    // the one number cannot say which limit: yaw and pitch are checked apart
    parts[parts.length - 1].ok = Math.abs(face.pose.yaw) <= limits.maxYaw && Math.abs(face.pose.pitch) <= limits.maxPitch;
  }
  return { parts, quality: round(scores.reduce((a, b) => a + b, 0) / scores.length, 3), ok: parts.every((p) => p.ok) };
}

/** The failing parts in words: "sharpness 12.3 (min 20), brightness 231.0 (max 220)". */
export function failingParts(review: FaceReview): string {
  return review.parts.filter((p) => !p.ok).map((p) => `${p.name} ${p.value}${p.min !== undefined && p.value < p.min ? ` (min ${p.min})` : ''}${p.max !== undefined && p.value > p.max ? ` (max ${p.max})` : ''}`).join(', ');
}
