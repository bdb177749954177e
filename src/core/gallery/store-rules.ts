import { FaceprintError } from '../errors.js';
import type { CollectionSettings, ModelBinding } from './types.js';

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


/** A collection's name: 1–64 letters, digits, `_`, `.` or `-` (it appears in URLs and CLI flags as it is). */
export function collectionName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new FaceprintError('INVALID_INPUT', `a collection name is 1–64 letters, digits, "_", "." or "-" (not starting with "." or "-"), got ${JSON.stringify(name)}`);
  }
  return name;
}

export function collectionNotFound(name: string): FaceprintError {
  return new FaceprintError('COLLECTION_NOT_FOUND', `no collection ${JSON.stringify(name)}`);
}

/** The settings a collection may have, checked (unknown keys and bad values are INVALID_INPUT). */
export function checkCollectionSettings(s: unknown): CollectionSettings {
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw new FaceprintError('INVALID_INPUT', 'collection settings must be an object');
  const out: CollectionSettings = {};
  for (const [k, v] of Object.entries(s)) {
    const bad = (want: string) => new FaceprintError('INVALID_INPUT', `collection setting ${k} must be ${want}, got ${JSON.stringify(v)}`);
    if (v === undefined) continue;
    if (k === 'threshold') {
      if (typeof v !== 'number' || !(v >= -1 && v <= 1)) throw bad('a cosine in [-1, 1]');
      out.threshold = v;
    } else if (k === 'detThresh') {
      if (typeof v !== 'number' || !(v > 0 && v < 1)) throw bad('a score in (0, 1)');
      out.detThresh = v;
    } else if (k === 'detSizes') {
      if (!Array.isArray(v) || v.length < 1 || v.length > 4 || !v.every((n) => Number.isInteger(n) && n >= 32 && n <= 2048 && n % 32 === 0)) throw bad('1–4 sizes, multiples of 32 in [32, 2048]');
      out.detSizes = [...v];
    } else if (k === 'review') {
      if (v !== 'off' && v !== 'standard' && v !== 'strict') throw bad('off, standard or strict');
      out.review = v;
    } else if (k === 'thumbnails') {
      if (typeof v !== 'boolean') throw bad('true or false');
      out.thumbnails = v;
    } else {
      throw new FaceprintError('INVALID_INPUT', `unknown collection setting ${JSON.stringify(k)} (threshold, detSizes, detThresh, review, thumbnails)`);
    }
  }
  return out;
}

/**
 * An opaque page cursor: the sort key of the last row of a page, as base64url JSON. Keyset paging: a page
 * starts after that key, so rows added or removed meanwhile shift nothing.
 *   decodeCursor(encodeCursor(['amy', 'id1'])) → ['amy', 'id1']
 */
export function encodeCursor(key: readonly string[]): string {
  const bytes = new TextEncoder().encode(JSON.stringify(key));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeCursor(cursor: string, parts: number): string[] {
  try {
    const bin = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    const key = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)))) as unknown;
    if (Array.isArray(key) && key.length === parts && key.every((k) => typeof k === 'string')) return key;
  } catch {
    // falls through to the error below
  }
  throw new FaceprintError('INVALID_INPUT', 'not a cursor of this list (pass the nextCursor a page gave)');
}

/** The page size asked for, within 1–1000 (default 100). */
export const pageLimit = (limit: number | undefined): number => Math.min(Math.max(limit ?? 100, 1), 1000);

/**
 * A page of rows already sorted by `key` (in memory): after the cursor's key, or from `offset` (deprecated);
 * `nextCursor` when rows remain. The stores' SQL does the same with a keyset WHERE.
 */
export function pageOf<T>(sorted: readonly T[], key: (row: T) => string[], page: { cursor?: string; offset?: number; limit?: number }, keyParts = 2): { rows: T[]; nextCursor: string | null } {
  const limit = pageLimit(page.limit);
  let start = Math.max(page.offset ?? 0, 0);
  if (page.cursor !== undefined) {
    const after = decodeCursor(page.cursor, keyParts);
    start = sorted.findIndex((r) => compareKeys(key(r), after) > 0);
    if (start < 0) start = sorted.length;
  }
  const rows = sorted.slice(start, start + limit);
  return { rows, nextCursor: start + limit < sorted.length && rows.length ? encodeCursor(key(rows[rows.length - 1])) : null };
}

function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? '') < (b[i] ?? '')) return -1;
    if ((a[i] ?? '') > (b[i] ?? '')) return 1;
  }
  return 0;
}
