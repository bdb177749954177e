import { FaceprintError } from '../errors.js';
import { bindingMismatch, checkMetadata, pageOf, subjectName, subjectNameTaken } from './store-rules.js';
import { templateOf } from './template.js';
import type { Calibration, GalleryStore, IndexChange, ModelBinding, NewFace, Page, StoredFace, Subject, SubjectPage } from './types.js';

interface SubjectRecord extends Subject {
  template: Float32Array | null;
}

/** The whole gallery as one structured-cloneable object: what a persistence hook writes and reads back. */
export interface GalleryState {
  version: 1;
  binding: ModelBinding | null;
  calibration: Calibration | null;
  subjects: SubjectRecord[];
  faces: StoredFace[];
  seq: number;
}

/** Called after every write with the new state; the write is acknowledged only once it resolves. */
export type PersistState = (state: GalleryState) => Promise<void>;

const LOG_LIMIT = 10_000;

/**
 * Records shared by the MemoryGalleryStore views opened on them (a page and its workers, or two gallery objects
 * in a test, like two processes on one SQLite file). Writes are serialised; each is persisted whole (IndexedDB in
 * the browser) before it is acknowledged, and rolled back in memory if persisting fails.
 */
export class GalleryRecords {
  binding: ModelBinding | null = null;
  calibration: Calibration | null = null;
  subjects = new Map<string, SubjectRecord>();
  faces = new Map<string, StoredFace>();
  seq = 0;
  /** Recent changes (seq, kind, ref); older requests get the whole state. */
  log: { seq: number; kind: 'template' | 'face'; ref: string }[] = [];
  private readonly persist: PersistState | null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(state: GalleryState | null = null, persist: PersistState | null = null) {
    this.persist = persist;
    if (state) {
      if (state.version !== 1) throw new FaceprintError('STORE_INVALID', `gallery state version ${String(state.version)}; this faceprint reads 1`);
      this.binding = state.binding;
      this.calibration = state.calibration;
      for (const s of state.subjects) this.subjects.set(s.id, s);
      for (const f of state.faces) this.faces.set(f.id, f);
      this.seq = state.seq;
    }
  }

  state(): GalleryState {
    return { version: 1, binding: this.binding, calibration: this.calibration, subjects: [...this.subjects.values()], faces: [...this.faces.values()], seq: this.seq };
  }

