import { FaceprintError } from '../errors.js';
import type { ModelBinding } from './types.js';

/** Rules every gallery store applies the same way (SQLite, PostgreSQL, the in-memory/IndexedDB store). */

/** Longest subject name, in characters (code points): every route reaches a subject by a name this long. */
export const MAX_NAME_LENGTH = 100;

// C0/C1 controls, bidi embeddings/overrides/isolates and marks, zero-width characters, line/paragraph separators:
// invisible or reordering text that would let two names look alike or rewrite a terminal or log line.
const HIDDEN_CHARS = /[\p{Cc}\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/u;

/**
 * A subject name as stored: Unicode NFC (so "é" typed either way is one name), no control, bidi or zero-width
 * characters, 1–100 characters, not blank. Throws INVALID_INPUT otherwise.
 */
export function subjectName(name: unknown): string {
  if (typeof name !== 'string') throw new FaceprintError('INVALID_INPUT', 'a subject name must be a string');
  const normal = name.normalize('NFC');
  if (normal.trim() === '') throw new FaceprintError('INVALID_INPUT', 'a subject name cannot be blank');
  return visibleText(normal, 'a subject name', MAX_NAME_LENGTH);
}

/** NFC text of at most `max` characters with no control, bidi or zero-width character, else INVALID_INPUT. */
function visibleText(normal: string, what: string, max: number): string {
  if ([...normal].length > max) throw new FaceprintError('INVALID_INPUT', `${what} must be at most ${max} characters`);
  const bad = HIDDEN_CHARS.exec(normal);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new FaceprintError('INVALID_INPUT', `${what} cannot contain control, bidi or zero-width characters (U+${code})`);
  }
  return normal;
}

/** Longest image name (a face's `source`) kept: a file name's usual limit. */
export const MAX_SOURCE_LENGTH = 255;

/**
 * An image's name as a face keeps it (its `source`): the same rules as subject names — NFC, no control, bidi or
 * zero-width characters (a newline would split a CLI line) — and at most MAX_SOURCE_LENGTH characters.
 */
export function imageSourceName(name: string): string {
  return visibleText(name.normalize('NFC'), 'an image name', MAX_SOURCE_LENGTH);
}

/** Metadata limits: a JSON object, at most 16 levels deep and 16 KiB as JSON (deeper input is an attack, not data). */
export const MAX_METADATA_DEPTH = 16;
export const MAX_METADATA_BYTES = 16 * 1024;

export function checkMetadata(metadata: unknown, label = 'metadata'): Record<string, unknown> {
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) throw new FaceprintError('INVALID_INPUT', `${label} must be a JSON object`);
  // iterative, so that no input can overflow the stack
  const stack: [unknown, number][] = [[metadata, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_METADATA_DEPTH) throw new FaceprintError('INVALID_INPUT', `${label} is nested deeper than ${MAX_METADATA_DEPTH} levels`);
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  const size = new TextEncoder().encode(JSON.stringify(metadata)).length;
  if (size > MAX_METADATA_BYTES) throw new FaceprintError('INVALID_INPUT', `${label} is ${size} bytes as JSON; at most ${MAX_METADATA_BYTES}`);
  return metadata as Record<string, unknown>;
}

/**
 * JSON containment, as PostgreSQL's jsonb `@>`: every key of `wanted` is an own key of `have` whose value
 * contains the wanted value (objects: recursively, whatever the key order; arrays: each wanted element is
 * contained in some element; scalars: equal). `__proto__` is an ordinary key. Every store filters with this
 * meaning.
 */
export function jsonContains(have: unknown, wanted: unknown): boolean {
  if (wanted === null || typeof wanted !== 'object') return have === wanted;
  if (Array.isArray(wanted)) return Array.isArray(have) && wanted.every((w) => have.some((h) => jsonContains(h, w)));
  if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
  return Object.keys(wanted).every((key) => Object.hasOwn(have, key) && jsonContains((have as Record<string, unknown>)[key], (wanted as Record<string, unknown>)[key]));
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

