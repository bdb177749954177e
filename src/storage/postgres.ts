import pg from 'pg';
import { FaceprintError } from '../core/errors.js';
import { templateOf } from '../core/gallery/template.js';
import type {
  Calibration, GalleryStore, IndexChange, ModelBinding, NewFace, Page, StoredFace, Subject, TemplateHit,
} from '../core/gallery/types.js';
import {
  bindingMismatch, blobOf, checkName, faceChange, faceOf, floatsOf, subjectNameTaken, subjectOf, templateChange, type FaceRow, type SubjectRow,
} from './common.js';

/** Advisory lock keys: schema creation, and the single-writer lock that makes change seqs commit in order. */
const SCHEMA_LOCK = 0x6661_6365;
const WRITE_LOCK = 0x6661_6366;
const CHANNEL = 'faceprint_changes';



type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * PostgreSQL gallery, shared by faceprint processes on many machines. With pgvector, subject templates are also
 * stored as halfvec with an HNSW index and identify runs in SQL (iterative index scans honour metadata filters),
 * its candidates reranked in float32. Without pgvector, each process keeps the exact in-memory index, caught up
 * from a change sequence: before a search one indexed max(seq) read when LISTEN/NOTIFY has said nothing, the
 * changed rows when it has or when that read moved. Writers take one advisory lock so change sequence numbers commit in order.
 */
export class PostgresGalleryStore implements GalleryStore {
  readonly location: string;
  /** True when the server has pgvector: identify runs in SQL (see searchTemplates). */
  readonly pgvector: boolean;
  private readonly pool: pg.Pool;
  private listener: pg.Client | null = null;
  private dirty = true;
  private dim = 0;
  private closed = false;

  /** Present only with pgvector (the Gallery then searches in SQL instead of its in-memory index). */
  readonly searchTemplates?: (query: Float32Array, k: number, where?: Record<string, unknown>) => Promise<TemplateHit[]>;

  private constructor(location: string, pool: pg.Pool, pgvector: boolean) {
    this.location = location;
    this.pool = pool;
    this.pgvector = pgvector;
    if (pgvector) this.searchTemplates = (query, k, where) => this.searchInSql(query, k, where);
  }

