/** The records of a gallery: what a store keeps, whatever the database. */

/** A gallery is bound to one recognizer: embeddings of different models never mix. */
export interface ModelBinding {
  recognizerSha256: string;
  dim: number;
  /** File name of the recognizer, for messages. */
  recognizerName: string;
  /**
   * The detector sizes the gallery's faces were found with (InsightFace 1.0's Auto: [128, 640]); later analyses
   * use the same unless told otherwise. Absent in stores written before faceprint knew Auto: those are [640].
   */
  detSizes?: number[];
}

export interface Subject {
  id: string;
  name: string;
  metadata: Record<string, unknown>;
  faceCount: number;
  createdAt: string;
  updatedAt: string;
}

export type Box = [number, number, number, number];

export interface NewFace {
  /** L2-normalised embedding. */
  embedding: Float32Array;
  imageSha256: string;
  bbox: Box;
  /** Detector score. */
  score: number;
  /** Norm of the raw embedding: a model-specific quality proxy (blurred, tiny or profile faces score lower). */
  quality: number;
  /** Where the face came from (a file name), for reports; never the pixels. */
  source?: string;
  /** A 112×112 JPEG of the face's box, kept only where the collection keeps thumbnails. */
  thumbnail?: Uint8Array;
}

export interface StoredFace extends NewFace {
  id: string;
  /** Whether a thumbnail was kept with it (collections that keep them). */
  hasThumbnail?: boolean;
  subjectId: string | null;
  clusterId: string | null;
  createdAt: string;
}

/**
 * One entry of the change feed that keeps every process's in-memory search index caught up with the records:
 * a subject's template (null when the subject is gone or has no faces) or an unassigned face (null when it was
 * deleted or given to a subject).
 */
export type IndexChange =
  | { kind: 'template'; id: string; name: string; metadata: Record<string, unknown>; embedding: Float32Array | null }
  | { kind: 'face'; id: string; clusterId: string | null; embedding: Float32Array | null };

/** Thresholds measured by `faceprint eval` for the bound recognizer. */
export interface Calibration {
  /** Where the figures came from (an eval report's data set). */
  source: string;
  /** Cosine with the best accuracy on that set: the default decision threshold. */
  bestThreshold: number;
  /** The cosine threshold that gives each false-accept rate, FAR descending. */
  points: { far: number; threshold: number }[];
  /** The recognizer measured; a gallery bound to another one refuses the calibration. */
  recognizerSha256?: string;
}

/** A subject found by a store-side search, its score the exact float32 cosine. */
export interface TemplateHit {
  id: string;
  name: string;
  metadata: Record<string, unknown>;
  score: number;
}

export interface Page {
  /** Deprecated: a position that shifts as rows come and go; prefer `cursor`. */
  offset?: number;
  limit?: number;
  /** Where the previous page ended (its `nextCursor`): pages stay whole while rows are added and removed. */
  cursor?: string;
}

/** A page of subjects: the total, the rows, and the cursor of the next page (null on the last). */
export interface SubjectPage {
  total: number;
  subjects: Subject[];
  nextCursor: string | null;
}

/** The collection every store has, and the one an older store's records become. */
export const DEFAULT_COLLECTION = 'default';

/** How enrolment reviews a photo: off, the standard checks, or strict (also refuses a likely mislabelled photo). */
export type ReviewMode = 'off' | 'standard' | 'strict';

/** A collection's own settings, which requests to it inherit. */
export interface CollectionSettings {
  /** Decision threshold (cosine) for its verify, identify and clustering when a request gives none. */
  threshold?: number;
  /** Detector sizes its faces are found with (recorded at creation; default the server's). */
  detSizes?: number[];
  /** Detection score threshold (default the analyzer's, 0.5). */
  detThresh?: number;
  /** Enrolment review (default standard). */
  review?: ReviewMode;
  /** Keep a 112×112 JPEG of each enrolled face (default off: faces are biometric data). */
  thumbnails?: boolean;
}

export interface CollectionInfo {
  name: string;
  /** The recognizer the collection is bound to (null until its first enrolment or search binds it). */
  binding: ModelBinding | null;
  settings: CollectionSettings;
  subjects: number;
  faces: number;
  createdAt: string;
}

/** Several galleries in one store, each bound to its own recognizer, with its own settings. */
export interface CollectionCatalog {
  listCollections(): Promise<CollectionInfo[]>;
  collectionInfo(name: string): Promise<CollectionInfo | null>;
  /** COLLECTION_EXISTS when the name is taken. */
  createCollection(name: string, settings?: CollectionSettings): Promise<CollectionInfo>;
  /** Replaces the settings given (detSizes cannot change once faces were found with them). */
  updateCollection(name: string, settings: CollectionSettings): Promise<CollectionInfo>;
  /** Deletes a collection with its subjects and faces (their embeddings erased); returns the faces deleted. */
  deleteCollection(name: string): Promise<number>;
  /** The store of one collection (COLLECTION_NOT_FOUND on first use when there is none). */
  collection(name: string): GalleryStore;
}

