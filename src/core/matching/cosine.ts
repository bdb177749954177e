import { FaceprintError } from '../errors.js';

/** Cosine similarity of two embeddings (normalised or not). */
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
