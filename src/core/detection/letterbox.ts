import type { RgbImage } from '../image.js';
import { resizeLinear } from '../imgproc/resize.js';

export interface Letterbox {
  /** The resized image, placed at the top-left of a width × height canvas of zeros. */
  readonly resized: RgbImage;
  readonly width: number;
  readonly height: number;
  /** resized height / original height, float64 as InsightFace keeps it. */
  readonly scale: number;
}

/**
 * InsightFace's SCRFD letterbox: keep the aspect ratio, fit inside width × height, truncate the new size with
 * int(), resize with OpenCV's INTER_LINEAR, pad right and bottom with zeros.
 */
export function letterbox(image: RgbImage, width: number, height: number): Letterbox {
  const imRatio = image.height / image.width;
  const modelRatio = height / width;
  let newW: number;
  let newH: number;
  if (imRatio > modelRatio) {
    newH = height;
    newW = Math.trunc(newH / imRatio);
  } else {
    newW = width;
    newH = Math.trunc(newW * imRatio);
  }
  // A sliver image would truncate to 0 px, where OpenCV throws; one pixel keeps it well-defined.
  newW = Math.max(1, newW);
  newH = Math.max(1, newH);
  // Same size: OpenCV copies; nothing here writes to `resized`, so the input itself serves.
  const resized = newW === image.width && newH === image.height ? image : resizeLinear(image, newW, newH);
  return { resized, width, height, scale: newH / image.height };
}

/**
 * The letterboxed canvas as a float32 NCHW blob, channels in RGB order, value = lut[byte]; padding gets
 * lut[0]. Written straight from the resized pixels (the canvas is never materialised), `out` may be a reused
 * buffer of the right size.
 */
export function letterboxBlob(box: Letterbox, lut: Float32Array, out?: Float32Array): Float32Array {
  const { width, height, resized } = box;
  const plane = width * height;
  const blob = out && out.length === plane * 3 ? out : new Float32Array(plane * 3);
  const pad = lut[0];
  const rw = resized.width;
  const rh = resized.height;
  const src = resized.data;
  const g = plane;
  const b = 2 * plane;
  for (let y = 0; y < rh; y++) {
    const row = y * width;
    // Reading each pixel once and writing three planes measured ~3× faster than a pass per plane.
    for (let x = 0, s = y * rw * 3, o = row; x < rw; x++, s += 3, o++) {
      blob[o] = lut[src[s]];
      blob[g + o] = lut[src[s + 1]];
      blob[b + o] = lut[src[s + 2]];
    }
    if (rw < width) for (let c = 0; c < 3; c++) blob.fill(pad, c * plane + row + rw, c * plane + row + width);
  }
  if (rh < height) for (let c = 0; c < 3; c++) blob.fill(pad, c * plane + rh * width, (c + 1) * plane);
  return blob;
}

/** (x − mean) · float32(1/std) in float32, as cv2.dnn.blobFromImage computes it, for every byte value. */
export function normalisationLut(mean: number, std: number): Float32Array {
  const lut = new Float32Array(256);
  const inv = Math.fround(1 / std);
  for (let v = 0; v < 256; v++) lut[v] = Math.fround(Math.fround(v - mean) * inv);
  return lut;
}
