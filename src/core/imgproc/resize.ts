import type { RgbImage } from '../image.js';
import { roundHalfEven } from './rounding.js';

/**
 * cv::resize(src, dsize, INTER_LINEAR) on 8UC3, bit for bit as OpenCV 4.6 computes it: 11-bit fixed-point
 * weights from float32 source coordinates, an exact integer horizontal pass, and the SIMD vertical pass's
 * rounding ((b·(S>>4))>>16, twice, then +2>>2). An exact 2× downscale takes OpenCV's INTER_AREA shortcut and
 * an unchanged size is a copy, as in OpenCV. InsightFace's letterbox depends on every one of these details.
 */
export function resizeLinear(src: RgbImage, dstWidth: number, dstHeight: number): RgbImage {
  const { width: w, height: h } = src;
  if (dstWidth === w && dstHeight === h) return { width: w, height: h, data: src.data.slice() };
  const invScaleX = dstWidth / w;
  const invScaleY = dstHeight / h;
  const scaleX = 1 / invScaleX;
  const scaleY = 1 / invScaleY;
  if (isExactHalf(w, h, dstWidth, dstHeight)) return resizeArea2x(src);
  const xs = linearTaps(dstWidth, w, scaleX, true);
  const ys = linearTaps(dstHeight, h, scaleY, false);

  const s = src.data;
  const rowLen = dstWidth * 3;
  const out = new Uint8Array(dstHeight * rowLen);
  // Byte offsets of each output pixel's two taps. A tap of weight 0 adds exactly 0 to OpenCV's sums, so where
  // every second tap is 0 (an integer scale factor such as 1920 → 640) the pass is a plain gather.
  const xOff0 = new Int32Array(dstWidth);
  const xOff1 = new Int32Array(dstWidth);
  let oneTapX = true;
  for (let x = 0; x < dstWidth; x++) {
    xOff0[x] = xs.i0[x] * 3;
    xOff1[x] = xs.i1[x] * 3;
    if (xs.w1[x] !== 0) oneTapX = false;
  }
  const xW0 = xs.w0;
  const xW1 = xs.w1;
  // Two cached horizontal rows: consecutive output rows mostly reuse source rows.
  const rows = [new Int32Array(rowLen), new Int32Array(rowLen)];
  const rowIndex = [-1, -1];
  const horizontal = (sy: number, slot: number): void => {
    const dst = rows[slot];
    const base = sy * w * 3;
    if (oneTapX) {
      for (let x = 0, k = 0; x < dstWidth; x++, k += 3) {
        const a = base + xOff0[x];
        const w0 = xW0[x];
        dst[k] = s[a] * w0;
        dst[k + 1] = s[a + 1] * w0;
        dst[k + 2] = s[a + 2] * w0;
      }
    } else {
      for (let x = 0, k = 0; x < dstWidth; x++, k += 3) {
        const a = base + xOff0[x];
        const b = base + xOff1[x];
        const w0 = xW0[x];
        const w1 = xW1[x];
        dst[k] = s[a] * w0 + s[b] * w1;
        dst[k + 1] = s[a + 1] * w0 + s[b + 1] * w1;
        dst[k + 2] = s[a + 2] * w0 + s[b + 2] * w1;
      }
    }
    rowIndex[slot] = sy;
  };
  const cachedSlot = (sy: number): number => (rowIndex[0] === sy ? 0 : rowIndex[1] === sy ? 1 : -1);
  for (let y = 0; y < dstHeight; y++) {
    const sy0 = ys.i0[y];
    const b0 = ys.w0[y];
    const b1 = ys.w1[y];
    const o = y * rowLen;
    let slot0 = cachedSlot(sy0);
    if (slot0 < 0) {
      slot0 = b1 !== 0 && cachedSlot(ys.i1[y]) === 0 ? 1 : 0;
      horizontal(sy0, slot0);
    }
    const r0 = rows[slot0];
    if (b1 === 0) {
      // the second row's term is ((r1 >> 4) · 0) >> 16 = 0
      for (let k = 0; k < rowLen; k++) {
        const v = ((((r0[k] >> 4) * b0) >> 16) + 2) >> 2;
        out[o + k] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
      continue;
    }
    const sy1 = ys.i1[y];
    let slot1 = cachedSlot(sy1);
    if (slot1 < 0) {
      slot1 = 1 - slot0;
      horizontal(sy1, slot1);
    }
    const r1 = rows[slot1];
    for (let k = 0; k < rowLen; k++) {
      const v = ((((r0[k] >> 4) * b0) >> 16) + (((r1[k] >> 4) * b1) >> 16) + 2) >> 2;
      out[o + k] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width: dstWidth, height: dstHeight, data: out };
}

/** When cv::resize(INTER_LINEAR) takes its 2×2 box-average shortcut. */
export function isExactHalf(w: number, h: number, dstWidth: number, dstHeight: number): boolean {
  const scaleX = 1 / (dstWidth / w);
  const scaleY = 1 / (dstHeight / h);
  return Math.abs(scaleX - 2) < 1e-15 && Math.abs(scaleY - 2) < 1e-15 &&
    w % 2 === 0 && h % 2 === 0 && dstWidth * 2 === w && dstHeight * 2 === h;
}

interface Taps { i0: Int32Array; i1: Int32Array; w0: Int32Array; w1: Int32Array }

/**
 * Source indices and 11-bit weights as cv::resizeGeneric computes them, from a float32 source coordinate.
 * Along x an out-of-range tap gets weight 0 (the coordinate is clamped); along y only the indices are clipped.
 */
function linearTaps(nDst: number, nSrc: number, scale: number, clampWeights: boolean): Taps {
  const i0 = new Int32Array(nDst);
  const i1 = new Int32Array(nDst);
  const w0 = new Int32Array(nDst);
  const w1 = new Int32Array(nDst);
  for (let d = 0; d < nDst; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let sIdx = Math.floor(f);
    f = Math.fround(f - sIdx);
    if (clampWeights) {
      if (sIdx < 0) { f = 0; sIdx = 0; }
      if (sIdx >= nSrc - 1) { f = 0; sIdx = nSrc - 1; }
    }
    i0[d] = Math.min(Math.max(sIdx, 0), nSrc - 1);
    i1[d] = Math.min(Math.max(sIdx + 1, 0), nSrc - 1);
    w1[d] = roundHalfEven(Math.fround(f * 2048));
    w0[d] = roundHalfEven(Math.fround(Math.fround(1 - f) * 2048));
  }
  return { i0, i1, w0, w1 };
}

/** OpenCV's exact-2× INTER_LINEAR shortcut: a 2×2 box average, (a+b+c+d+2)>>2. */
function resizeArea2x(src: RgbImage): RgbImage {
  const dw = src.width >> 1;
  const dh = src.height >> 1;
  const out = new Uint8Array(dw * dh * 3);
  resizeArea2xInto(src, out, dw * 3);
  return { width: dw, height: dh, data: out };
}

/** The 2× box average written into `out` with a row stride of `outStride` bytes (e.g. a letterbox canvas). */
export function resizeArea2xInto(src: RgbImage, out: Uint8Array, outStride: number): void {
  const dw = src.width >> 1;
  const dh = src.height >> 1;
  const s = src.data;
  const stride = src.width * 3;
  for (let y = 0; y < dh; y++) {
    let a = 2 * y * stride;
    let b = a + stride;
    let o = y * outStride;
    const end = o + dw * 3;
    for (; o < end; a += 6, b += 6, o += 3) {
      out[o] = (s[a] + s[a + 3] + s[b] + s[b + 3] + 2) >> 2;
      out[o + 1] = (s[a + 1] + s[a + 4] + s[b + 1] + s[b + 4] + 2) >> 2;
      out[o + 2] = (s[a + 2] + s[a + 5] + s[b + 2] + s[b + 5] + 2) >> 2;
    }
  }
}
