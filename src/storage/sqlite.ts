import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { FaceprintError } from '../core/errors.js';
import { templateOf } from '../core/gallery/template.js';
import {
  DEFAULT_COLLECTION,
  type Calibration, type CollectionCatalog, type CollectionInfo, type CollectionSettings, type GalleryStore, type IndexChange, type ModelBinding, type NewFace, type Page, type StoredFace, type Subject, type SubjectPage,
} from '../core/gallery/types.js';
import { checkCollectionSettings, collectionName, collectionNotFound, decodeCursor, encodeCursor, pageLimit } from '../core/gallery/store-rules.js';
import {
  bindingMismatch, blobOf, GALLERY_SCHEMA_VERSION, checkMetadata, collectionExists, subjectName, faceChange, faceOf, floatsOf, subjectNameTaken, subjectOf, templateChange, type FaceRow, type SubjectRow,
} from './common.js';

/** Steps from each schema version to the next, as in PostgreSQL (postgres/schema.ts says why each). */
const MIGRATIONS: Record<number, string | ((db: Database.Database) => void)> = {
  2: 'CREATE INDEX IF NOT EXISTS faces_unassigned ON faces(created_at, id) WHERE subject_id IS NULL',
  3: collectionsSchema,
};

/**
 * Schema 3: collections. The store's binding and calibration become the default collection's; subjects, faces
 * and changes belong to a collection (today's rows to the default one); a name is unique within its collection
 * (SQLite cannot drop a UNIQUE constraint: the subjects table is rebuilt, foreign keys off meanwhile); faces may
 * keep a thumbnail.
 */
function collectionsSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE collections (name TEXT PRIMARY KEY, binding TEXT, calibration TEXT, settings TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL);
    INSERT INTO collections (name, binding, calibration, created_at)
      VALUES ('${DEFAULT_COLLECTION}', (SELECT value FROM meta WHERE key = 'binding'), (SELECT value FROM meta WHERE key = 'calibration'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    DELETE FROM meta WHERE key IN ('binding', 'calibration');
    CREATE TABLE subjects_v3 (
      id TEXT PRIMARY KEY, collection TEXT NOT NULL DEFAULT '${DEFAULT_COLLECTION}', name TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}',
      template BLOB, face_count INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (collection, name));
    INSERT INTO subjects_v3 (id, name, metadata, template, face_count, created_at, updated_at)
      SELECT id, name, metadata, template, face_count, created_at, updated_at FROM subjects;
    DROP TABLE subjects;
    ALTER TABLE subjects_v3 RENAME TO subjects;
    ALTER TABLE faces ADD COLUMN collection TEXT NOT NULL DEFAULT '${DEFAULT_COLLECTION}';
    ALTER TABLE faces ADD COLUMN thumbnail BLOB;
    ALTER TABLE changes ADD COLUMN collection TEXT NOT NULL DEFAULT '${DEFAULT_COLLECTION}';
    DROP INDEX IF EXISTS faces_unassigned;
    CREATE INDEX faces_unassigned ON faces(collection, created_at, id) WHERE subject_id IS NULL;
    CREATE INDEX changes_collection ON changes(collection, seq);
    CREATE INDEX faces_collection ON faces(collection);
  `);
}

/**
 * Brings the schema up to this release's (a new store starts at 1 and takes every step), recording the version,
 * in one transaction; a newer schema (a later faceprint's) is refused.
 */
function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const recorded = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get() as string | undefined;
    let version = recorded === undefined ? 1 : Number(recorded);
    if (!(version >= 1) || version > GALLERY_SCHEMA_VERSION) throw new FaceprintError('STORE_INVALID', `${path} has gallery schema ${recorded}; this faceprint reads up to ${GALLERY_SCHEMA_VERSION}`);
    for (; version < GALLERY_SCHEMA_VERSION; version++) {
      const step = MIGRATIONS[version + 1];
      if (typeof step === 'string') db.exec(step);
      else step(db);
    }
    db.prepare(`INSERT INTO meta VALUES ('schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(String(version));
  }).immediate();
}

/**
 * The embedded gallery: one SQLite file, WAL, synchronous=FULL (an acknowledged enrolment survives a crash),
 * secure_delete (a deleted embedding is overwritten, not left in free pages), one IMMEDIATE transaction per write.
 * Several processes may open the same file; writers wait up to `busyTimeoutMs` and then fail with STORE_BUSY.
 * Its collections share the file: `collection(name)` gives the store of one.
 */
