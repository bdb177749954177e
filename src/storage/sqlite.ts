import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { FaceprintError } from '../core/errors.js';
import { templateOf } from '../core/gallery/template.js';
import type {
  Calibration, GalleryStore, IndexChange, ModelBinding, NewFace, Page, StoredFace, Subject,
} from '../core/gallery/types.js';
import {
  bindingMismatch, blobOf, GALLERY_SCHEMA_VERSION, checkMetadata, subjectName, faceChange, faceOf, floatsOf, subjectNameTaken, subjectOf, templateChange, type FaceRow, type SubjectRow,
} from './common.js';

/** Steps from each schema version to the next, as in PostgreSQL (postgres/schema.ts says why each). */
const MIGRATIONS: Record<number, string> = {
  2: 'CREATE INDEX IF NOT EXISTS faces_unassigned ON faces(created_at, id) WHERE subject_id IS NULL',
};



/**
 * The embedded gallery: one SQLite file, WAL, synchronous=FULL (an acknowledged enrolment survives a crash),
 * secure_delete (a deleted embedding is overwritten, not left in free pages), one IMMEDIATE transaction per write.
 * Several processes may open the same file; writers wait up to `busyTimeoutMs` and then fail with STORE_BUSY.
 */
/**
 * Brings the schema up to this release's (a new store starts at 1 and takes every step), recording the version,
 * in one transaction; a newer schema (a later faceprint's) is refused.
 */
