import type { Affine2x3 } from '../imgproc/warp.js';

const f32 = Math.fround;
const F32_EPS = 2 ** -23; // np.finfo(np.float32).eps, matrix_rank's tolerance

/**
 * Least-squares similarity transform src → dst (Umeyama with scale), reproducing the arithmetic of skimage
 * 0.19's SimilarityTransform as InsightFace runs it on float32 landmarks:
 * - means, centred points and the variance are float32, summed point after point as NumPy reduces axis 0;
 * - the covariance A = dstᵀ·src / n is a float32 matmul whose BLAS kernel fuses multiply-adds;
 * - numpy.linalg.svd computes in float64 and returns U, S, V rounded to float32;
 * - R = U·diag(d)·V, the scale and the translation are then float64.
 * Each step matters: the 1/1024-px warp grid moves with the last bits of the matrix, and this order gives
 * the reference matrices exactly (a plain float64 fit changes most 112×112 crops by a level here and there).
 */
export function similarityTransform(src: ArrayLike<number>, dst: ArrayLike<number>): Affine2x3 {
  const n = src.length / 2;
  const srcMean = meanF32(src, n);
  const dstMean = meanF32(dst, n);
  const sd = new Float64Array(n * 2);
  const dd = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 2; k++) {
      sd[2 * i + k] = f32(f32(src[2 * i + k]) - srcMean[k]);
      dd[2 * i + k] = f32(f32(dst[2 * i + k]) - dstMean[k]);
    }
  }
  // A[r][c] = Σ dd[·][r]·sd[·][c] / n; a float32 product is exact in float64, so this is a fused multiply-add.
  const a = [0, 0, 0, 0];
  for (let r = 0; r < 2; r++) {
    for (let c = 0; c < 2; c++) {
      let acc = 0;
      for (let i = 0; i < n; i++) acc = f32(acc + dd[2 * i + r] * sd[2 * i + c]);
      a[r * 2 + c] = f32(acc / n);
    }
  }
  const { u, s, v } = svd2x2(a[0], a[1], a[2], a[3]);
  const U = u.map(f32);
  const V = v.map(f32);
  const s0 = f32(s[0]);
  const s1 = f32(s[1]);
  const rank = s0 === 0 ? 0 : s1 <= s0 * 2 * F32_EPS ? 1 : 2;
  if (rank === 0) return [NaN, NaN, NaN, NaN, NaN, NaN];
  // d flips the last axis when A reflects, so the result stays a rotation.
  let d1 = a[0] * a[3] - a[1] * a[2] < 0 ? -1 : 1;
  let round = (x: number): number => x;
  if (rank === 1) {
    // skimage's rank-deficient branch: U·V (float32) when det(U)·det(V) > 0, else U·diag(1, −1)·V.
    const detUV = (U[0] * U[3] - U[1] * U[2]) * (V[0] * V[3] - V[1] * V[2]);
    d1 = detUV > 0 ? 1 : -1;
    if (detUV > 0) round = f32;
  }
  const r00 = round(U[0] * V[0] + d1 * U[1] * V[2]);
  const r01 = round(U[0] * V[1] + d1 * U[1] * V[3]);
  const r10 = round(U[2] * V[0] + d1 * U[3] * V[2]);
  const r11 = round(U[2] * V[1] + d1 * U[3] * V[3]);
  // var(axis=0).sum() in float32 (NumPy recomputes the mean inside var); 1.0 / it is float64.
  const centredMean = meanF32(sd, n);
  let varSum = 0;
  for (let k = 0; k < 2; k++) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const dv = f32(sd[2 * i + k] - centredMean[k]);
      acc = f32(acc + f32(dv * dv));
    }
    varSum = f32(varSum + f32(acc / n));
  }
  const scale = (1 / varSum) * (s0 + d1 * s1);
  const tx = dstMean[0] - scale * (r00 * srcMean[0] + r01 * srcMean[1]);
  const ty = dstMean[1] - scale * (r10 * srcMean[0] + r11 * srcMean[1]);
  return [r00 * scale, r01 * scale, tx, r10 * scale, r11 * scale, ty];
}

/**
 * SVD of [[a, b], [c, d]] in float64: A = Rot(φ)·diag(σ1, σ2)·Rot(θ) with σ1 ≥ σ2 ≥ 0 (a negative second
 * value moves into U). Singular vectors are unique up to sign, and signs cancel in U·diag(d)·V.
 */
function svd2x2(a: number, b: number, c: number, d: number): { u: number[]; s: [number, number]; v: number[] } {
  const e = (a + d) / 2;
  const f = (a - d) / 2;
  const g = (c + b) / 2;
  const h = (c - b) / 2;
  const q = Math.hypot(e, h);
  const r = Math.hypot(f, g);
  const a1 = Math.atan2(g, f);
  const a2 = Math.atan2(h, e);
  const theta = (a2 - a1) / 2;
  const phi = (a2 + a1) / 2;
  const cp = Math.cos(phi);
  const sp = Math.sin(phi);
  const ct = Math.cos(theta);
  const st = Math.sin(theta);
  let u = [cp, -sp, sp, cp];
  let s2 = q - r;
  if (s2 < 0) {
    s2 = -s2;
    u = [cp, sp, sp, -cp];
  }
  return { u, s: [q + r, s2], v: [ct, -st, st, ct] };
}

/** Column means of n×2 points in float32, summed row after row as NumPy reduces axis 0. */
function meanF32(p: ArrayLike<number>, n: number): [number, number] {
  let x = 0;
  let y = 0;
  for (let i = 0; i < n; i++) {
    x = f32(x + f32(p[2 * i]));
    y = f32(y + f32(p[2 * i + 1]));
  }
  return [f32(x / n), f32(y / n)];
}
