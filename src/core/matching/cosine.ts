import { FaceprintError } from '../errors.js';

/**
 * Cosine similarity of two embeddings (normalised or not).
 *   cosine([1, 0], [1, 1]) → 0.7071067811865475
 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new FaceprintError('INVALID_INPUT', `embeddings differ in size: ${a.length} vs ${b.length} (different models?)`);
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * The dot product, accumulated in doubles: the cosine of two unit-length embeddings.
 *   dot(Float32Array.of(0.6, 0.8), Float32Array.of(1, 0)) → 0.6000000238418579 (0.6 in float32)
 */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