function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const recorded = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get() as string | undefined;
    let version = recorded === undefined ? 1 : Number(recorded);
    if (!(version >= 1) || version > GALLERY_SCHEMA_VERSION) throw new FaceprintError('STORE_INVALID', `${path} has gallery schema ${recorded}; this faceprint reads up to ${GALLERY_SCHEMA_VERSION}`);
    for (; version < GALLERY_SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version + 1]);
    db.prepare(`INSERT INTO meta VALUES ('schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(String(version));
  }).immediate();
}

export class SqliteGalleryStore implements GalleryStore {
  readonly location: string;
  readonly kind = 'sqlite';
  private readonly db: Database.Database;

  private constructor(path: string, db: Database.Database) {
    this.location = path;
    this.db = db;
  }

  static open(path: string, options: { busyTimeoutMs?: number } = {}): SqliteGalleryStore {
    let db: Database.Database;
    try {
      // biometric templates: a new gallery file is the owner's alone (0600); SQLite gives its -wal and -shm files
      // the database file's mode
      if (path !== ':memory:' && !existsSync(path)) closeSync(openSync(path, 'a', 0o600));
      db = new Database(path, { timeout: options.busyTimeoutMs ?? 10_000 });
    } catch (e) {
      throw new FaceprintError('STORE_UNAVAILABLE', `cannot open gallery ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('secure_delete = ON');
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS subjects (
          id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, metadata TEXT NOT NULL DEFAULT '{}',
          template BLOB, face_count INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS faces (
          id TEXT PRIMARY KEY, subject_id TEXT REFERENCES subjects(id) ON DELETE CASCADE, cluster_id TEXT,
          embedding BLOB NOT NULL, image_sha256 TEXT NOT NULL, bbox TEXT NOT NULL, score REAL NOT NULL,
          quality REAL NOT NULL, source TEXT, created_at TEXT NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS faces_subject_image ON faces(subject_id, image_sha256) WHERE subject_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS faces_subject ON faces(subject_id);
        CREATE INDEX IF NOT EXISTS faces_cluster ON faces(cluster_id);
        CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, ref TEXT NOT NULL);
      `);
      migrate(db, path);
    } catch (e) {
      db.close();
      throw mapError(e, path);
    }
    return new SqliteGalleryStore(path, db);
  }

  async binding(): Promise<ModelBinding | null> {
    return this.meta<ModelBinding>('binding');
  }

  async bind(binding: ModelBinding): Promise<void> {
    this.write(() => {
      const current = this.meta<ModelBinding>('binding');
      if (!current) this.setMeta('binding', binding);
      else if (current.recognizerSha256 !== binding.recognizerSha256 || current.dim !== binding.dim) throw bindingMismatch(this.location, current, binding);
    });
  }

  async calibration(): Promise<Calibration | null> {
    return this.meta<Calibration>('calibration');
  }

  async setCalibration(calibration: Calibration): Promise<void> {
    this.write(() => this.setMeta('calibration', calibration));
  }

  async serviceRecord(key: string): Promise<unknown> {
    return this.meta(`service:${key}`);
  }

  async setServiceRecord(key: string, value: unknown): Promise<void> {
    this.write(() => this.setMeta(`service:${key}`, value));
  }

  async createSubject(name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    this.write(() => {
      if (this.db.prepare('SELECT 1 FROM subjects WHERE name = ?').get(name)) throw subjectNameTaken(name);
      this.db.prepare('INSERT INTO subjects (id, name, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(id, name, JSON.stringify(metadata), now, now);
    });
    return (await this.subject(id))!;
  }

  async subject(ref: string): Promise<Subject | null> {
    const row = this.read(
      () => (this.db.prepare('SELECT * FROM subjects WHERE id = ?').get(ref) ?? this.db.prepare('SELECT * FROM subjects WHERE name = ?').get(ref)) as SubjectRow | undefined,
    );
    return row ? subjectOf(row) : null;
  }

  async listSubjects(page: Page = {}): Promise<{ total: number; subjects: Subject[] }> {
    const limit = Math.min(Math.max(page.limit ?? 100, 1), 1000);
    const offset = Math.max(page.offset ?? 0, 0);
    return this.read(() => ({
      total: this.db.prepare('SELECT count(*) FROM subjects').pluck().get() as number,
      subjects: (this.db.prepare('SELECT * FROM subjects ORDER BY name, id LIMIT ? OFFSET ?').all(limit, offset) as SubjectRow[]).map(subjectOf),
    }));
  }

  async updateSubject(id: string, patch: { name?: string; metadata?: Record<string, unknown> }): Promise<Subject> {
    patch = { ...patch, ...(patch.name !== undefined && { name: subjectName(patch.name) }) };
    if (patch.metadata !== undefined) checkMetadata(patch.metadata);
    this.write(() => {
      const row = this.db.prepare('SELECT * FROM subjects WHERE id = ?').get(id) as SubjectRow | undefined;
      if (!row) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${id}`);
      if (patch.name !== undefined && patch.name !== row.name && this.db.prepare('SELECT 1 FROM subjects WHERE name = ?').get(patch.name)) throw subjectNameTaken(patch.name);
      this.db.prepare('UPDATE subjects SET name = ?, metadata = ?, updated_at = ? WHERE id = ?').run(
        patch.name ?? row.name,
        patch.metadata ? JSON.stringify(patch.metadata) : row.metadata,
        new Date().toISOString(),
        id,
      );
      this.logChange('template', id);
    });
    return (await this.subject(id))!;
  }

  async deleteSubject(id: string): Promise<number> {
    const deleted = this.write(() => {
      const faces = this.db.prepare('DELETE FROM faces WHERE subject_id = ?').run(id).changes;
      if (this.db.prepare('DELETE FROM subjects WHERE id = ?').run(id).changes === 0) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${id}`);
      this.logChange('template', id);
      return faces;
    });
    this.scrubWal();
    return deleted;
  }

  async mergeSubjects(intoId: string, fromId: string): Promise<Subject> {
    this.write(() => {
      for (const id of [intoId, fromId]) if (!this.db.prepare('SELECT 1 FROM subjects WHERE id = ?').get(id)) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${id}`);
      // the same image enrolled for both: keep the target's face
      this.db.prepare('DELETE FROM faces WHERE subject_id = ? AND image_sha256 IN (SELECT image_sha256 FROM faces WHERE subject_id = ?)').run(fromId, intoId);
      this.db.prepare('UPDATE faces SET subject_id = ? WHERE subject_id = ?').run(intoId, fromId);
      this.db.prepare('DELETE FROM subjects WHERE id = ?').run(fromId);
      this.logChange('template', fromId);
      this.refreshTemplate(intoId);
    });
    return (await this.subject(intoId))!;
  }

  async createSubjectWithFaces(name: string, metadata: Record<string, unknown>, faces: NewFace[]): Promise<{ subject: Subject; added: StoredFace[]; duplicates: NewFace[] }> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    const result = this.write(() => {
      if (this.db.prepare('SELECT 1 FROM subjects WHERE name = ?').get(name)) throw subjectNameTaken(name);
      this.db.prepare('INSERT INTO subjects (id, name, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(id, name, JSON.stringify(metadata), now, now);
      return this.insertFaces(id, faces, now);
    });
    return { subject: (await this.subject(id))!, ...result };
  }

  async addFaces(subjectId: string | null, faces: NewFace[]): Promise<{ added: StoredFace[]; duplicates: NewFace[] }> {
    const now = new Date().toISOString();
    return this.write(() => {
      if (subjectId !== null && !this.db.prepare('SELECT 1 FROM subjects WHERE id = ?').get(subjectId)) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${subjectId}`);
      return this.insertFaces(subjectId, faces, now);
    });
  }

  /** Inside a write: the faces inserted (an image already enrolled for the subject skipped), its template refreshed. */
  private insertFaces(subjectId: string | null, faces: NewFace[], now: string): { added: StoredFace[]; duplicates: NewFace[] } {
    {
      const insert = this.db.prepare(
        `INSERT INTO faces (id, subject_id, cluster_id, embedding, image_sha256, bbox, score, quality, source, created_at)
         VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      );
      const added: StoredFace[] = [];
      const duplicates: NewFace[] = [];
      for (const f of faces) {
        const id = crypto.randomUUID();
        const r = insert.run(id, subjectId, blobOf(f.embedding), f.imageSha256, JSON.stringify(f.bbox), f.score, f.quality, f.source ?? null, now);
        if (r.changes === 0) {
          duplicates.push(f);
          continue;
        }
        added.push({ ...f, id, subjectId, clusterId: null, createdAt: now });
        if (subjectId === null) this.logChange('face', id);
      }
      if (subjectId !== null && added.length) this.refreshTemplate(subjectId);
      return { added, duplicates };
    }
  }

  async face(id: string): Promise<StoredFace | null> {
    const row = this.read(() => this.db.prepare('SELECT * FROM faces WHERE id = ?').get(id) as FaceRow | undefined);
    return row ? faceOf(row) : null;
  }

  async facesOf(subjectId: string): Promise<StoredFace[]> {
    return this.read(() => (this.db.prepare('SELECT * FROM faces WHERE subject_id = ? ORDER BY created_at, id').all(subjectId) as FaceRow[]).map(faceOf));
  }

  async deleteFace(id: string): Promise<boolean> {
    const found = this.write(() => {
      const row = this.db.prepare('SELECT subject_id FROM faces WHERE id = ?').get(id) as { subject_id: string | null } | undefined;
      if (!row) return false;
      this.db.prepare('DELETE FROM faces WHERE id = ?').run(id);
      if (row.subject_id) this.refreshTemplate(row.subject_id);
      else this.logChange('face', id);
      return true;
    });
    if (found) this.scrubWal();
    return found;
  }

  async setClusters(assignments: { faceId: string; clusterId: string }[]): Promise<void> {
    this.write(() => {
      const update = this.db.prepare('UPDATE faces SET cluster_id = ? WHERE id = ? AND subject_id IS NULL');
      for (const a of assignments) if (update.run(a.clusterId, a.faceId).changes) this.logChange('face', a.faceId);
    });
  }

  async unassignedFaces(): Promise<StoredFace[]> {
    return this.read(() => (this.db.prepare('SELECT * FROM faces WHERE subject_id IS NULL ORDER BY created_at, id').all() as FaceRow[]).map(faceOf));
  }

  async promoteCluster(clusterId: string, name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    this.write(() => {
      const faces = this.db.prepare('SELECT id FROM faces WHERE cluster_id = ? AND subject_id IS NULL').pluck().all(clusterId) as string[];
      if (faces.length === 0) throw new FaceprintError('CLUSTER_NOT_FOUND', `no unassigned faces in cluster ${clusterId}`);
      if (this.db.prepare('SELECT 1 FROM subjects WHERE name = ?').get(name)) throw subjectNameTaken(name);
      this.db.prepare('INSERT INTO subjects (id, name, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(id, name, JSON.stringify(metadata), now, now);
      // one image may hold two faces of a cluster: the subject keeps the first (enrolment allows one per image)
      const seen = new Set<string>();
      for (const faceId of faces) {
        const sha = this.db.prepare('SELECT image_sha256 FROM faces WHERE id = ?').pluck().get(faceId) as string;
        if (seen.has(sha)) continue;
        seen.add(sha);
        this.db.prepare('UPDATE faces SET subject_id = ?, cluster_id = NULL WHERE id = ?').run(id, faceId);
        this.logChange('face', faceId);
      }
      this.refreshTemplate(id);
    });
    return (await this.subject(id))!;
  }

  async importSubjects(items: { name: string; metadata?: Record<string, unknown>; faces: NewFace[] }[]): Promise<number> {
    items = items.map((it) => ({ ...it, name: subjectName(it.name), metadata: checkMetadata(it.metadata ?? {}) }));
    const now = new Date().toISOString();
    return this.write(() => {
      const subject = this.db.prepare('INSERT INTO subjects (id, name, metadata, template, face_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
      const face = this.db.prepare(
        `INSERT INTO faces (id, subject_id, cluster_id, embedding, image_sha256, bbox, score, quality, source, created_at)
         VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const taken = this.db.prepare('SELECT 1 FROM subjects WHERE name = ?');
      for (const it of items) {
        if (taken.get(it.name)) throw subjectNameTaken(it.name);
        const id = crypto.randomUUID();
        const template = templateOf(it.faces.map((f) => f.embedding));
        subject.run(id, it.name, JSON.stringify(it.metadata ?? {}), template ? blobOf(template) : null, it.faces.length, now, now);
        for (const f of it.faces) face.run(crypto.randomUUID(), id, blobOf(f.embedding), f.imageSha256, JSON.stringify(f.bbox), f.score, f.quality, f.source ?? null, now);
        this.logChange('template', id);
      }
      return items.length;
    });
  }

  async snapshot(apply: (change: IndexChange) => void): Promise<number> {
    // one read transaction: the rows and the head sequence number agree; rows are streamed, not collected
    return this.read(() => {
      const head = (this.db.prepare('SELECT coalesce(max(seq), 0) FROM changes').pluck().get() as number) || 0;
      for (const row of this.db.prepare('SELECT * FROM subjects WHERE template IS NOT NULL').iterate() as IterableIterator<SubjectRow>) apply(templateChange(row));
      for (const row of this.db.prepare('SELECT * FROM faces WHERE subject_id IS NULL').iterate() as IterableIterator<FaceRow>) apply(faceChange(row));
      return head;
    });
  }

  async changesSince(seq: number): Promise<{ seq: number; changes: IndexChange[] }> {
    return this.read(() => {
      const head = (this.db.prepare('SELECT coalesce(max(seq), 0) FROM changes').pluck().get() as number) || 0;
      if (seq <= 0) {
        const templates = (this.db.prepare('SELECT * FROM subjects WHERE template IS NOT NULL').all() as SubjectRow[]).map(templateChange);
        const faces = (this.db.prepare('SELECT * FROM faces WHERE subject_id IS NULL').all() as FaceRow[]).map(faceChange);
        return { seq: head, changes: [...templates, ...faces] };
      }
      const changed = this.db.prepare('SELECT kind, ref FROM changes WHERE seq > ? GROUP BY kind, ref ORDER BY max(seq)').all(seq) as { kind: string; ref: string }[];
      const subjectStmt = this.db.prepare('SELECT * FROM subjects WHERE id = ?');
      const faceStmt = this.db.prepare('SELECT * FROM faces WHERE id = ?');
      const changes: IndexChange[] = changed.map(({ kind, ref }) => {
        if (kind === 'template') {
          const row = subjectStmt.get(ref) as SubjectRow | undefined;
          return row ? templateChange(row) : { kind: 'template', id: ref, name: '', metadata: {}, embedding: null };
        }
        const row = faceStmt.get(ref) as FaceRow | undefined;
        return row ? faceChange(row) : { kind: 'face', id: ref, clusterId: null, embedding: null };
      });
      return { seq: head, changes };
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Recomputes a subject's template and face count from its faces (inside the caller's transaction). */
  private refreshTemplate(subjectId: string): void {
    const embeddings = (this.db.prepare('SELECT embedding FROM faces WHERE subject_id = ?').pluck().all(subjectId) as Buffer[]).map(floatsOf);
    const template = templateOf(embeddings);
    this.db.prepare('UPDATE subjects SET template = ?, face_count = ?, updated_at = ? WHERE id = ?').run(
      template ? blobOf(template) : null,
      embeddings.length,
      new Date().toISOString(),
      subjectId,
    );
    this.logChange('template', subjectId);
  }

  private logChange(kind: 'template' | 'face', ref: string): void {
    this.db.prepare('INSERT INTO changes (kind, ref) VALUES (?, ?)').run(kind, ref);
  }

  private meta<T>(key: string): T | null {
    const v = this.read(() => this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined);
    return v === undefined ? null : (JSON.parse(v) as T);
  }

  private setMeta(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }

  /** Deleted pages are zeroed by secure_delete; checkpointing empties the WAL's older copies too (best effort). */
  private scrubWal(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // another process's read transaction holds the WAL: its next checkpoint finishes the job
    }
  }

  private write<T>(fn: () => T): T {
    this.ensureOpen();
    try {
      return this.db.transaction(fn).immediate();
    } catch (e) {
      throw mapError(e, this.location);
    }
  }

  private read<T>(fn: () => T): T {
    this.ensureOpen();
    try {
      return this.db.transaction(fn).deferred();
    } catch (e) {
      throw mapError(e, this.location);
    }
  }

  private ensureOpen(): void {
    if (!this.db.open) throw new FaceprintError('CLOSED', `gallery ${this.location} is closed`);
  }
}

function mapError(e: unknown, location: string): unknown {
  if (e instanceof FaceprintError) return e;
  const code = (e as { code?: string }).code ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new FaceprintError('STORE_BUSY', `gallery ${location} is busy (another process holds the write lock); retry`, { cause: e });
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') return new FaceprintError('STORE_INVALID', `${location} is not a faceprint gallery (${code})`, { cause: e });
  if (code.startsWith('SQLITE_')) return new FaceprintError('STORE_UNAVAILABLE', `gallery ${location}: ${(e as Error).message}`, { cause: e });
  return e;
}
