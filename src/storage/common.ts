import { FaceprintError } from '../core/errors.js';
import type { ModelBinding } from '../core/gallery/types.js';

/** Float32 embedding → bytes (little-endian, as every platform faceprint runs on). */
export function blobOf(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Bytes → a Float32Array that owns its memory (a Buffer may sit unaligned in a shared pool). */
export function floatsOf(b: Uint8Array): Float32Array {
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export function checkName(name: string): void {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
    throw new FaceprintError('INVALID_INPUT', 'a subject name must be 1–200 characters');
  }
}

export function subjectNameTaken(name: string): FaceprintError {
  return new FaceprintError('SUBJECT_EXISTS', `a subject named ${JSON.stringify(name)} already exists`);
}

export function bindingMismatch(location: string, current: ModelBinding, wanted: ModelBinding): FaceprintError {
  return new FaceprintError(
    'GALLERY_MODEL_MISMATCH',
    `gallery ${location} holds ${current.dim}-d embeddings of ${current.recognizerName} (sha256 ${current.recognizerSha256.slice(0, 12)}…); ` +
      `the recognizer in use is ${wanted.recognizerName} (${wanted.dim}-d, sha256 ${wanted.recognizerSha256.slice(0, 12)}…). Embeddings of different models never mix: use another gallery.`,
  );
}
