import { FaceprintError } from '../core/errors.js';
import type { IndexChange, StoredFace, Subject } from '../core/gallery/types.js';

/**
 * The gallery schema this release writes, in SQLite and PostgreSQL alike: older stores are migrated up when
 * opened (sqlite.ts, postgres/schema.ts), newer ones refused.
 */
export const GALLERY_SCHEMA_VERSION = 3;

export { bindingMismatch, checkMetadata, subjectName, subjectNameTaken } from '../core/gallery/store-rules.js';

export function collectionExists(name: string): FaceprintError {
  return new FaceprintError('COLLECTION_EXISTS', `a collection named ${JSON.stringify(name)} already exists`);
}

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

/** A subject row as both stores hold it (SQLite keeps JSON as text, PostgreSQL as jsonb; times as text or Date). */
export interface SubjectRow {
  id: string;
  name: string;
  metadata: string | Record<string, unknown>;
  template: Uint8Array | null;
  face_count: number;
  created_at: string | Date;
  updated_at: string | Date;
}

export interface FaceRow {
  id: string;
  subject_id: string | null;
  cluster_id: string | null;
  embedding: Uint8Array;
  image_sha256: string;
  bbox: string | [number, number, number, number];
  score: number;
  quality: number;
  source: string | null;
  thumbnail?: Uint8Array | null;
  created_at: string | Date;
}

const json = <T>(v: string | T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const iso = (v: string | Date): string => (typeof v === 'string' ? v : v.toISOString());

export function subjectOf(row: SubjectRow): Subject {
  return { id: row.id, name: row.name, metadata: json(row.metadata), faceCount: row.face_count, createdAt: iso(row.created_at), updatedAt: iso(row.updated_at) };
}

export function faceOf(row: FaceRow): StoredFace {
  return {
    id: row.id,
    subjectId: row.subject_id,
    clusterId: row.cluster_id,
    embedding: floatsOf(row.embedding),
    imageSha256: row.image_sha256,
    bbox: json(row.bbox),
    score: row.score,
    quality: row.quality,
    source: row.source ?? undefined,
    createdAt: iso(row.created_at),
    hasThumbnail: row.thumbnail != null,
  };
}

/** The change-feed entry for a subject row: its template (null when it has no faces). */
export function templateChange(row: SubjectRow): IndexChange {
  return { kind: 'template', id: row.id, name: row.name, metadata: json(row.metadata), embedding: row.template ? floatsOf(row.template) : null };
}

/** The change-feed entry for a face row: present in the unassigned index only while it has no subject. */
export function faceChange(row: FaceRow): IndexChange {
  return { kind: 'face', id: row.id, clusterId: row.cluster_id, embedding: row.subject_id === null ? floatsOf(row.embedding) : null };
}