  /** Runs one write: all of it or none of it (in memory and in the persisted copy). */
  write<T>(fn: () => T): Promise<T> {
    const run = async (): Promise<T> => {
      const saved = { binding: this.binding, calibration: this.calibration, subjects: new Map(this.subjects), faces: new Map(this.faces), seq: this.seq, log: this.log.length };
      const restore = () => {
        Object.assign(this, { binding: saved.binding, calibration: saved.calibration, subjects: saved.subjects, faces: saved.faces, seq: saved.seq });
        this.log.length = saved.log;
      };
      let result: T;
      try {
        result = fn();
      } catch (e) {
        restore();
        throw e;
      }
      if (this.persist) {
        try {
          await this.persist(this.state());
        } catch (e) {
          restore();
          throw new FaceprintError('STORE_UNAVAILABLE', `the gallery could not be saved: ${(e as Error).message}`, { cause: e });
        }
      }
      if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
      return result;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  logChange(kind: 'template' | 'face', ref: string): void {
    this.log.push({ seq: ++this.seq, kind, ref });
  }
}

/** A gallery store in memory (optionally persisted whole by a hook): the browser's store, and Node tests'. */
export class MemoryGalleryStore implements GalleryStore {
  readonly kind = 'memory';
  readonly location: string;
  readonly records: GalleryRecords;
  private closed = false;

  constructor(records: GalleryRecords = new GalleryRecords(), location = 'memory') {
    this.records = records;
    this.location = location;
  }

  async binding(): Promise<ModelBinding | null> {
    return this.r.binding;
  }

  async bind(binding: ModelBinding): Promise<void> {
    await this.r.write(() => {
      const current = this.r.binding;
      if (!current) this.r.binding = binding;
      else if (current.recognizerSha256 !== binding.recognizerSha256 || current.dim !== binding.dim) throw bindingMismatch(this.location, current, binding);
    });
  }

  async calibration(): Promise<Calibration | null> {
    return this.r.calibration;
  }

  async setCalibration(calibration: Calibration): Promise<void> {
    await this.r.write(() => void (this.r.calibration = calibration));
  }

  async createSubject(name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    name = subjectName(name);
    checkMetadata(metadata);
    return this.r.write(() => {
      this.assertNameFree(name);
      const now = new Date().toISOString();
      const s: SubjectRecord = { id: crypto.randomUUID(), name, metadata, faceCount: 0, createdAt: now, updatedAt: now, template: null };
      this.r.subjects.set(s.id, s);
      return publicSubject(s);
    });
  }

  async subject(ref: string): Promise<Subject | null> {
    const s = this.find(ref);
    return s ? publicSubject(s) : null;
  }

  async listSubjects(page: Page = {}): Promise<SubjectPage> {
    const all = [...this.r.subjects.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1));
    const { rows, nextCursor } = pageOf(all, (s) => [s.name, s.id], page);
    return { total: all.length, subjects: rows.map(publicSubject), nextCursor };
  }

  async updateSubject(id: string, patch: { name?: string; metadata?: Record<string, unknown> }): Promise<Subject> {
    patch = { ...patch, ...(patch.name !== undefined && { name: subjectName(patch.name) }) };
    if (patch.metadata !== undefined) checkMetadata(patch.metadata);
    return this.r.write(() => {
      const s = this.mustSubject(id);
      if (patch.name !== undefined && patch.name !== s.name) this.assertNameFree(patch.name);
      const next = { ...s, name: patch.name ?? s.name, metadata: patch.metadata ?? s.metadata, updatedAt: new Date().toISOString() };
      this.r.subjects.set(id, next);
      this.r.logChange('template', id);
      return publicSubject(next);
    });
  }

  async deleteSubject(id: string): Promise<number> {
    return this.r.write(() => {
      this.mustSubject(id);
      let n = 0;
      for (const f of [...this.r.faces.values()]) if (f.subjectId === id) {
        this.r.faces.delete(f.id);
        n++;
      }
      this.r.subjects.delete(id);
      this.r.logChange('template', id);
      return n;
    });
  }

  async mergeSubjects(intoId: string, fromId: string): Promise<Subject> {
    return this.r.write(() => {
      this.mustSubject(intoId);
      this.mustSubject(fromId);
      const have = new Set([...this.r.faces.values()].filter((f) => f.subjectId === intoId).map((f) => f.imageSha256));
      for (const f of [...this.r.faces.values()]) {
        if (f.subjectId !== fromId) continue;
        if (have.has(f.imageSha256)) this.r.faces.delete(f.id);
        else this.r.faces.set(f.id, { ...f, subjectId: intoId });
      }
      this.r.subjects.delete(fromId);
      this.r.logChange('template', fromId);
      return publicSubject(this.refreshTemplate(intoId));
    });
  }

  async createSubjectWithFaces(name: string, metadata: Record<string, unknown>, faces: NewFace[]): Promise<{ subject: Subject; added: StoredFace[]; duplicates: NewFace[] }> {
    name = subjectName(name);
    checkMetadata(metadata);
    const result = await this.r.write(() => {
      this.assertNameFree(name);
      const now = new Date().toISOString();
      const s: SubjectRecord = { id: crypto.randomUUID(), name, metadata, faceCount: 0, createdAt: now, updatedAt: now, template: null };
      this.r.subjects.set(s.id, s);
      return { id: s.id, ...this.insertFaces(s.id, faces) };
    });
    return { subject: publicSubject(this.find(result.id)!), added: result.added, duplicates: result.duplicates };
  }

  async addFaces(subjectId: string | null, faces: NewFace[]): Promise<{ added: StoredFace[]; duplicates: NewFace[] }> {
    return this.r.write(() => {
      if (subjectId !== null) this.mustSubject(subjectId);
      return this.insertFaces(subjectId, faces);
    });
  }

  /** Inside a write: the faces stored (an image already enrolled for the subject skipped), its template refreshed. */
  private insertFaces(subjectId: string | null, faces: NewFace[]): { added: StoredFace[]; duplicates: NewFace[] } {
    {
      const taken = new Set(subjectId === null ? [] : [...this.r.faces.values()].filter((f) => f.subjectId === subjectId).map((f) => f.imageSha256));
      const now = new Date().toISOString();
      const added: StoredFace[] = [];
      const duplicates: NewFace[] = [];
      for (const f of faces) {
        if (taken.has(f.imageSha256)) {
          duplicates.push(f);
          continue;
        }
        if (subjectId !== null) taken.add(f.imageSha256);
        const stored: StoredFace = { ...f, embedding: Float32Array.from(f.embedding), id: crypto.randomUUID(), subjectId, clusterId: null, createdAt: now };
        this.r.faces.set(stored.id, stored);
        added.push(stored);
        if (subjectId === null) this.r.logChange('face', stored.id);
      }
      if (subjectId !== null && added.length) this.refreshTemplate(subjectId);
      return { added, duplicates };
    }
  }

  async face(id: string): Promise<StoredFace | null> {
    return this.r.faces.get(id) ?? null;
  }

  async facesOf(subjectId: string): Promise<StoredFace[]> {
    return [...this.r.faces.values()].filter((f) => f.subjectId === subjectId).sort(byCreated);
  }

  async deleteFace(id: string): Promise<boolean> {
    return this.r.write(() => {
      const f = this.r.faces.get(id);
      if (!f) return false;
      this.r.faces.delete(id);
      if (f.subjectId) this.refreshTemplate(f.subjectId);
      else this.r.logChange('face', id);
      return true;
    });
  }

  async setClusters(assignments: { faceId: string; clusterId: string }[]): Promise<void> {
    await this.r.write(() => {
      for (const a of assignments) {
        const f = this.r.faces.get(a.faceId);
        if (!f || f.subjectId !== null) continue;
        this.r.faces.set(f.id, { ...f, clusterId: a.clusterId });
        this.r.logChange('face', f.id);
      }
    });
  }

  async unassignedFaces(): Promise<StoredFace[]> {
    return [...this.r.faces.values()].filter((f) => f.subjectId === null).sort(byCreated);
  }

  async promoteCluster(clusterId: string, name: string, metadata: Record<string, unknown> = {}): Promise<Subject> {
    name = subjectName(name);
    checkMetadata(metadata);
    return this.r.write(() => {
      const faces = [...this.r.faces.values()].filter((f) => f.clusterId === clusterId && f.subjectId === null).sort(byCreated);
      if (faces.length === 0) throw new FaceprintError('CLUSTER_NOT_FOUND', `no unassigned faces in cluster ${clusterId}`);
      this.assertNameFree(name);
      const now = new Date().toISOString();
      const id = crypto.randomUUID();
      this.r.subjects.set(id, { id, name, metadata, faceCount: 0, createdAt: now, updatedAt: now, template: null });
      const seen = new Set<string>();
      for (const f of faces) {
        if (seen.has(f.imageSha256)) continue;
        seen.add(f.imageSha256);
        this.r.faces.set(f.id, { ...f, subjectId: id, clusterId: null });
        this.r.logChange('face', f.id);
      }
      return publicSubject(this.refreshTemplate(id));
    });
  }

  async importSubjects(items: { name: string; metadata?: Record<string, unknown>; faces: NewFace[] }[]): Promise<number> {
    items = items.map((it) => ({ ...it, name: subjectName(it.name), metadata: checkMetadata(it.metadata ?? {}) }));
    return this.r.write(() => {
      const now = new Date().toISOString();
      for (const it of items) {
        this.assertNameFree(it.name);
        const id = crypto.randomUUID();
        this.r.subjects.set(id, { id, name: it.name, metadata: it.metadata ?? {}, faceCount: 0, createdAt: now, updatedAt: now, template: null });
        for (const f of it.faces) {
          const faceId = crypto.randomUUID();
          this.r.faces.set(faceId, { ...f, id: faceId, subjectId: id, clusterId: null, createdAt: now });
        }
        this.refreshTemplate(id);
      }
      return items.length;
    });
  }

  async changesSince(seq: number): Promise<{ seq: number; changes: IndexChange[] }> {
    this.ensureOpen();
    const head = this.r.seq;
    const oldest = this.r.log.length ? this.r.log[0].seq : head + 1;
    if (seq <= 0 || seq < oldest - 1) {
      const changes: IndexChange[] = [];
      for (const s of this.r.subjects.values()) if (s.template) changes.push(templateChange(s));
      for (const f of this.r.faces.values()) if (f.subjectId === null) changes.push(faceChange(f));
      return { seq: head, changes };
    }
    const last = new Map<string, { kind: 'template' | 'face'; ref: string }>();
    for (const c of this.r.log) if (c.seq > seq) {
      const key = `${c.kind}:${c.ref}`;
      last.delete(key); // keep the order of each ref's latest change
      last.set(key, c);
    }
    const changes: IndexChange[] = [...last.values()].map(({ kind, ref }) => {
      if (kind === 'template') {
        const s = this.r.subjects.get(ref);
        return s ? templateChange(s) : { kind: 'template', id: ref, name: '', metadata: {}, embedding: null };
      }
      const f = this.r.faces.get(ref);
      return f ? faceChange(f) : { kind: 'face', id: ref, clusterId: null, embedding: null };
    });
    return { seq: head, changes };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private get r(): GalleryRecords {
    this.ensureOpen();
    return this.records;
  }

  private ensureOpen(): void {
    if (this.closed) throw new FaceprintError('CLOSED', `gallery ${this.location} is closed`);
  }

  private find(ref: string): SubjectRecord | undefined {
    const byId = this.r.subjects.get(ref);
    if (byId) return byId;
    for (const s of this.r.subjects.values()) if (s.name === ref) return s;
    return undefined;
  }

  private mustSubject(id: string): SubjectRecord {
    const s = this.r.subjects.get(id);
    if (!s) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject ${id}`);
    return s;
  }

  private assertNameFree(name: string): void {
    for (const s of this.r.subjects.values()) if (s.name === name) throw subjectNameTaken(name);
  }

  /** Recomputes a subject's template and face count from its faces (inside the caller's write). */
  private refreshTemplate(id: string): SubjectRecord {
    const faces = [...this.r.faces.values()].filter((f) => f.subjectId === id);
    const next = { ...this.mustSubject(id), template: templateOf(faces.map((f) => f.embedding)), faceCount: faces.length, updatedAt: new Date().toISOString() };
    this.r.subjects.set(id, next);
    this.r.logChange('template', id);
    return next;
  }
}

function publicSubject(s: SubjectRecord): Subject {
  const { template: _template, ...rest } = s;
  return rest;
}

function byCreated(a: StoredFace, b: StoredFace): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function templateChange(s: SubjectRecord): IndexChange {
  return { kind: 'template', id: s.id, name: s.name, metadata: s.metadata, embedding: s.template };
}

function faceChange(f: StoredFace): IndexChange {
  return { kind: 'face', id: f.id, clusterId: f.clusterId, embedding: f.subjectId === null ? f.embedding : null };
}
