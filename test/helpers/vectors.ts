/**
 * sfc32 (128-bit state), uniform in (0, 1). A 32-bit LCG repeats itself shifted by a constant every 2^29 draws,
 * which makes vectors drawn far apart correlated; sfc32 has no such structure.
 */
export function sfc32(seed: number): () => number {
  let [a, b, c, d] = [0x9e3779b9, 0x243f6a88, 0xb7e15162, seed | 0];
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return ((t >>> 0) + 1) / 4294967297;
  };
  for (let i = 0; i < 12; i++) next(); // mix the seed in
  return next;
}

/** Deterministic Gaussian vectors (sfc32 + Box–Muller): a worst case for the int8 bound, no structure to exploit. */
export function gaussian(n: number, seed: number): Float32Array {
  const uniform = sfc32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}
