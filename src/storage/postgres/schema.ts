import type pg from 'pg';

/** Creates the gallery's tables and indexes if missing (run under the schema lock, in the caller's transaction). */
export async function createSchema(client: pg.PoolClient): Promise<void> {
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

/** pgvector: the halfvec template column and its HNSW index, once the embedding size is known. */
export async function createVectorIndex(client: Pick<pg.PoolClient, 'query'>, dim: number): Promise<void> {
  await client.query(`ALTER TABLE faceprint_subjects ADD COLUMN IF NOT EXISTS template_vec halfvec(${dim})`);
  await client.query('CREATE INDEX IF NOT EXISTS faceprint_subjects_template_hnsw ON faceprint_subjects USING hnsw (template_vec halfvec_cosine_ops)');
}
