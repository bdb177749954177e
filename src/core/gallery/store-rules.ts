import { FaceprintError } from '../errors.js';
import type { ModelBinding } from './types.js';

/** Rules every gallery store applies the same way (SQLite, PostgreSQL, the in-memory/IndexedDB store). */

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

