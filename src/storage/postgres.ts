import pg from 'pg';
import { FaceprintError } from '../core/errors.js';
import { templateOf } from '../core/gallery/template.js';
import {
  DEFAULT_COLLECTION,
  type Calibration, type CollectionCatalog, type CollectionInfo, type CollectionSettings, type GalleryStore, type IndexChange, type ModelBinding, type NewFace, type Page, type StoredFace, type Subject, type SubjectPage, type TemplateHit,
} from '../core/gallery/types.js';
import { checkCollectionSettings, collectionName, collectionNotFound, decodeCursor, encodeCursor, pageLimit } from '../core/gallery/store-rules.js';
import {
  bindingMismatch, blobOf, checkMetadata, collectionExists, subjectName, faceOf, floatsOf, subjectNameTaken, subjectOf, type FaceRow, type SubjectRow,
} from './common.js';
import { createSchema, createVectorIndex, vectorColumnSize } from './postgres/schema.js';
import { searchTemplatesInSql } from './postgres/search.js';
import { ChangeFeed, ChangeListener } from './postgres/change-feed.js';
import { CHANNEL, SCHEMA_LOCK, WRITE_LOCK, isUuid, logChange, mapError, setMeta, vectorLiteral, type Queryable } from './postgres/sql.js';

/** What the stores of one database's collections share: the pool, the listener, the vector column's size. */
interface Shared {
  pool: pg.Pool;
  listener: ChangeListener;
  pgvector: boolean;
  /** The template_vec column's size (null until the first binding with pgvector). */
  vectorDim: number | null;
}

/**
 * PostgreSQL gallery, shared by faceprint processes on many machines; its collections share the database
 * (`collection(name)` gives the store of one). With pgvector, subject templates are also stored as halfvec with an
 * HNSW index and identify runs in SQL (iterative index scans honour the collection and metadata filters), its
 * candidates reranked in float32 — for the collections whose embedding size is the column's (the first one
 * bound); others use the in-memory index. Without pgvector, each process keeps the exact in-memory index, caught up
 * from a change sequence: before a search one indexed max(seq) read when LISTEN/NOTIFY has said nothing, the
 * changed rows when it has or when that read moved. Writers take one advisory lock so change sequence numbers
 * commit in order.
 */
export class PostgresGalleryStore implements GalleryStore, CollectionCatalog {
  readonly kind = 'postgres';
  readonly location: string;
  readonly collectionName: string;
  private readonly shared: Shared;
  private readonly pool: pg.Pool;
  private readonly feed: ChangeFeed;
  private readonly owner: boolean;
  private closed = false;
  /** True once this collection is bound to the vector column's size: its templates are searched in SQL. */
  private vectorSearch = false;

  /** Present only with pgvector, for a collection of the vector column's size (the Gallery then searches in SQL). */
  searchTemplates?: (query: Float32Array, k: number, where?: Record<string, unknown>) => Promise<TemplateHit[]>;

  private constructor(location: string, shared: Shared, collection: string, owner: boolean) {
    this.location = location;
    this.shared = shared;
    this.pool = shared.pool;
    this.collectionName = collection;
    this.owner = owner;
    this.feed = new ChangeFeed(shared.pool, location, () => this.vectorSearch, collection, shared.listener);
  }

  /** True when the server has pgvector. */
  get pgvector(): boolean {
    return this.shared.pgvector;
  }

