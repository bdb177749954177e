import pg from 'pg';
import { FaceprintError } from '../core/errors.js';
import { templateOf } from '../core/gallery/template.js';
import type {
  Calibration, GalleryStore, IndexChange, ModelBinding, NewFace, Page, StoredFace, Subject, TemplateHit,
} from '../core/gallery/types.js';
import {
  bindingMismatch, blobOf, checkMetadata, subjectName, faceOf, floatsOf, subjectNameTaken, subjectOf, type FaceRow, type SubjectRow,
} from './common.js';
import { createSchema, createVectorIndex } from './postgres/schema.js';
import { searchTemplatesInSql } from './postgres/search.js';
import { ChangeFeed } from './postgres/change-feed.js';
import { CHANNEL, SCHEMA_LOCK, WRITE_LOCK, isUuid, logChange, mapError, setMeta, vectorLiteral, type Queryable } from './postgres/sql.js';

/**
 * PostgreSQL gallery, shared by faceprint processes on many machines. With pgvector, subject templates are also
 * stored as halfvec with an HNSW index and identify runs in SQL (iterative index scans honour metadata filters),
 * its candidates reranked in float32. Without pgvector, each process keeps the exact in-memory index, caught up
 * from a change sequence: before a search one indexed max(seq) read when LISTEN/NOTIFY has said nothing, the
 * changed rows when it has or when that read moved. Writers take one advisory lock so change sequence numbers commit in order.
 */
export class PostgresGalleryStore implements GalleryStore {
  readonly kind = 'postgres';
  readonly location: string;
  /** True when the server has pgvector: identify runs in SQL (see searchTemplates). */
  readonly pgvector: boolean;
  private readonly pool: pg.Pool;
  private readonly feed: ChangeFeed;
  private closed = false;

  /** Present only with pgvector (the Gallery then searches in SQL instead of its in-memory index). */
  readonly searchTemplates?: (query: Float32Array, k: number, where?: Record<string, unknown>) => Promise<TemplateHit[]>;

  private constructor(location: string, pool: pg.Pool, pgvector: boolean) {
    this.location = location;
    this.pool = pool;
    this.pgvector = pgvector;
    this.feed = new ChangeFeed(pool, location, pgvector);
    if (pgvector) this.searchTemplates = (query, k, where) => this.searchInSql(query, k, where);
  }

