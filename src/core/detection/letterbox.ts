import type { RgbImage } from '../image.js';
import { isExactHalf, resizeArea2xInto, resizeLinear } from '../imgproc/resize.js';

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
  const { newW, newH } = letterboxSize(image, width, height);
  // Same size: OpenCV copies; nothing here writes to `resized`, so the input itself serves.
  const resized = newW === image.width && newH === image.height ? image : resizeLinear(image, newW, newH);
  return { resized, width, height, scale: newH / image.height };
}

function letterboxSize(image: RgbImage, width: number, height: number): { newW: number; newH: number } {
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
  return { newW, newH };
}

/**
 * letterbox + letterboxBlob in one step. For the exact-2× case (common: 1280-px photos into 640) the 2×2
 * average and the normalisation are fused, reading the source once and never writing the half-size image.
 */
export function letterboxToBlob(image: RgbImage, width: number, height: number, lut: Float32Array, out?: Float32Array): { blob: Float32Array; scale: number } {
  const { newW, newH } = letterboxSize(image, width, height);
  const scale = newH / image.height;
  if (!isExactHalf(image.width, image.height, newW, newH)) {
    const box = letterbox(image, width, height);
    return { blob: letterboxBlob(box, lut, out), scale };
  }
  const plane = width * height;
  const blob = out && out.length === plane * 3 ? out : new Float32Array(plane * 3);
  // lut4[sum of 4 bytes] = lut[(sum + 2) >> 2]
  const lut4 = new Float32Array(1021);
  for (let v = 0; v < 1021; v++) lut4[v] = lut[(v + 2) >> 2];
  const s = image.data;
  const stride = image.width * 3;
  const g = plane;
  const b = 2 * plane;
  for (let y = 0; y < newH; y++) {
    let p = 2 * y * stride;
    let q = p + stride;
    const row = y * width;
    const end = row + newW;
    for (let o = row; o < end; o++, p += 6, q += 6) {
      blob[o] = lut4[s[p] + s[p + 3] + s[q] + s[q + 3]];
      blob[g + o] = lut4[s[p + 1] + s[p + 4] + s[q + 1] + s[q + 4]];
      blob[b + o] = lut4[s[p + 2] + s[p + 5] + s[q + 2] + s[q + 5]];
    }
  }
  padBlob(blob, width, height, newW, newH, lut[0]);
  return { blob, scale };
}

function padBlob(blob: Float32Array, width: number, height: number, rw: number, rh: number, pad: number): void {
  const plane = width * height;
  for (let c = 0; c < 3; c++) {
    if (rw < width) for (let y = 0; y < rh; y++) blob.fill(pad, c * plane + y * width + rw, c * plane + (y + 1) * width);
    if (rh < height) blob.fill(pad, c * plane + rh * width, (c + 1) * plane);
  }
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
  // Rows of the resized image are contiguous in the blob when it spans the full width: one flat loop.
  const runs = rw === width ? 1 : rh;
  const runLen = rw === width ? rw * rh : rw;
  for (let r = 0; r < runs; r++) {
    const o0 = r * width;
    const end = o0 + runLen;
    // Reading each pixel once and writing three planes measured ~3× faster than a pass per plane.
    for (let o = o0, s = r * rw * 3; o < end; o++, s += 3) {
      blob[o] = lut[src[s]];
      blob[g + o] = lut[src[s + 1]];
      blob[b + o] = lut[src[s + 2]];
    }
  }
  padBlob(blob, width, height, rw, rh, pad);
  return blob;
}

/** (x − mean) · float32(1/std) in float32, as cv2.dnn.blobFromImage computes it, for every byte value. */
export function normalisationLut(mean: number, std: number): Float32Array {
  const lut = new Float32Array(256);
  const inv = Math.fround(1 / std);
  for (let v = 0; v < 256; v++) lut[v] = Math.fround(Math.fround(v - mean) * inv);
  return lut;
}

/**
 * The letterboxed canvas as uint8 HWC bytes (for models that normalise inside the graph). An image already of
 * the canvas size is returned as is; the exact-2× average is written straight into the canvas.
 */
export function letterboxCanvas(image: RgbImage, width: number, height: number): { canvas: Uint8Array; scale: number } {
  const { newW, newH } = letterboxSize(image, width, height);
  const scale = newH / image.height;
  if (newW === width && newH === height && image.width === width && image.height === height) return { canvas: image.data, scale };
  const canvas = new Uint8Array(width * height * 3);
  if (isExactHalf(image.width, image.height, newW, newH)) {
    resizeArea2xInto(image, canvas, width * 3);
    return { canvas, scale };
  }
  const resized = newW === image.width && newH === image.height ? image : resizeLinear(image, newW, newH);
  if (newW === width) canvas.set(resized.data);
  else for (let y = 0; y < newH; y++) canvas.set(resized.data.subarray(y * newW * 3, (y + 1) * newW * 3), y * width * 3);
  return { canvas, scale };
}