  static async open(url: string, options: { pgvector?: boolean; lockTimeoutMs?: number } = {}): Promise<PostgresGalleryStore> {
    const location = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
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
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
      const store = new PostgresGalleryStore(location, pool, pgvector);
      await store.listen(url);
      return store;
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw mapError(e, location);
    }
  }

  /** A dedicated connection LISTENing for other processes' commits; without it every search asks for changes. */
  private async listen(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    client.on('notification', () => {
      this.dirty = true;
    });
    client.on('error', () => {
      this.listener = null;
      this.dirty = true;
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.listener = client;
    } catch {
      await client.end().catch(() => undefined);
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
        await c.query(`ALTER TABLE faceprint_subjects ADD COLUMN IF NOT EXISTS template_vec halfvec(${binding.dim})`);
        await c.query('CREATE INDEX IF NOT EXISTS faceprint_subjects_template_hnsw ON faceprint_subjects USING hnsw (template_vec halfvec_cosine_ops)');
      }
    });
    this.dim = binding.dim;
  }

  async calibration(): Promise<Calibration | null> {
    return this.meta<Calibration>('calibration');
  }

  async setCalibration(calibration: Calibration): Promise<void> {
    await this.write((c) => setMeta(c, 'calibration', calibration));
  }

  async createSubject(name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    checkName(name);
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
    if (patch.name !== undefined) checkName(patch.name);
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

  async addFaces(subjectId: string | null, faces: NewFace[]): Promise<{ added: StoredFace[]; duplicates: NewFace[] }> {
    return this.write(async (c) => {
      if (subjectId !== null && !(await c.query('SELECT 1 FROM faceprint_subjects WHERE id = $1', [subjectId])).rowCount) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${subjectId}`);
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
    });
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
    checkName(name);
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
    for (const it of items) checkName(it.name);
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

  /**
   * pgvector only: the top-k subject templates by cosine, in SQL (HNSW on halfvec, iterative scan so that a
   * metadata filter still yields k rows), over-fetched and reranked exactly on the float32 templates.
   */
  private async searchInSql(query: Float32Array, k: number, where?: Record<string, unknown>): Promise<TemplateHit[]> {
    const fetch = Math.max(4 * k, 40);
    const c = await this.client();
    try {
      await c.query('BEGIN');
      await c.query(`SET LOCAL hnsw.ef_search = ${Math.max(fetch, 100)}`);
      await c.query(`SET LOCAL hnsw.iterative_scan = relaxed_order`);
      const rows = (
        await c.query<{ id: string; name: string; metadata: Record<string, unknown>; template: Buffer }>(
          `SELECT id, name, metadata, template FROM faceprint_subjects
           WHERE template_vec IS NOT NULL ${where ? 'AND metadata @> $3' : ''}
           ORDER BY template_vec <=> $1 LIMIT $2`,
          [vectorLiteral(query), fetch, ...(where ? [where] : [])],
        )
      ).rows;
      await c.query('COMMIT');
      let qn = 0;
      for (let i = 0; i < query.length; i++) qn += query[i] * query[i];
      qn = Math.sqrt(qn) || 1;
      return rows
        .map((r) => {
          const t = floatsOf(r.template);
          let s = 0;
          for (let i = 0; i < t.length; i++) s += t[i] * query[i];
          return { id: r.id, name: r.name, metadata: r.metadata, score: s / qn };
        })
        .sort((a, b) => b.score - a.score)
        .slice(0, k);
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw mapError(e, this.location);
    } finally {
      c.release();
    }
  }

  async changesSince(seq: number): Promise<{ seq: number; changes: IndexChange[] }> {
    // No notification since we last looked: one indexed max(seq) read confirms nothing committed (a NOTIFY can
    // arrive after another process's commit is already visible, so it alone would leave a short stale window).
    if (seq > 0 && !this.dirty && this.listener) {
      const head = Number((await this.query<{ s: string }>('SELECT coalesce(max(seq), 0) AS s FROM faceprint_changes')).rows[0].s);
      if (head === seq) return { seq, changes: [] };
    }
    this.dirty = false;
    const c = await this.client();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const head = Number((await c.query<{ s: string }>('SELECT coalesce(max(seq), 0) AS s FROM faceprint_changes')).rows[0].s);
      let changes: IndexChange[];
      // with pgvector the templates are searched in SQL: the process keeps only the unassigned faces
      const templatesHere = !this.pgvector;
      if (seq <= 0) {
        const templates = templatesHere ? (await c.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE template IS NOT NULL')).rows.map(templateChange) : [];
        const faces = (await c.query<FaceRow>('SELECT * FROM faceprint_faces WHERE subject_id IS NULL')).rows.map(faceChange);
        changes = [...templates, ...faces];
      } else {
        const changed = (await c.query<{ kind: string; ref: string }>('SELECT kind, ref FROM faceprint_changes WHERE seq > $1 GROUP BY kind, ref ORDER BY max(seq)', [seq])).rows;
        const templateIds = changed.filter((x) => x.kind === 'template' && templatesHere).map((x) => x.ref);
        const faceIds = changed.filter((x) => x.kind === 'face').map((x) => x.ref);
        const subjects = new Map((await c.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE id = ANY($1::uuid[])', [templateIds])).rows.map((r) => [r.id, r]));
        const faces = new Map((await c.query<FaceRow>('SELECT * FROM faceprint_faces WHERE id = ANY($1::uuid[])', [faceIds])).rows.map((r) => [r.id, r]));
        changes = [
          ...templateIds.map((id): IndexChange => (subjects.has(id) ? templateChange(subjects.get(id)!) : { kind: 'template', id, name: '', metadata: {}, embedding: null })),
          ...faceIds.map((id): IndexChange => (faces.has(id) ? faceChange(faces.get(id)!) : { kind: 'face', id, clusterId: null, embedding: null })),
        ];
      }
      await c.query('COMMIT');
      return { seq: head, changes };
    } catch (e) {
      this.dirty = true;
      await c.query('ROLLBACK').catch(() => undefined);
      throw mapError(e, this.location);
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener?.end().catch(() => undefined);
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
      this.dirty = true;
      return result;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw mapError(e, this.location);
    } finally {
      c.release();
    }
  }
}

async function logChange(c: Queryable, kind: 'template' | 'face', ref: string): Promise<void> {
  await c.query('INSERT INTO faceprint_changes (kind, ref) VALUES ($1, $2)', [kind, ref]);
}

async function setMeta(c: Queryable, key: string, value: unknown): Promise<void> {
  await c.query('INSERT INTO faceprint_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, JSON.stringify(value)]);
}

function vectorLiteral(v: Float32Array): string {
  return `[${Array.from(v).join(',')}]`;
}

function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

function mapError(e: unknown, location: string): unknown {
  if (e instanceof FaceprintError) return e;
  const code = (e as { code?: string }).code ?? '';
  if (code === '55P03' || code === '40P01' || code === '40001') return new FaceprintError('STORE_BUSY', `gallery ${location} is busy (${code}); retry`, { cause: e });
  if (code === '23505') return new FaceprintError('SUBJECT_EXISTS', `gallery ${location}: ${(e as Error).message}`, { cause: e });
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '28P01' || code === '3D000' || code === '57P01') {
    return new FaceprintError('STORE_UNAVAILABLE', `cannot reach gallery ${location}: ${(e as Error).message}`, { cause: e });
  }
  if (/^[0-9A-Z]{5}$/.test(code)) return new FaceprintError('STORE_UNAVAILABLE', `gallery ${location}: ${(e as Error).message} (${code})`, { cause: e });
  return e;
}