  static async open(url: string, options: { pgvector?: boolean; lockTimeoutMs?: number } = {}): Promise<PostgresGalleryStore> {
    const location = maskPassword(url);
    // the lock timeout as a connection parameter: a SET sent on 'connect' ran beside the caller's first query on
    // that client (pg deprecates two queries at once on one client)
    const pool = new pg.Pool({ connectionString: url, max: 4, options: `-c lock_timeout=${Math.round(options.lockTimeoutMs ?? 10_000)}` });
    pool.on('error', () => undefined); // an idle client's lost connection: the next query reports it
    try {
      const client = await pool.connect();
      let pgvector = false;
      let vectorDim: number | null = null;
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        const available = (await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`)).rowCount! > 0;
        pgvector = options.pgvector ?? available;
        if (pgvector) await client.query('CREATE EXTENSION IF NOT EXISTS vector');
        await createSchema(client, location);
        if (pgvector) vectorDim = await vectorColumnSize(client);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
      const listener = new ChangeListener();
      const store = new PostgresGalleryStore(location, { pool, listener, pgvector, vectorDim }, DEFAULT_COLLECTION, true);
      await listener.listen(url);
      return store;
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw mapError(e, location);
    }
  }

  get catalog(): CollectionCatalog {
    return this;
  }

  // ---- collections

  collection(name: string): PostgresGalleryStore {
    return new PostgresGalleryStore(this.location, this.shared, collectionName(name), false);
  }

  async listCollections(): Promise<CollectionInfo[]> {
    const names = (await this.query<{ name: string }>('SELECT name FROM faceprint_collections ORDER BY name')).rows.map((r) => r.name);
    return (await Promise.all(names.map((n) => this.collectionInfo(n)))).filter((x): x is CollectionInfo => x !== null);
  }

  async collectionInfo(name: string): Promise<CollectionInfo | null> {
    return this.infoIn(this.pool, name);
  }

  private async infoIn(c: Queryable, name: string): Promise<CollectionInfo | null> {
    const row = (await c.query<{ name: string; binding: ModelBinding | null; settings: CollectionSettings; created_at: Date; subjects: number; faces: number }>(
      `SELECT name, binding, settings, created_at,
         (SELECT count(*)::int FROM faceprint_subjects s WHERE s.collection = c.name) AS subjects,
         (SELECT count(*)::int FROM faceprint_faces f WHERE f.collection = c.name) AS faces
       FROM faceprint_collections c WHERE name = $1`, [name])).rows[0];
    return row ? { name: row.name, binding: row.binding, settings: row.settings, subjects: row.subjects, faces: row.faces, createdAt: row.created_at.toISOString() } : null;
  }

  async createCollection(name: string, settings: CollectionSettings = {}): Promise<CollectionInfo> {
    name = collectionName(name);
    settings = checkCollectionSettings(settings);
    return this.write(async (c) => {
      if ((await c.query('SELECT 1 FROM faceprint_collections WHERE name = $1', [name])).rowCount) throw collectionExists(name);
      await c.query('INSERT INTO faceprint_collections (name, settings) VALUES ($1, $2)', [name, settings]);
      return (await this.infoIn(c, name))!;
    });
  }

  async updateCollection(name: string, settings: CollectionSettings): Promise<CollectionInfo> {
    settings = checkCollectionSettings(settings);
    return this.write(async (c) => {
      const info = await this.infoIn(c, name);
      if (!info) throw collectionNotFound(name);
      if (settings.detSizes && info.binding && info.faces + info.subjects > 0 && JSON.stringify(settings.detSizes) !== JSON.stringify(info.binding.detSizes)) {
        throw new FaceprintError('INVALID_INPUT', `collection ${name}'s faces were found with detector sizes ${JSON.stringify(info.binding.detSizes)}; they cannot change now`);
      }
      await c.query('UPDATE faceprint_collections SET settings = $1 WHERE name = $2', [{ ...info.settings, ...settings }, name]);
      return (await this.infoIn(c, name))!;
    });
  }

  async deleteCollection(name: string): Promise<number> {
    if (name === DEFAULT_COLLECTION) throw new FaceprintError('INVALID_INPUT', 'the default collection cannot be deleted (delete its people instead)');
    return this.write(async (c) => {
      if (!(await c.query('SELECT 1 FROM faceprint_collections WHERE name = $1', [name])).rowCount) throw collectionNotFound(name);
      const faces = (await c.query('DELETE FROM faceprint_faces WHERE collection = $1', [name])).rowCount ?? 0;
      await c.query('DELETE FROM faceprint_subjects WHERE collection = $1', [name]);
      await c.query('DELETE FROM faceprint_changes WHERE collection = $1', [name]);
      await c.query('DELETE FROM faceprint_collections WHERE name = $1', [name]);
      return faces;
    });
  }

  async collectionSettings(): Promise<CollectionSettings> {
    return (await this.row(this.pool)).settings;
  }

  /** This collection's row (COLLECTION_NOT_FOUND without one). */
  private async row(c: Queryable): Promise<{ binding: ModelBinding | null; calibration: Calibration | null; settings: CollectionSettings }> {
    const row = (await this.queryIn<{ binding: ModelBinding | null; calibration: Calibration | null; settings: CollectionSettings }>(c, 'SELECT binding, calibration, settings FROM faceprint_collections WHERE name = $1', [this.collectionName])).rows[0];
    if (!row) throw collectionNotFound(this.collectionName);
    return row;
  }

  // ---- the collection's binding and calibration

  async binding(): Promise<ModelBinding | null> {
    const b = (await this.row(this.pool)).binding;
    this.useVectors(b);
    return b;
  }

  async bind(binding: ModelBinding): Promise<void> {
    const bound = await this.write(async (c) => {
      const row = await this.row(c);
      const current = row.binding;
      if (!current) {
        // a collection made with its own detector sizes records those
        const recorded = { ...binding, ...(row.settings.detSizes && { detSizes: row.settings.detSizes }) };
        await c.query('UPDATE faceprint_collections SET binding = $1 WHERE name = $2', [recorded, this.collectionName]);
      } else if (current.recognizerSha256 !== binding.recognizerSha256 || current.dim !== binding.dim) {
        throw bindingMismatch(this.where(), current, binding);
      }
      if (this.shared.pgvector && this.shared.vectorDim === null && binding.dim <= 4000) this.shared.vectorDim = await createVectorIndex(c, binding.dim);
      return current ?? binding;
    });
    this.useVectors(bound);
  }

  /** Searches in SQL when this collection's embeddings have the vector column's size. */
  private useVectors(binding: ModelBinding | null): void {
    this.vectorSearch = !!binding && this.shared.pgvector && this.shared.vectorDim === binding.dim;
    this.searchTemplates = this.vectorSearch ? (query, k, where) => this.searchInSql(query, k, where) : undefined;
  }

  async calibration(): Promise<Calibration | null> {
    return (await this.row(this.pool)).calibration;
  }

  async setCalibration(calibration: Calibration): Promise<void> {
    await this.write(async (c) => {
      await this.row(c);
      await c.query('UPDATE faceprint_collections SET calibration = $1 WHERE name = $2', [calibration, this.collectionName]);
    });
  }

  async serviceRecord(key: string): Promise<unknown> {
    const r = await this.query<{ value: unknown }>('SELECT value FROM faceprint_meta WHERE key = $1', [`service:${key}`]);
    return r.rows[0]?.value ?? null;
  }

  async setServiceRecord(key: string, value: unknown): Promise<void> {
    await this.write((c) => setMeta(c, `service:${key}`, value));
  }

  // ---- subjects

  async createSubject(name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    await this.write(async (c) => {
      await this.row(c);
      if (await this.nameTaken(c, name)) throw subjectNameTaken(name);
      await this.insertSubject(c, id, name, metadata);
    });
    return (await this.subject(id))!;
  }

  async subject(ref: string): Promise<Subject | null> {
    // by id first, else by name
    const r = await this.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE collection = $3 AND (id = $2 OR name = $1) ORDER BY (id = $2) DESC NULLS LAST LIMIT 1', [ref, isUuid(ref) ? ref : null, this.collectionName]);
    return r.rows[0] ? subjectOf(r.rows[0]) : null;
  }

  async listSubjects(page: Page = {}): Promise<SubjectPage> {
    const limit = pageLimit(page.limit);
    const c = this.collectionName;
    const total = Number((await this.query<{ n: string }>('SELECT count(*) AS n FROM faceprint_subjects WHERE collection = $1', [c])).rows[0].n);
    let rows: SubjectRow[];
    if (page.cursor !== undefined) {
      const [name, id] = decodeCursor(page.cursor, 2);
      // the same order as SQLite's: names compared by their bytes
      rows = (await this.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE collection = $1 AND (name COLLATE "C", id::text) > ($2 COLLATE "C", $3) ORDER BY name COLLATE "C", id::text LIMIT $4', [c, name, id, limit + 1])).rows;
    } else {
      rows = (await this.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE collection = $1 ORDER BY name COLLATE "C", id::text LIMIT $2 OFFSET $3', [c, limit + 1, Math.max(page.offset ?? 0, 0)])).rows;
    }
    const subjects = rows.slice(0, limit).map(subjectOf);
    const last = subjects[subjects.length - 1];
    return { total, subjects, nextCursor: rows.length > limit && last ? encodeCursor([last.name, last.id]) : null };
  }

  async updateSubject(id: string, patch: { name?: string; metadata?: Record<string, unknown> }): Promise<Subject> {
    patch = { ...patch, ...(patch.name !== undefined && { name: subjectName(patch.name) }) };
    if (patch.metadata !== undefined) checkMetadata(patch.metadata);
    await this.write(async (c) => {
      const row = await this.subjectRow(c, id);
      if (patch.name !== undefined && patch.name !== row.name && (await this.nameTaken(c, patch.name))) throw subjectNameTaken(patch.name);
      await c.query('UPDATE faceprint_subjects SET name = $1, metadata = $2, updated_at = now() WHERE id = $3', [patch.name ?? row.name, patch.metadata ?? row.metadata, id]);
      await this.logChange(c, 'template', id);
    });
    return (await this.subject(id))!;
  }

  async deleteSubject(id: string): Promise<number> {
    return this.write(async (c) => {
      await this.subjectRow(c, id);
      const faces = (await c.query('DELETE FROM faceprint_faces WHERE subject_id = $1', [id])).rowCount ?? 0;
      await c.query('DELETE FROM faceprint_subjects WHERE id = $1', [id]);
      await this.logChange(c, 'template', id);
      return faces;
    });
  }

  async mergeSubjects(intoId: string, fromId: string): Promise<Subject> {
    await this.write(async (c) => {
      for (const id of [intoId, fromId]) await this.subjectRow(c, id);
      await c.query('DELETE FROM faceprint_faces WHERE subject_id = $1 AND image_sha256 IN (SELECT image_sha256 FROM faceprint_faces WHERE subject_id = $2)', [fromId, intoId]);
      await c.query('UPDATE faceprint_faces SET subject_id = $1 WHERE subject_id = $2', [intoId, fromId]);
      await c.query('DELETE FROM faceprint_subjects WHERE id = $1', [fromId]);
      await this.logChange(c, 'template', fromId);
      await this.refreshTemplate(c, intoId);
    });
    return (await this.subject(intoId))!;
  }

  async createSubjectWithFaces(name: string, metadata: Record<string, unknown>, faces: NewFace[]): Promise<{ subject: Subject; added: StoredFace[]; duplicates: NewFace[] }> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    const result = await this.write(async (c) => {
      await this.row(c);
      if (await this.nameTaken(c, name)) throw subjectNameTaken(name);
      await this.insertSubject(c, id, name, metadata);
      return this.insertFaces(c, id, faces);
    });
    return { subject: (await this.subject(id))!, ...result };
  }

  async addFaces(subjectId: string | null, faces: NewFace[]): Promise<{ added: StoredFace[]; duplicates: NewFace[] }> {
    return this.write(async (c) => {
      if (subjectId !== null) await this.subjectRow(c, subjectId);
      else await this.row(c);
      return this.insertFaces(c, subjectId, faces);
    });
  }

  /** Inside a write: the faces inserted (an image already enrolled for the subject skipped), its template refreshed. */
  private async insertFaces(c: pg.PoolClient, subjectId: string | null, faces: NewFace[]): Promise<{ added: StoredFace[]; duplicates: NewFace[] }> {
    const added: StoredFace[] = [];
    const duplicates: NewFace[] = [];
    for (const f of faces) {
      const id = crypto.randomUUID();
      const r = await c.query<{ created_at: Date }>(
        `INSERT INTO faceprint_faces (id, collection, subject_id, embedding, image_sha256, bbox, score, quality, source, thumbnail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now()) ON CONFLICT DO NOTHING RETURNING created_at`,
        [id, this.collectionName, subjectId, blobOf(f.embedding), f.imageSha256, JSON.stringify(f.bbox), f.score, f.quality, f.source ?? null, f.thumbnail ? Buffer.from(f.thumbnail) : null],
      );
      if (!r.rowCount) {
        duplicates.push(f);
        continue;
      }
      added.push({ ...f, id, subjectId, clusterId: null, createdAt: r.rows[0].created_at.toISOString() });
      if (subjectId === null) await this.logChange(c, 'face', id);
    }
    if (subjectId !== null && added.length) await this.refreshTemplate(c, subjectId);
    return { added, duplicates };
  }

  async face(id: string): Promise<StoredFace | null> {
    if (!isUuid(id)) return null;
    const row = (await this.query<FaceRow>('SELECT * FROM faceprint_faces WHERE id = $1 AND collection = $2', [id, this.collectionName])).rows[0];
    return row ? faceOf(row) : null;
  }

  async faceThumbnail(faceId: string): Promise<Uint8Array | null> {
    if (!isUuid(faceId)) return null;
    const t = (await this.query<{ thumbnail: Buffer | null }>('SELECT thumbnail FROM faceprint_faces WHERE id = $1 AND collection = $2', [faceId, this.collectionName])).rows[0]?.thumbnail;
    return t ? new Uint8Array(t) : null;
  }

  async facesOf(subjectId: string): Promise<StoredFace[]> {
    if (!isUuid(subjectId)) return [];
    return (await this.query<FaceRow>('SELECT * FROM faceprint_faces WHERE subject_id = $1 AND collection = $2 ORDER BY created_at, id', [subjectId, this.collectionName])).rows.map(faceOf);
  }

  async deleteFace(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return this.write(async (c) => {
      const row = (await c.query<{ subject_id: string | null }>('DELETE FROM faceprint_faces WHERE id = $1 AND collection = $2 RETURNING subject_id', [id, this.collectionName])).rows[0];
      if (!row) return false;
      if (row.subject_id) await this.refreshTemplate(c, row.subject_id);
      else await this.logChange(c, 'face', id);
      return true;
    });
  }

  async setClusters(assignments: { faceId: string; clusterId: string }[]): Promise<void> {
    await this.write(async (c) => {
      for (const a of assignments) {
        if ((await c.query('UPDATE faceprint_faces SET cluster_id = $1 WHERE id = $2 AND subject_id IS NULL AND collection = $3', [a.clusterId, a.faceId, this.collectionName])).rowCount) await this.logChange(c, 'face', a.faceId);
      }
    });
  }

  async unassignedFaces(): Promise<StoredFace[]> {
    return (await this.query<FaceRow>('SELECT * FROM faceprint_faces WHERE subject_id IS NULL AND collection = $1 ORDER BY created_at, id', [this.collectionName])).rows.map(faceOf);
  }

  async promoteCluster(clusterId: string, name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    await this.write(async (c) => {
      const faces = (await c.query<{ id: string; image_sha256: string }>('SELECT id, image_sha256 FROM faceprint_faces WHERE cluster_id = $1 AND subject_id IS NULL AND collection = $2 ORDER BY created_at, id', [clusterId, this.collectionName])).rows;
      if (faces.length === 0) throw new FaceprintError('CLUSTER_NOT_FOUND', `no unassigned faces in cluster ${clusterId}`);
      if (await this.nameTaken(c, name)) throw subjectNameTaken(name);
      await this.insertSubject(c, id, name, metadata);
      const seen = new Set<string>();
      for (const f of faces) {
        if (seen.has(f.image_sha256)) continue;
        seen.add(f.image_sha256);
        await c.query('UPDATE faceprint_faces SET subject_id = $1, cluster_id = NULL WHERE id = $2', [id, f.id]);
        await this.logChange(c, 'face', f.id);
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
    const vec = this.vectorSearch;
    const col = this.collectionName;
    return this.write(async (c) => {
      await this.row(c);
      try {
        await c.query(
          `INSERT INTO faceprint_subjects (id, collection, name, metadata, template, face_count, created_at, updated_at${vec ? ', template_vec' : ''})
           SELECT id, $6, name, metadata, template, face_count, now(), now()${vec ? ', vec::halfvec' : ''}
           FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::bytea[], $5::int[]${vec ? ', $7::text[]' : ''})
             AS t(id, name, metadata, template, face_count${vec ? ', vec' : ''})`,
          [
            subjects.map((s) => s.id),
            subjects.map((s) => s.it.name),
            subjects.map((s) => JSON.stringify(s.it.metadata ?? {})),
            subjects.map((s) => (s.template ? blobOf(s.template) : null)),
            subjects.map((s) => s.it.faces.length),
            col,
            ...(vec ? [subjects.map((s) => (s.template ? vectorLiteral(s.template) : null))] : []),
          ],
        );
      } catch (e) {
        if ((e as { code?: string }).code === '23505') throw new FaceprintError('SUBJECT_EXISTS', `import: a subject name already exists (${(e as Error).message})`);
        throw e;
      }
      await c.query(
        `INSERT INTO faceprint_faces (id, collection, subject_id, embedding, image_sha256, bbox, score, quality, source, created_at)
         SELECT id, $9, subject_id, embedding, image_sha256, bbox, score, quality, source, now()
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
          col,
        ],
      );
      await c.query(`INSERT INTO faceprint_changes (kind, ref, collection) SELECT 'template', unnest($1::text[]), $2`, [subjects.map((s) => s.id), col]);
      return items.length;
    });
  }

  /** pgvector only: see searchTemplatesInSql. */
  private async searchInSql(query: Float32Array, k: number, where?: Record<string, unknown>): Promise<TemplateHit[]> {
    const c = await this.client();
    try {
      return await searchTemplatesInSql(c, this.location, this.collectionName, query, k, where);
    } finally {
      c.release();
    }
  }

  async changesSince(seq: number): Promise<{ seq: number; changes: IndexChange[] }> {
    if (this.isClosed()) throw new FaceprintError('CLOSED', `gallery ${this.location} is closed`);
    return this.feed.changesSince(seq);
  }

  async close(): Promise<void> {
    this.feed.close();
    if (!this.owner || this.closed) return;
    this.closed = true;
    await this.shared.listener.close();
    await this.pool.end();
  }

  // ---- inside transactions

  private where(): string {
    return this.collectionName === DEFAULT_COLLECTION ? this.location : `${this.location} (collection ${this.collectionName})`;
  }

  private async nameTaken(c: Queryable, name: string): Promise<boolean> {
    return !!(await c.query('SELECT 1 FROM faceprint_subjects WHERE name = $1 AND collection = $2', [name, this.collectionName])).rowCount;
  }

  private async subjectRow(c: Queryable, id: string): Promise<SubjectRow> {
    const row = isUuid(id) ? (await c.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE id = $1 AND collection = $2', [id, this.collectionName])).rows[0] : undefined;
    if (!row) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${id}`);
    return row;
  }

  private async insertSubject(c: Queryable, id: string, name: string, metadata: Record<string, unknown>): Promise<void> {
    await c.query('INSERT INTO faceprint_subjects (id, collection, name, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, now(), now())', [id, this.collectionName, name, metadata]);
  }

  private logChange(c: Queryable, kind: 'template' | 'face', ref: string): Promise<void> {
    return logChange(c, this.collectionName, kind, ref);
  }

  private async refreshTemplate(c: Queryable, subjectId: string): Promise<void> {
    const embeddings = (await c.query<{ embedding: Buffer }>('SELECT embedding FROM faceprint_faces WHERE subject_id = $1', [subjectId])).rows.map((r) => floatsOf(r.embedding));
    const template = templateOf(embeddings);
    const vec = this.vectorSearch;
    await c.query(
      `UPDATE faceprint_subjects SET template = $1, face_count = $2, updated_at = now()${vec ? ', template_vec = $4' : ''} WHERE id = $3`,
      [template ? blobOf(template) : null, embeddings.length, subjectId, ...(vec ? [template ? vectorLiteral(template) : null] : [])],
    );
    await this.logChange(c, 'template', subjectId);
  }

  private isClosed(): boolean {
    return this.closed || (this.pool as unknown as { ending?: boolean }).ending === true;
  }

  private async queryIn<R extends pg.QueryResultRow>(c: Queryable, text: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.isClosed()) throw new FaceprintError('CLOSED', `gallery ${this.location} is closed`);
    try {
      return await c.query<R>(text, params);
    } catch (e) {
      throw mapError(e, this.location);
    }
  }

  private query<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.queryIn<R>(this.pool, text, params);
  }

  private async client(): Promise<pg.PoolClient> {
    if (this.isClosed()) throw new FaceprintError('CLOSED', `gallery ${this.location} is closed`);
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
