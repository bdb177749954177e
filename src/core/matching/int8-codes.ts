/** The index's int8 row codes: symmetric quantisation with a per-row scale and its error norm. */

/** The unit vector of v (zeros stay zeros). */
export function normalised(v: ArrayLike<number>): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * inv;
  return out;
}

/** Symmetric int8 with a per-vector scale; returns the scale and ‖x − codes·scale‖. */
export function quantise(x: Float32Array, codes: Int8Array): { scale: number; errNorm: number } {
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]));
  const scale = Math.fround(max / 127);
  if (scale === 0) {
    codes.fill(0);
    return { scale: 0, errNorm: 0 };
  }
  let err = 0;
  for (let i = 0; i < x.length; i++) {
    const c = Math.max(-127, Math.min(127, Math.round(x[i] / scale)));
    codes[i] = c;
    err += (x[i] - c * scale) ** 2;
  }
  codes.fill(0, x.length);
  return { scale, errNorm: Math.sqrt(err) };
}