  static async open(url: string, options: { pgvector?: boolean; lockTimeoutMs?: number } = {}): Promise<PostgresGalleryStore> {
    const location = maskPassword(url);
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => undefined); // an idle client's lost connection: the next query reports it
    pool.on('connect', (c) => {
      c.query(`SET lock_timeout = ${Math.round(options.lockTimeoutMs ?? 10_000)}`).catch(() => undefined);
    });
    try {
      const client = await pool.connect();
      let pgvector = false;
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        const available = (await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`)).rowCount! > 0;
        pgvector = options.pgvector ?? available;
        if (pgvector) await client.query('CREATE EXTENSION IF NOT EXISTS vector');
        await createSchema(client, location);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
      const store = new PostgresGalleryStore(location, pool, pgvector);
      await store.feed.listen(url);
      return store;
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw mapError(e, location);
    }
  }

  async binding(): Promise<ModelBinding | null> {
    return this.meta<ModelBinding>('binding');
  }

  async bind(binding: ModelBinding): Promise<void> {
    await this.write(async (c) => {
      const current = await this.metaIn<ModelBinding>(c, 'binding');
      if (!current) await setMeta(c, 'binding', binding);
      else if (current.recognizerSha256 !== binding.recognizerSha256 || current.dim !== binding.dim) throw bindingMismatch(this.location, current, binding);
      if (this.pgvector) {
        if (binding.dim > 4000) throw new FaceprintError('STORE_INVALID', `pgvector's HNSW indexes halfvec up to 4000 dimensions, not ${binding.dim}`);
        await createVectorIndex(c, binding.dim);
      }
    });
  }

  async calibration(): Promise<Calibration | null> {
    return this.meta<Calibration>('calibration');
  }

  async setCalibration(calibration: Calibration): Promise<void> {
    await this.write((c) => setMeta(c, 'calibration', calibration));
  }

  async serviceRecord(key: string): Promise<unknown> {
    return this.meta(`service:${key}`);
  }

  async setServiceRecord(key: string, value: unknown): Promise<void> {
    await this.write((c) => setMeta(c, `service:${key}`, value));
  }

  async createSubject(name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    await this.write(async (c) => {
      if ((await c.query('SELECT 1 FROM faceprint_subjects WHERE name = $1', [name])).rowCount) throw subjectNameTaken(name);
      await c.query('INSERT INTO faceprint_subjects (id, name, metadata, created_at, updated_at) VALUES ($1, $2, $3, now(), now())', [id, name, metadata]);
    });
    return (await this.subject(id))!;
  }

  async subject(ref: string): Promise<Subject | null> {
    // by id first, else by name
    const r = await this.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE id = $2 OR name = $1 ORDER BY (id = $2) DESC NULLS LAST LIMIT 1', [ref, isUuid(ref) ? ref : null]);
    return r.rows[0] ? subjectOf(r.rows[0]) : null;
  }

  async listSubjects(page: Page = {}): Promise<{ total: number; subjects: Subject[] }> {
    const limit = Math.min(Math.max(page.limit ?? 100, 1), 1000);
    const offset = Math.max(page.offset ?? 0, 0);
    const total = Number((await this.query<{ n: string }>('SELECT count(*) AS n FROM faceprint_subjects')).rows[0].n);
    const rows = (await this.query<SubjectRow>('SELECT * FROM faceprint_subjects ORDER BY name, id LIMIT $1 OFFSET $2', [limit, offset])).rows;
    return { total, subjects: rows.map(subjectOf) };
  }

  async updateSubject(id: string, patch: { name?: string; metadata?: Record<string, unknown> }): Promise<Subject> {
    patch = { ...patch, ...(patch.name !== undefined && { name: subjectName(patch.name) }) };
    if (patch.metadata !== undefined) checkMetadata(patch.metadata);
    await this.write(async (c) => {
      const row = (await c.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE id = $1', [id])).rows[0];
      if (!row) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${id}`);
      if (patch.name !== undefined && patch.name !== row.name && (await c.query('SELECT 1 FROM faceprint_subjects WHERE name = $1', [patch.name])).rowCount) throw subjectNameTaken(patch.name);
      await c.query('UPDATE faceprint_subjects SET name = $1, metadata = $2, updated_at = now() WHERE id = $3', [patch.name ?? row.name, patch.metadata ?? row.metadata, id]);
      await logChange(c, 'template', id);
    });
    return (await this.subject(id))!;
  }

  async deleteSubject(id: string): Promise<number> {
    return this.write(async (c) => {
      const faces = (await c.query('DELETE FROM faceprint_faces WHERE subject_id = $1', [id])).rowCount ?? 0;
      if (!(await c.query('DELETE FROM faceprint_subjects WHERE id = $1', [id])).rowCount) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${id}`);
      await logChange(c, 'template', id);
      return faces;
    });
  }

  async mergeSubjects(intoId: string, fromId: string): Promise<Subject> {
    await this.write(async (c) => {
      for (const id of [intoId, fromId]) if (!(await c.query('SELECT 1 FROM faceprint_subjects WHERE id = $1', [id])).rowCount) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${id}`);
      await c.query('DELETE FROM faceprint_faces WHERE subject_id = $1 AND image_sha256 IN (SELECT image_sha256 FROM faceprint_faces WHERE subject_id = $2)', [fromId, intoId]);
      await c.query('UPDATE faceprint_faces SET subject_id = $1 WHERE subject_id = $2', [intoId, fromId]);
      await c.query('DELETE FROM faceprint_subjects WHERE id = $1', [fromId]);
      await logChange(c, 'template', fromId);
      await this.refreshTemplate(c, intoId);
    });
    return (await this.subject(intoId))!;
  }

  async createSubjectWithFaces(name: string, metadata: Record<string, unknown>, faces: NewFace[]): Promise<{ subject: Subject; added: StoredFace[]; duplicates: NewFace[] }> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    const result = await this.write(async (c) => {
      if ((await c.query('SELECT 1 FROM faceprint_subjects WHERE name = $1', [name])).rowCount) throw subjectNameTaken(name);
      await c.query('INSERT INTO faceprint_subjects (id, name, metadata, created_at, updated_at) VALUES ($1, $2, $3, now(), now())', [id, name, metadata]);
      return this.insertFaces(c, id, faces);
    });
    return { subject: (await this.subject(id))!, ...result };
  }

  async addFaces(subjectId: string | null, faces: NewFace[]): Promise<{ added: StoredFace[]; duplicates: NewFace[] }> {
    return this.write(async (c) => {
      if (subjectId !== null && !(await c.query('SELECT 1 FROM faceprint_subjects WHERE id = $1', [subjectId])).rowCount) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${subjectId}`);
      return this.insertFaces(c, subjectId, faces);
    });
  }

  /** Inside a write: the faces inserted (an image already enrolled for the subject skipped), its template refreshed. */
  private async insertFaces(c: pg.PoolClient, subjectId: string | null, faces: NewFace[]): Promise<{ added: StoredFace[]; duplicates: NewFace[] }> {
    {
      const added: StoredFace[] = [];
      const duplicates: NewFace[] = [];
      for (const f of faces) {
        const id = crypto.randomUUID();
        const r = await c.query<{ created_at: Date }>(
          `INSERT INTO faceprint_faces (id, subject_id, embedding, image_sha256, bbox, score, quality, source, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) ON CONFLICT DO NOTHING RETURNING created_at`,
          [id, subjectId, blobOf(f.embedding), f.imageSha256, JSON.stringify(f.bbox), f.score, f.quality, f.source ?? null],
        );
        if (!r.rowCount) {
          duplicates.push(f);
          continue;
        }
        added.push({ ...f, id, subjectId, clusterId: null, createdAt: r.rows[0].created_at.toISOString() });
        if (subjectId === null) await logChange(c, 'face', id);
      }
      if (subjectId !== null && added.length) await this.refreshTemplate(c, subjectId);
      return { added, duplicates };
    }
  }

  async face(id: string): Promise<StoredFace | null> {
    if (!isUuid(id)) return null;
    const row = (await this.query<FaceRow>('SELECT * FROM faceprint_faces WHERE id = $1', [id])).rows[0];
    return row ? faceOf(row) : null;
  }

  async facesOf(subjectId: string): Promise<StoredFace[]> {
    return (await this.query<FaceRow>('SELECT * FROM faceprint_faces WHERE subject_id = $1 ORDER BY created_at, id', [subjectId])).rows.map(faceOf);
  }

  async deleteFace(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return this.write(async (c) => {
      const row = (await c.query<{ subject_id: string | null }>('DELETE FROM faceprint_faces WHERE id = $1 RETURNING subject_id', [id])).rows[0];
      if (!row) return false;
      if (row.subject_id) await this.refreshTemplate(c, row.subject_id);
      else await logChange(c, 'face', id);
      return true;
    });
  }

  async setClusters(assignments: { faceId: string; clusterId: string }[]): Promise<void> {
    await this.write(async (c) => {
      for (const a of assignments) {
        if ((await c.query('UPDATE faceprint_faces SET cluster_id = $1 WHERE id = $2 AND subject_id IS NULL', [a.clusterId, a.faceId])).rowCount) await logChange(c, 'face', a.faceId);
      }
    });
  }

  async unassignedFaces(): Promise<StoredFace[]> {
    return (await this.query<FaceRow>('SELECT * FROM faceprint_faces WHERE subject_id IS NULL ORDER BY created_at, id')).rows.map(faceOf);
  }

  async promoteCluster(clusterId: string, name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    await this.write(async (c) => {
      const faces = (await c.query<{ id: string; image_sha256: string }>('SELECT id, image_sha256 FROM faceprint_faces WHERE cluster_id = $1 AND subject_id IS NULL ORDER BY created_at, id', [clusterId])).rows;
      if (faces.length === 0) throw new FaceprintError('CLUSTER_NOT_FOUND', `no unassigned faces in cluster ${clusterId}`);
      if ((await c.query('SELECT 1 FROM faceprint_subjects WHERE name = $1', [name])).rowCount) throw subjectNameTaken(name);
      await c.query('INSERT INTO faceprint_subjects (id, name, metadata, created_at, updated_at) VALUES ($1, $2, $3, now(), now())', [id, name, metadata]);
      const seen = new Set<string>();
      for (const f of faces) {
        if (seen.has(f.image_sha256)) continue;
        seen.add(f.image_sha256);
        await c.query('UPDATE faceprint_faces SET subject_id = $1, cluster_id = NULL WHERE id = $2', [id, f.id]);
        await logChange(c, 'face', f.id);
      }
      await this.refreshTemplate(c, id);
    });
    return (await this.subject(id))!;
  }

  async importSubjects(items: { name: string; metadata?: Record<string, unknown>; faces: NewFace[] }[]): Promise<number> {
    items = items.map((it) => ({ ...it, name: subjectName(it.name), metadata: checkMetadata(it.metadata ?? {}) }));
    // three statements per batch (subjects, faces, changes), each row set passed as arrays and unnested
    const subjects = items.map((it) => ({ id: crypto.randomUUID(), it, template: templateOf(it.faces.map((f) => f.embedding)) }));
    const faces = subjects.flatMap(({ id, it }) => it.faces.map((f) => ({ id: crypto.randomUUID(), subjectId: id, f })));
    return this.write(async (c) => {
      try {
        await c.query(
          `INSERT INTO faceprint_subjects (id, name, metadata, template, face_count, created_at, updated_at${this.pgvector ? ', template_vec' : ''})
           SELECT id, name, metadata, template, face_count, now(), now()${this.pgvector ? ', vec::halfvec' : ''}
           FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::bytea[], $5::int[]${this.pgvector ? ', $6::text[]' : ''})
             AS t(id, name, metadata, template, face_count${this.pgvector ? ', vec' : ''})`,
          [
            subjects.map((s) => s.id),
            subjects.map((s) => s.it.name),
            subjects.map((s) => JSON.stringify(s.it.metadata ?? {})),
            subjects.map((s) => (s.template ? blobOf(s.template) : null)),
            subjects.map((s) => s.it.faces.length),
            ...(this.pgvector ? [subjects.map((s) => (s.template ? vectorLiteral(s.template) : null))] : []),
          ],
        );
      } catch (e) {
        if ((e as { code?: string }).code === '23505') throw new FaceprintError('SUBJECT_EXISTS', `import: a subject name already exists (${(e as Error).message})`);
        throw e;
      }
      await c.query(
        `INSERT INTO faceprint_faces (id, subject_id, embedding, image_sha256, bbox, score, quality, source, created_at)
         SELECT id, subject_id, embedding, image_sha256, bbox, score, quality, source, now()
         FROM unnest($1::uuid[], $2::uuid[], $3::bytea[], $4::text[], $5::jsonb[], $6::real[], $7::real[], $8::text[])
           AS t(id, subject_id, embedding, image_sha256, bbox, score, quality, source)`,
        [
          faces.map((x) => x.id),
          faces.map((x) => x.subjectId),
          faces.map((x) => blobOf(x.f.embedding)),
          faces.map((x) => x.f.imageSha256),
          faces.map((x) => JSON.stringify(x.f.bbox)),
          faces.map((x) => x.f.score),
          faces.map((x) => x.f.quality),
          faces.map((x) => x.f.source ?? null),
        ],
      );
      await c.query(`INSERT INTO faceprint_changes (kind, ref) SELECT 'template', unnest($1::text[])`, [subjects.map((s) => s.id)]);
      return items.length;
    });
  }

  /** pgvector only: see searchTemplatesInSql. */
  private async searchInSql(query: Float32Array, k: number, where?: Record<string, unknown>): Promise<TemplateHit[]> {
    const c = await this.client();
    try {
      return await searchTemplatesInSql(c, this.location, query, k, where);
    } finally {
      c.release();
    }
  }

  async changesSince(seq: number): Promise<{ seq: number; changes: IndexChange[] }> {
    if (this.closed) throw new FaceprintError('CLOSED', `gallery ${this.location} is closed`);
    return this.feed.changesSince(seq);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.feed.close();
    await this.pool.end();
  }

  private async refreshTemplate(c: Queryable, subjectId: string): Promise<void> {
    const embeddings = (await c.query<{ embedding: Buffer }>('SELECT embedding FROM faceprint_faces WHERE subject_id = $1', [subjectId])).rows.map((r) => floatsOf(r.embedding));
    const template = templateOf(embeddings);
    await c.query(
      `UPDATE faceprint_subjects SET template = $1, face_count = $2, updated_at = now()${this.pgvector ? ', template_vec = $4' : ''} WHERE id = $3`,
      [template ? blobOf(template) : null, embeddings.length, subjectId, ...(this.pgvector ? [template ? vectorLiteral(template) : null] : [])],
    );
    await logChange(c, 'template', subjectId);
  }

  private async meta<T>(key: string): Promise<T | null> {
    return this.metaIn<T>(this.pool, key);
  }

  private async metaIn<T>(c: Queryable, key: string): Promise<T | null> {
    try {
      const r = await c.query<{ value: T }>('SELECT value FROM faceprint_meta WHERE key = $1', [key]);
      return r.rows[0]?.value ?? null;
    } catch (e) {
      throw mapError(e, this.location);
    }
  }

  private async query<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new FaceprintError('CLOSED', `gallery ${this.location} is closed`);
    try {
      return await this.pool.query<R>(text, params);
    } catch (e) {
      throw mapError(e, this.location);
    }
  }

  private async client(): Promise<pg.PoolClient> {
    if (this.closed) throw new FaceprintError('CLOSED', `gallery ${this.location} is closed`);
    try {
      return await this.pool.connect();
    } catch (e) {
      throw mapError(e, this.location);
    }
  }

  /** One transaction under the writer lock; NOTIFY goes out at commit. */
  private async write<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.client();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      const result = await fn(c);
      await c.query(`SELECT pg_notify('${CHANNEL}', '')`);
      await c.query('COMMIT');
      this.feed.markDirty();
      return result;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw mapError(e, this.location);
    } finally {
      c.release();
    }
  }
}

/** The URL with any password (user:password@ or ?password=) replaced by ***: for messages and logs. */
export function maskPassword(url: string): string {
  return url.replace(/\/\/([^:@/?#]*):[^@/?#]*@/, '//$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}
