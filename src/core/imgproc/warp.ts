import type { RgbImage } from '../image.js';
import { roundHalfEven } from './rounding.js';

/** A 2×3 affine matrix, row-major: [a, b, c, d, e, f] maps (x, y) → (a·x + b·y + c, d·x + e·y + f). */
export type Affine2x3 = readonly [number, number, number, number, number, number];

const INTER_BITS = 5;
const TAB_SIZE = 1 << INTER_BITS; // 32 sub-pixel steps
const REMAP_BITS = 15;
const AB_BITS = 10;
const AB_SCALE = 1 << AB_BITS;
const ROUND_DELTA = AB_SCALE / TAB_SIZE / 2;

let bilinearTable: Int32Array | undefined;

/**
 * cv::initInterTab2D(INTER_LINEAR) for 8U: for each of 32×32 sub-pixel offsets, 4 weights in 1/32768
 * that sum exactly to 32768 (OpenCV nudges the largest or smallest weight to fix the rounding).
 */
function bilinearWeights(): Int32Array {
  if (bilinearTable) return bilinearTable;
  const tab = new Int32Array(TAB_SIZE * TAB_SIZE * 4);
  const one = Math.fround(1);
  for (let i = 0; i < TAB_SIZE; i++) {
    const fy = Math.fround(i / TAB_SIZE);
    for (let j = 0; j < TAB_SIZE; j++) {
      const fx = Math.fround(j / TAB_SIZE);
      const ty0 = Math.fround(one - fy);
      const tx0 = Math.fround(one - fx);
      const w = [Math.fround(ty0 * tx0), Math.fround(ty0 * fx), Math.fround(fy * tx0), Math.fround(fy * fx)];
      const iw = w.map((v) => roundHalfEven(Math.fround(v * (1 << REMAP_BITS))));
      const diff = iw[0] + iw[1] + iw[2] + iw[3] - (1 << REMAP_BITS);
      if (diff !== 0) {
        let minK = 0;
        let maxK = 0;
        for (let k = 0; k < 4; k++) {
          if (iw[k] < iw[minK]) minK = k;
          else if (iw[k] > iw[maxK]) maxK = k;
        }
        if (diff < 0) iw[maxK] -= diff;
        else iw[minK] -= diff;
      }
      tab.set(iw, (i * TAB_SIZE + j) * 4);
    }
  }
  bilinearTable = tab;
  return tab;
}

/**
 * cv::warpAffine(src, M, (dstWidth, dstHeight), INTER_LINEAR, BORDER_CONSTANT, 0) on 8UC3, bit for bit:
 * source coordinates on a 1/1024 grid, snapped to 1/32 px, 15-bit table weights, and each tap outside the
 * image read as 0. Float bilinear sampling moves weak faces' crops enough to change embeddings.
 */
export function warpAffine(src: RgbImage, m: Affine2x3, dstWidth: number, dstHeight: number): RgbImage {
  const tab = bilinearWeights();
  // cv::invertAffineTransform: OpenCV samples the source through the inverse map.
  const det = m[0] * m[4] - m[1] * m[3];
  const invDet = det !== 0 ? 1 / det : 0;
  const a11 = m[4] * invDet;
  const a22 = m[0] * invDet;
  const a12 = -m[1] * invDet;
  const a21 = -m[3] * invDet;
  const b1 = -a11 * m[2] - a12 * m[5];
  const b2 = -a21 * m[2] - a22 * m[5];

  const adelta = new Int32Array(dstWidth);
  const bdelta = new Int32Array(dstWidth);
  for (let x = 0; x < dstWidth; x++) {
    adelta[x] = roundHalfEven(a11 * x * AB_SCALE);
    bdelta[x] = roundHalfEven(a21 * x * AB_SCALE);
  }
  const sw = src.width;
  const sh = src.height;
  const s = src.data;
  const stride = sw * 3;
  const out = new Uint8Array(dstWidth * dstHeight * 3);
  const shift = AB_BITS - INTER_BITS;
  const half = 1 << (REMAP_BITS - 1);
  let o = 0;
  for (let y = 0; y < dstHeight; y++) {
    const x0 = roundHalfEven((a12 * y + b1) * AB_SCALE) + ROUND_DELTA;
    const y0 = roundHalfEven((a22 * y + b2) * AB_SCALE) + ROUND_DELTA;
    for (let x = 0; x < dstWidth; x++, o += 3) {
      const X = (x0 + adelta[x]) >> shift;
      const Y = (y0 + bdelta[x]) >> shift;
      const xi = X >> INTER_BITS;
      const yi = Y >> INTER_BITS;
      const t = ((Y & (TAB_SIZE - 1)) * TAB_SIZE + (X & (TAB_SIZE - 1))) * 4;
      const w00 = tab[t];
      const w01 = tab[t + 1];
      const w10 = tab[t + 2];
      const w11 = tab[t + 3];
      if (xi >= 0 && yi >= 0 && xi + 1 < sw && yi + 1 < sh) {
        const p = yi * stride + xi * 3;
        const q = p + stride;
        // Weights sum to 32768, so the result never exceeds 255: no clamp needed inside the image.
        out[o] = (s[p] * w00 + s[p + 3] * w01 + s[q] * w10 + s[q + 3] * w11 + half) >> REMAP_BITS;
        out[o + 1] = (s[p + 1] * w00 + s[p + 4] * w01 + s[q + 1] * w10 + s[q + 4] * w11 + half) >> REMAP_BITS;
        out[o + 2] = (s[p + 2] * w00 + s[p + 5] * w01 + s[q + 2] * w10 + s[q + 5] * w11 + half) >> REMAP_BITS;
      } else if (xi >= -1 && yi >= -1 && xi < sw && yi < sh) {
        // Border: each tap outside the image contributes 0.
        const in0x = xi >= 0;
        const in1x = xi + 1 < sw;
        const in0y = yi >= 0;
        const in1y = yi + 1 < sh;
        const p = yi * stride + xi * 3;
        const q = p + stride;
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          if (in0y && in0x) acc += s[p + c] * w00;
          if (in0y && in1x) acc += s[p + 3 + c] * w01;
          if (in1y && in0x) acc += s[q + c] * w10;
          if (in1y && in1x) acc += s[q + 3 + c] * w11;
          out[o + c] = Math.min(255, (acc + half) >> REMAP_BITS);
        }
      }
      // else: wholly outside, stays 0.
    }
  }
  return { width: dstWidth, height: dstHeight, data: out };
}