export class SqliteGalleryStore implements GalleryStore, CollectionCatalog {
  readonly location: string;
  readonly kind = 'sqlite';
  /** The collection this store reads and writes; `collection(name)` gives another one's, on the same file. */
  readonly collectionName: string;
  private readonly db: Database.Database;
  /** The store `open` returned owns the connection; a collection's store shares it. */
  private readonly owner: boolean;

  private constructor(path: string, db: Database.Database, collection: string, owner: boolean) {
    this.location = path;
    this.db = db;
    this.collectionName = collection;
    this.owner = owner;
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
      // off while the schema moves (schema 3 rebuilds the subjects table, which faces refer to), on afterwards
      db.pragma('foreign_keys = OFF');
      migrate(db, path);
      db.pragma('foreign_keys = ON');
    } catch (e) {
      db.close();
      throw mapError(e, path);
    }
    return new SqliteGalleryStore(path, db, DEFAULT_COLLECTION, true);
  }

  get catalog(): CollectionCatalog {
    return this;
  }

  // ---- collections

  collection(name: string): SqliteGalleryStore {
    return new SqliteGalleryStore(this.location, this.db, collectionName(name), false);
  }

  async listCollections(): Promise<CollectionInfo[]> {
    return this.read(() => (this.db.prepare('SELECT name FROM collections ORDER BY name').pluck().all() as string[]).map((n) => this.infoOf(n)!));
  }

  async collectionInfo(name: string): Promise<CollectionInfo | null> {
    return this.read(() => this.infoOf(name));
  }

  async createCollection(name: string, settings: CollectionSettings = {}): Promise<CollectionInfo> {
    name = collectionName(name);
    settings = checkCollectionSettings(settings);
    return this.write(() => {
      if (this.db.prepare('SELECT 1 FROM collections WHERE name = ?').get(name)) throw collectionExists(name);
      this.db.prepare('INSERT INTO collections (name, settings, created_at) VALUES (?, ?, ?)').run(name, JSON.stringify(settings), new Date().toISOString());
      return this.infoOf(name)!;
    });
  }

  async updateCollection(name: string, settings: CollectionSettings): Promise<CollectionInfo> {
    settings = checkCollectionSettings(settings);
    return this.write(() => {
      const info = this.infoOf(name);
      if (!info) throw collectionNotFound(name);
      if (settings.detSizes && info.binding && info.faces + info.subjects > 0 && JSON.stringify(settings.detSizes) !== JSON.stringify(info.binding.detSizes)) {
        throw new FaceprintError('INVALID_INPUT', `collection ${name}'s faces were found with detector sizes ${JSON.stringify(info.binding.detSizes)}; they cannot change now`);
      }
      this.db.prepare('UPDATE collections SET settings = ? WHERE name = ?').run(JSON.stringify({ ...info.settings, ...settings }), name);
      return this.infoOf(name)!;
    });
  }

  async deleteCollection(name: string): Promise<number> {
    if (name === DEFAULT_COLLECTION) throw new FaceprintError('INVALID_INPUT', 'the default collection cannot be deleted (delete its people instead)');
    const deleted = this.write(() => {
      if (!this.db.prepare('SELECT 1 FROM collections WHERE name = ?').get(name)) throw collectionNotFound(name);
      const faces = this.db.prepare('DELETE FROM faces WHERE collection = ?').run(name).changes;
      this.db.prepare('DELETE FROM subjects WHERE collection = ?').run(name);
      this.db.prepare('DELETE FROM changes WHERE collection = ?').run(name);
      this.db.prepare('DELETE FROM collections WHERE name = ?').run(name);
      return faces;
    });
    this.scrubWal();
    return deleted;
  }

  /** Read every few seconds by a serving process: the settings row alone (no counts), COLLECTION_NOT_FOUND once deleted. */
  async collectionSettings(): Promise<CollectionSettings> {
    return JSON.parse(this.read(() => this.row().settings)) as CollectionSettings;
  }

  private infoOf(name: string): CollectionInfo | null {
    const row = this.db.prepare('SELECT * FROM collections WHERE name = ?').get(name) as { name: string; binding: string | null; settings: string; created_at: string } | undefined;
    if (!row) return null;
    const count = (sql: string) => this.db.prepare(sql).pluck().get(name) as number;
    return {
      name, binding: row.binding ? JSON.parse(row.binding) : null, settings: JSON.parse(row.settings), createdAt: row.created_at,
      subjects: count('SELECT count(*) FROM subjects WHERE collection = ?'), faces: count('SELECT count(*) FROM faces WHERE collection = ?'),
    };
  }

  /** This collection's row (COLLECTION_NOT_FOUND without one). */
  private row(): { binding: string | null; calibration: string | null; settings: string } {
    const row = this.db.prepare('SELECT binding, calibration, settings FROM collections WHERE name = ?').get(this.collectionName) as { binding: string | null; calibration: string | null; settings: string } | undefined;
    if (!row) throw collectionNotFound(this.collectionName);
    return row;
  }

  // ---- the collection's binding and calibration

  async binding(): Promise<ModelBinding | null> {
    const v = this.read(() => this.row().binding);
    return v ? (JSON.parse(v) as ModelBinding) : null;
  }

  async bind(binding: ModelBinding): Promise<void> {
    this.write(() => {
      const row = this.row();
      const current = row.binding ? (JSON.parse(row.binding) as ModelBinding) : null;
      // a collection made with its own detector sizes records those
      const detSizes = (JSON.parse(row.settings) as CollectionSettings).detSizes;
      if (!current) this.db.prepare('UPDATE collections SET binding = ? WHERE name = ?').run(JSON.stringify({ ...binding, ...(detSizes && { detSizes }) }), this.collectionName);
      else if (current.recognizerSha256 !== binding.recognizerSha256 || current.dim !== binding.dim) throw bindingMismatch(this.where(), current, binding);
    });
  }

  async calibration(): Promise<Calibration | null> {
    const v = this.read(() => this.row().calibration);
    return v ? (JSON.parse(v) as Calibration) : null;
  }

  async setCalibration(calibration: Calibration): Promise<void> {
    this.write(() => {
      this.row();
      this.db.prepare('UPDATE collections SET calibration = ? WHERE name = ?').run(JSON.stringify(calibration), this.collectionName);
    });
  }

  async serviceRecord(key: string): Promise<unknown> {
    return this.meta(`service:${key}`);
  }

  async setServiceRecord(key: string, value: unknown): Promise<void> {
    this.write(() => this.setMeta(`service:${key}`, value));
  }

  // ---- subjects

  async createSubject(name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    this.write(() => {
      this.row();
      if (this.nameTaken(name)) throw subjectNameTaken(name);
      this.insertSubject(id, name, metadata, now);
    });
    return (await this.subject(id))!;
  }

  async subject(ref: string): Promise<Subject | null> {
    const row = this.read(
      () => (this.db.prepare('SELECT * FROM subjects WHERE id = ? AND collection = ?').get(ref, this.collectionName) ?? this.db.prepare('SELECT * FROM subjects WHERE name = ? AND collection = ?').get(ref, this.collectionName)) as SubjectRow | undefined,
    );
    return row ? subjectOf(row) : null;
  }

  async listSubjects(page: Page = {}): Promise<SubjectPage> {
    const limit = pageLimit(page.limit);
    const c = this.collectionName;
    return this.read(() => {
      const total = this.db.prepare('SELECT count(*) FROM subjects WHERE collection = ?').pluck().get(c) as number;
      let rows: SubjectRow[];
      if (page.cursor !== undefined) {
        const [name, id] = decodeCursor(page.cursor, 2);
        rows = this.db.prepare('SELECT * FROM subjects WHERE collection = ? AND (name, id) > (?, ?) ORDER BY name, id LIMIT ?').all(c, name, id, limit + 1) as SubjectRow[];
      } else {
        rows = this.db.prepare('SELECT * FROM subjects WHERE collection = ? ORDER BY name, id LIMIT ? OFFSET ?').all(c, limit + 1, Math.max(page.offset ?? 0, 0)) as SubjectRow[];
      }
      const more = rows.length > limit;
      const subjects = rows.slice(0, limit).map(subjectOf);
      const last = subjects[subjects.length - 1];
      return { total, subjects, nextCursor: more && last ? encodeCursor([last.name, last.id]) : null };
    });
  }

  async updateSubject(id: string, patch: { name?: string; metadata?: Record<string, unknown> }): Promise<Subject> {
    patch = { ...patch, ...(patch.name !== undefined && { name: subjectName(patch.name) }) };
    if (patch.metadata !== undefined) checkMetadata(patch.metadata);
    this.write(() => {
      const row = this.subjectRow(id);
      if (patch.name !== undefined && patch.name !== row.name && this.nameTaken(patch.name)) throw subjectNameTaken(patch.name);
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
      this.subjectRow(id);
      const faces = this.db.prepare('DELETE FROM faces WHERE subject_id = ?').run(id).changes;
      this.db.prepare('DELETE FROM subjects WHERE id = ?').run(id);
      this.logChange('template', id);
      return faces;
    });
    this.scrubWal();
    return deleted;
  }

  async mergeSubjects(intoId: string, fromId: string): Promise<Subject> {
    this.write(() => {
      for (const id of [intoId, fromId]) this.subjectRow(id);
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
      this.row();
      if (this.nameTaken(name)) throw subjectNameTaken(name);
      this.insertSubject(id, name, metadata, now);
      return this.insertFaces(id, faces, now);
    });
    return { subject: (await this.subject(id))!, ...result };
  }

  async addFaces(subjectId: string | null, faces: NewFace[]): Promise<{ added: StoredFace[]; duplicates: NewFace[] }> {
    const now = new Date().toISOString();
    return this.write(() => {
      if (subjectId !== null) this.subjectRow(subjectId);
      else this.row();
      return this.insertFaces(subjectId, faces, now);
    });
  }

  /** Inside a write: the faces inserted (an image already enrolled for the subject skipped), its template refreshed. */
  private insertFaces(subjectId: string | null, faces: NewFace[], now: string): { added: StoredFace[]; duplicates: NewFace[] } {
    const insert = this.db.prepare(
      `INSERT INTO faces (id, collection, subject_id, cluster_id, embedding, image_sha256, bbox, score, quality, source, thumbnail, created_at)
       VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    const added: StoredFace[] = [];
    const duplicates: NewFace[] = [];
    for (const f of faces) {
      const id = crypto.randomUUID();
      const r = insert.run(id, this.collectionName, subjectId, blobOf(f.embedding), f.imageSha256, JSON.stringify(f.bbox), f.score, f.quality, f.source ?? null, f.thumbnail ?? null, now);
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

  async face(id: string): Promise<StoredFace | null> {
    const row = this.read(() => this.db.prepare('SELECT * FROM faces WHERE id = ? AND collection = ?').get(id, this.collectionName) as FaceRow | undefined);
    return row ? faceOf(row) : null;
  }

  async faceThumbnail(faceId: string): Promise<Uint8Array | null> {
    const t = this.read(() => this.db.prepare('SELECT thumbnail FROM faces WHERE id = ? AND collection = ?').pluck().get(faceId, this.collectionName) as Buffer | null | undefined);
    return t ? new Uint8Array(t) : null;
  }

  async facesOf(subjectId: string): Promise<StoredFace[]> {
    return this.read(() => (this.db.prepare('SELECT * FROM faces WHERE subject_id = ? AND collection = ? ORDER BY created_at, id').all(subjectId, this.collectionName) as FaceRow[]).map(faceOf));
  }

  async deleteFace(id: string): Promise<boolean> {
    const found = this.write(() => {
      const row = this.db.prepare('SELECT subject_id FROM faces WHERE id = ? AND collection = ?').get(id, this.collectionName) as { subject_id: string | null } | undefined;
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
      const update = this.db.prepare('UPDATE faces SET cluster_id = ? WHERE id = ? AND subject_id IS NULL AND collection = ?');
      for (const a of assignments) if (update.run(a.clusterId, a.faceId, this.collectionName).changes) this.logChange('face', a.faceId);
    });
  }

  async unassignedFaces(): Promise<StoredFace[]> {
    return this.read(() => (this.db.prepare('SELECT * FROM faces WHERE subject_id IS NULL AND collection = ? ORDER BY created_at, id').all(this.collectionName) as FaceRow[]).map(faceOf));
  }

  async promoteCluster(clusterId: string, name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    name = subjectName(name);
    checkMetadata(metadata);
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    this.write(() => {
      const faces = this.db.prepare('SELECT id, image_sha256 FROM faces WHERE cluster_id = ? AND subject_id IS NULL AND collection = ? ORDER BY created_at, id').all(clusterId, this.collectionName) as { id: string; image_sha256: string }[];
      if (faces.length === 0) throw new FaceprintError('CLUSTER_NOT_FOUND', `no unassigned faces in cluster ${clusterId}`);
      if (this.nameTaken(name)) throw subjectNameTaken(name);
      this.insertSubject(id, name, metadata, now);
      // one image may hold two faces of a cluster: the subject keeps the first (enrolment allows one per image)
      const seen = new Set<string>();
      for (const f of faces) {
        if (seen.has(f.image_sha256)) continue;
        seen.add(f.image_sha256);
        this.db.prepare('UPDATE faces SET subject_id = ?, cluster_id = NULL WHERE id = ?').run(id, f.id);
        this.logChange('face', f.id);
      }
      this.refreshTemplate(id);
    });
    return (await this.subject(id))!;
  }

  async importSubjects(items: { name: string; metadata?: Record<string, unknown>; faces: NewFace[] }[]): Promise<number> {
    items = items.map((it) => ({ ...it, name: subjectName(it.name), metadata: checkMetadata(it.metadata ?? {}) }));
    const now = new Date().toISOString();
    return this.write(() => {
      this.row();
      const subject = this.db.prepare('INSERT INTO subjects (id, collection, name, metadata, template, face_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      const face = this.db.prepare(
        `INSERT INTO faces (id, collection, subject_id, cluster_id, embedding, image_sha256, bbox, score, quality, source, created_at)
         VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const it of items) {
        if (this.nameTaken(it.name)) throw subjectNameTaken(it.name);
        const id = crypto.randomUUID();
        const template = templateOf(it.faces.map((f) => f.embedding));
        subject.run(id, this.collectionName, it.name, JSON.stringify(it.metadata ?? {}), template ? blobOf(template) : null, it.faces.length, now, now);
        for (const f of it.faces) face.run(crypto.randomUUID(), this.collectionName, id, blobOf(f.embedding), f.imageSha256, JSON.stringify(f.bbox), f.score, f.quality, f.source ?? null, now);
        this.logChange('template', id);
      }
      return items.length;
    });
  }

  // ---- the change feed of this collection

  async snapshot(apply: (change: IndexChange) => void): Promise<number> {
    // one read transaction: the rows and the head sequence number agree; rows are streamed, not collected
    return this.read(() => {
      const head = this.head();
      for (const row of this.db.prepare('SELECT * FROM subjects WHERE template IS NOT NULL AND collection = ?').iterate(this.collectionName) as IterableIterator<SubjectRow>) apply(templateChange(row));
      for (const row of this.db.prepare('SELECT * FROM faces WHERE subject_id IS NULL AND collection = ?').iterate(this.collectionName) as IterableIterator<FaceRow>) apply(faceChange(row));
      return head;
    });
  }

  async changesSince(seq: number): Promise<{ seq: number; changes: IndexChange[] }> {
    return this.read(() => {
      const head = this.head();
      const c = this.collectionName;
      if (seq <= 0) {
        const templates = (this.db.prepare('SELECT * FROM subjects WHERE template IS NOT NULL AND collection = ?').all(c) as SubjectRow[]).map(templateChange);
        const faces = (this.db.prepare('SELECT * FROM faces WHERE subject_id IS NULL AND collection = ?').all(c) as FaceRow[]).map(faceChange);
        return { seq: head, changes: [...templates, ...faces] };
      }
      const changed = this.db.prepare('SELECT kind, ref FROM changes WHERE collection = ? AND seq > ? GROUP BY kind, ref ORDER BY max(seq)').all(c, seq) as { kind: string; ref: string }[];
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
    if (this.owner && this.db.open) this.db.close();
  }

  // ---- inside transactions

  private head(): number {
    return (this.db.prepare('SELECT coalesce(max(seq), 0) FROM changes').pluck().get() as number) || 0;
  }

  private where(): string {
    return this.collectionName === DEFAULT_COLLECTION ? this.location : `${this.location} (collection ${this.collectionName})`;
  }

  private nameTaken(name: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM subjects WHERE name = ? AND collection = ?').get(name, this.collectionName);
  }

  private subjectRow(id: string): SubjectRow {
    const row = this.db.prepare('SELECT * FROM subjects WHERE id = ? AND collection = ?').get(id, this.collectionName) as SubjectRow | undefined;
    if (!row) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${id}`);
    return row;
  }

  private insertSubject(id: string, name: string, metadata: Record<string, unknown>, now: string): void {
    this.db.prepare('INSERT INTO subjects (id, collection, name, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, this.collectionName, name, JSON.stringify(metadata), now, now);
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
    this.db.prepare('INSERT INTO changes (kind, ref, collection) VALUES (?, ?, ?)').run(kind, ref, this.collectionName);
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
