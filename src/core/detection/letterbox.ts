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
  return { resized: resizeLinear(image, newW, newH), width, height, scale: newH / image.height };
}

/**
 * The letterboxed canvas as a float32 NCHW blob, channels in RGB order, value = lut[byte]. Padding gets
 * lut[0]. Written straight from the resized pixels so the canvas is never materialised.
 */
export function letterboxBlob(box: Letterbox, lut: Float32Array): Float32Array {
  const { width, height, resized } = box;
  const plane = width * height;
  const blob = new Float32Array(plane * 3);
  const pad = lut[0];
  if (pad !== 0) blob.fill(pad);
  const rw = resized.width;
  const src = resized.data;
  for (let y = 0; y < resized.height; y++) {
    let s = y * rw * 3;
    const row = y * width;
    for (let x = 0; x < rw; x++, s += 3) {
      const o = row + x;
      blob[o] = lut[src[s]];
      blob[plane + o] = lut[src[s + 1]];
      blob[2 * plane + o] = lut[src[s + 2]];
    }
  }
  return blob;
}

/** (x − mean) · float32(1/std) in float32, as cv2.dnn.blobFromImage computes it, for every byte value. */
export function normalisationLut(mean: number, std: number): Float32Array {
  const lut = new Float32Array(256);
  const inv = Math.fround(1 / std);
  for (let v = 0; v < 256; v++) lut[v] = Math.fround(Math.fround(v - mean) * inv);
  return lut;
}
