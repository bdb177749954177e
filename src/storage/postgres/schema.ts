import type pg from 'pg';
import { FaceprintError } from '../../core/errors.js';
import { DEFAULT_COLLECTION } from '../../core/gallery/types.js';
import { GALLERY_SCHEMA_VERSION } from '../common.js';

/**
 * Steps from each schema version to the next, the same in SQLite (sqlite.ts). Version 1 is the first release's
 * tables (a store of that release has no version recorded); 2 adds an index on the unassigned faces, which
 * clustering reads in creation order (without it every cluster run scanned the whole faces table).
 */
const MIGRATIONS: Record<number, string> = {
  2: 'CREATE INDEX IF NOT EXISTS faceprint_faces_unassigned ON faceprint_faces(created_at, id) WHERE subject_id IS NULL',
  // 3: collections, as in SQLite (sqlite.ts): the binding and calibration become the default collection's, every
  // row belongs to a collection, a name is unique within its collection, faces may keep a thumbnail
  3: `
    CREATE TABLE faceprint_collections (
      name text PRIMARY KEY, binding jsonb, calibration jsonb, settings jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO faceprint_collections (name, binding, calibration)
      VALUES ('${DEFAULT_COLLECTION}', (SELECT value FROM faceprint_meta WHERE key = 'binding'), (SELECT value FROM faceprint_meta WHERE key = 'calibration'));
    DELETE FROM faceprint_meta WHERE key IN ('binding', 'calibration');
    ALTER TABLE faceprint_subjects ADD COLUMN collection text NOT NULL DEFAULT '${DEFAULT_COLLECTION}';
    ALTER TABLE faceprint_subjects DROP CONSTRAINT faceprint_subjects_name_key;
    ALTER TABLE faceprint_subjects ADD CONSTRAINT faceprint_subjects_collection_name_key UNIQUE (collection, name);
    ALTER TABLE faceprint_faces ADD COLUMN collection text NOT NULL DEFAULT '${DEFAULT_COLLECTION}', ADD COLUMN thumbnail bytea;
    ALTER TABLE faceprint_changes ADD COLUMN collection text NOT NULL DEFAULT '${DEFAULT_COLLECTION}';
    DROP INDEX IF EXISTS faceprint_faces_unassigned;
    CREATE INDEX faceprint_faces_unassigned ON faceprint_faces(collection, created_at, id) WHERE subject_id IS NULL;
    CREATE INDEX faceprint_changes_collection ON faceprint_changes(collection, seq);
    CREATE INDEX faceprint_faces_collection ON faceprint_faces(collection);`,
};

/**
 * Creates the gallery's tables if missing and brings an older schema up to this release's, recording the
 * version; a newer schema (a later faceprint's) is refused. Runs under the schema lock, in the caller's
 * transaction: a migration happens once, whole or not at all.
 */
export async function createSchema(client: pg.PoolClient, location: string): Promise<void> {
  // a store already at this schema takes no DDL: CREATE … IF NOT EXISTS still locks each table, one after the
  // other, and with other processes writing that order deadlocked (40P01 on opening, seen in the concurrency test)
  if ((await client.query<{ e: boolean }>(`SELECT to_regclass('faceprint_meta') IS NOT NULL AS e`)).rows[0].e) {
    const current = (await client.query<{ value: number }>(`SELECT value FROM faceprint_meta WHERE key = 'schema'`)).rows[0];
    if (current && Number(current.value) === GALLERY_SCHEMA_VERSION) return;
  }
  await createTables(client);
  const row = (await client.query<{ value: number }>(`SELECT value FROM faceprint_meta WHERE key = 'schema'`)).rows[0];
  // tables without a version are the first release's; a new store starts at 1 and takes every step
  let version = row ? Number(row.value) : 1;
  if (version > GALLERY_SCHEMA_VERSION) throw new FaceprintError('STORE_INVALID', `${location} has gallery schema ${version}; this faceprint reads up to ${GALLERY_SCHEMA_VERSION}`);
  for (; version < GALLERY_SCHEMA_VERSION; version++) await client.query(MIGRATIONS[version + 1]);
  if (!row || Number(row.value) !== version) {
    await client.query(`INSERT INTO faceprint_meta (key, value) VALUES ('schema', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [JSON.stringify(version)]);
  }
}

/** The first release's tables and indexes, if missing. */
async function createTables(client: pg.PoolClient): Promise<void> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS faceprint_meta (key text PRIMARY KEY, value jsonb NOT NULL);
    CREATE TABLE IF NOT EXISTS faceprint_subjects (
      id uuid PRIMARY KEY, name text NOT NULL UNIQUE, metadata jsonb NOT NULL DEFAULT '{}',
      template bytea, face_count integer NOT NULL DEFAULT 0, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
    CREATE TABLE IF NOT EXISTS faceprint_faces (
      id uuid PRIMARY KEY, subject_id uuid REFERENCES faceprint_subjects(id) ON DELETE CASCADE, cluster_id text,
      embedding bytea NOT NULL, image_sha256 text NOT NULL, bbox jsonb NOT NULL, score real NOT NULL,
      quality real NOT NULL, source text, created_at timestamptz NOT NULL);
    CREATE UNIQUE INDEX IF NOT EXISTS faceprint_faces_subject_image ON faceprint_faces(subject_id, image_sha256) WHERE subject_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS faceprint_faces_subject ON faceprint_faces(subject_id);
    CREATE INDEX IF NOT EXISTS faceprint_faces_cluster ON faceprint_faces(cluster_id);
    CREATE INDEX IF NOT EXISTS faceprint_subjects_metadata ON faceprint_subjects USING gin (metadata jsonb_path_ops);
    CREATE TABLE IF NOT EXISTS faceprint_changes (seq bigserial PRIMARY KEY, kind text NOT NULL, ref text NOT NULL);
  `);
}

/**
 * pgvector: the halfvec template column and its HNSW index, made for the first embedding size bound; returns the
 * column's size. A collection of another size is searched by the processes' in-memory index instead.
 */
export async function createVectorIndex(client: Pick<pg.PoolClient, 'query'>, dim: number): Promise<number> {
  await client.query(`ALTER TABLE faceprint_subjects ADD COLUMN IF NOT EXISTS template_vec halfvec(${dim})`);
  await client.query('CREATE INDEX IF NOT EXISTS faceprint_subjects_template_hnsw ON faceprint_subjects USING hnsw (template_vec halfvec_cosine_ops)');
  return vectorColumnSize(client) as Promise<number>;
}

/** The template_vec column's size, or null when there is none yet. */
export async function vectorColumnSize(client: Pick<pg.PoolClient, 'query'>): Promise<number | null> {
  const r = await client.query<{ t: string }>(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'faceprint_subjects'::regclass AND attname = 'template_vec' AND NOT attisdropped`);
  const m = /\((\d+)\)/.exec(r.rows[0]?.t ?? '');
  return m ? Number(m[1]) : null;
}