/**
 * Storage of a gallery. Every write is one transaction; templates are recomputed inside it, so a reader never
 * sees faces and template disagree. Implementations: SQLite (embedded) and PostgreSQL.
 */
export interface GalleryStore {
  /** Redacted location, for messages. */
  readonly location: string;
  /** What keeps the records (for a system report). */
  readonly kind?: 'sqlite' | 'postgres' | 'memory' | 'indexeddb';
  /** The collection this store reads and writes (stores without collections: the default). */
  readonly collectionName?: string;
  /** The store's collections, where it keeps several (SQLite, PostgreSQL). */
  readonly catalog?: CollectionCatalog;
  /** This collection's settings ({} for stores without collections). */
  collectionSettings?(): Promise<CollectionSettings>;
  /** An enrolled face's thumbnail (JPEG), when the collection keeps them. */
  faceThumbnail?(faceId: string): Promise<Uint8Array | null>;
  binding(): Promise<ModelBinding | null>;
  /** Records the binding on an empty gallery; a different one is GALLERY_MODEL_MISMATCH. */
  bind(binding: ModelBinding): Promise<void>;
  calibration(): Promise<Calibration | null>;
  setCalibration(calibration: Calibration): Promise<void>;
  /**
   * The service's own records kept beside the gallery (e.g. its camera monitors), by key, as JSON. Stores that
   * persist (SQLite, PostgreSQL) have them; an in-memory store does not.
   */
  serviceRecord?(key: string): Promise<unknown>;
  setServiceRecord?(key: string, value: unknown): Promise<void>;

  createSubject(name: string, metadata?: Record<string, unknown>): Promise<Subject>;
  /** By id, else by exact name. */
  subject(ref: string): Promise<Subject | null>;
  listSubjects(page?: Page): Promise<SubjectPage>;
  updateSubject(id: string, patch: { name?: string; metadata?: Record<string, unknown> }): Promise<Subject>;
  /** Deletes the subject and its faces (the embeddings are gone, not hidden); returns the faces deleted. */
  deleteSubject(id: string): Promise<number>;
  /** Moves every face of `fromId` to `intoId` and deletes `fromId`. */
  mergeSubjects(intoId: string, fromId: string): Promise<Subject>;

  /**
   * A new subject and its first faces in one transaction (SUBJECT_EXISTS when the name is taken): a crash can
   * leave neither or both, never a subject without its faces.
   */
  createSubjectWithFaces(name: string, metadata: Record<string, unknown>, faces: NewFace[]): Promise<{ subject: Subject; added: StoredFace[]; duplicates: NewFace[] }>;
  /** Adds faces in one transaction; a face whose image is already enrolled for that subject is skipped. */
  addFaces(subjectId: string | null, faces: NewFace[]): Promise<{ added: StoredFace[]; duplicates: NewFace[] }>;
  face(id: string): Promise<StoredFace | null>;
  facesOf(subjectId: string): Promise<StoredFace[]>;
  deleteFace(id: string): Promise<boolean>;
  setClusters(assignments: { faceId: string; clusterId: string }[]): Promise<void>;
  /** Faces with no subject, with their cluster (null: not clustered yet, or noise). */
  unassignedFaces(): Promise<StoredFace[]>;
  /** Creates a subject from a cluster's faces, in one transaction. */
  promoteCluster(clusterId: string, name: string, metadata?: Record<string, unknown>): Promise<Subject>;

  /**
   * Bulk import (migrations, benchmarks): new subjects with their faces, all in one transaction; names must be
   * new. Templates are computed as for enrolment.
   */
  importSubjects(items: { name: string; metadata?: Record<string, unknown>; faces: NewFace[] }[]): Promise<number>;

  /**
   * Present when the store searches templates itself (PostgreSQL with pgvector): the top-k by cosine, with an
   * optional metadata containment filter. Stores without it are searched by the in-memory exact index.
   */
  searchTemplates?(query: Float32Array, k: number, where?: Record<string, unknown>): Promise<TemplateHit[]>;

  /**
   * Optional streaming form of `changesSince(0)`: hands the current state to `apply` row by row (no array of the
   * whole gallery in memory) and returns the sequence number it reflects.
   */
  snapshot?(apply: (change: IndexChange) => void): Promise<number>;

  /** Changes after `seq` (0: the whole current state), and the sequence number to ask from next. */
  changesSince(seq: number): Promise<{ seq: number; changes: IndexChange[] }>;
  close(): Promise<void>;
}
