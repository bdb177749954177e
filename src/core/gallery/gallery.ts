import type { Face } from '../analyzer.js';
import { FaceprintError, type FaceprintErrorCode } from '../errors.js';
import { cosine } from '../matching/cosine.js';
import { ExactIndex, type RowScanner } from '../matching/exact-index.js';
import { clusterFaces, type ClusterOptions, type ClusterReport } from './cluster.js';
import { knownRecognizer, type KnownRecognizer } from './known-models.js';
import { resolveThreshold, templateOf, type ResolvedThreshold, type ThresholdChoice, type ThresholdSource } from './template.js';
import type { RgbImage } from '../image.js';
import { DEFAULT_REVIEW_LIMITS, failingParts, reviewFace, type FaceReview } from './review.js';
import { checkMetadata, jsonContains } from './store-rules.js';
import type { Box, Calibration, CollectionSettings, GalleryStore, IndexChange, ModelBinding, NewFace, Page, ReviewMode, StoredFace, Subject, SubjectPage } from './types.js';

/** The faces found in one image, ready for enrolment or clustering. */
export interface AnalyzedImage {
  imageSha256: string;
  /** File name or label, kept with the face for reports. */
  source?: string;
  faces: Face[];
  /** The decoded image, when a thumbnail of its enrolled face is to be kept. */
  pixels?: RgbImage;
  /** Its size in pixels (for face selection rules that measure from the centre). */
  width?: number;
  height?: number;
}

export interface EnrollOptions {
  /** Take the largest usable face when an image holds several (else such an image is refused). */
  largest?: boolean;
  /** Faces below this detection score are not usable (default 0.6). */
  minScore?: number;
  /** Faces whose bounding box's short side is below this many pixels are not usable (default 40). */
  minSize?: number;
  /**
   * Faces turned further than this many degrees left or right (yaw) are not usable. Needs the 3-D landmark head
   * (1k3d68), whose pose the gate reads.
   */
  maxYaw?: number;
  /** Faces tilted further than this many degrees up or down (pitch) are not usable; needs the 3-D head too. */
  maxPitch?: number;
  /** Create the subject when no subject has this name (default true). */
  create?: boolean;
  metadata?: Record<string, unknown>;
  /**
   * How each photo is reviewed (default: the collection's setting, else 'standard'): 'off' takes each photo's
   * primary face unchecked; 'standard' refuses several faces, a small face, a low detection score, a pose past the
   * limits and a low quality (sharpness, brightness, contrast — each part with its value and limit); 'strict' also
   * refuses a photo that matches another person better than the one it is enrolled to.
   */
  review?: ReviewMode;
  /** A JPEG thumbnail of the enrolled face, when the collection keeps them (set by the image gallery). */
  thumbnail?: (pixels: RgbImage, bbox: Box) => Promise<Uint8Array>;
}

/** Why an image gave no face to enrol: a gallery rule, or the image's own error code (IMAGE_CORRUPT, …). */
export type RefusalReason = 'NO_FACE' | 'MULTIPLE_FACES' | 'LOW_SCORE' | 'TOO_SMALL' | 'POSE' | 'LOW_QUALITY' | 'MISLABELLED' | 'DUPLICATE_IMAGE' | 'NO_EMBEDDING' | FaceprintErrorCode;

/** A refused photo: why, in words, and for a review's refusal its parts or the two scores that disagreed. */
export interface Refusal {
  source?: string;
  reason: RefusalReason;
  message: string;
  /** LOW_QUALITY: every part of the review with its value and limit. */
  review?: FaceReview;
  /** MISLABELLED: the person it was enrolled to and the one it matches better (score null: a new person). */
  matches?: { claimed: { name: string; score: number | null }; closest: { name: string; score: number } };
}

export interface EnrollResult {
  subject: Subject;
  /** Each accepted photo's face, with its review's quality (0–1) when it was reviewed. */
  accepted: { source?: string; faceId: string; quality?: number }[];
  refused: Refusal[];
}

export interface Match {
  subjectId: string;
  name: string;
  score: number;
}

export interface Identification {
  /** The best subject at or above the threshold, else null ("unknown": open-set). */
  subject: Match | null;
  /** Top-k subjects by cosine, best first, whatever their score. */
  candidates: Match[];
  threshold: number;
  /** Where the threshold came from (given, calibration, known-model), and in words. */
  thresholdSource: ThresholdSource;
  basis: string;
}

export interface Verification {
  score: number;
  threshold: number;
  /** Where the threshold came from: given, calibration (at a FAR, or best accuracy) or known-model … */
  thresholdSource: ThresholdSource;
  /** … and in words. */
  basis: string;
  same: boolean;
  /** score − threshold: how far the decision is from flipping. */
  margin: number;
}

export interface IdentifyOptions extends ThresholdChoice {
  /** Candidates returned (default 5). */
  k?: number;
  /** Only subjects whose metadata has these values. */
  where?: Record<string, unknown>;
  /** Only subjects this returns true for. */
  filter?: (subject: { id: string; name: string; metadata: Record<string, unknown> }) => boolean;
}

/**
 * An approximate index that proposes candidates for identify (e.g. usearch HNSW); the gallery rescores them
 * exactly on its float32 templates. It is fed from the same change feed as the exact index.
 */
export interface CandidateAccelerator {
  upsert(id: string, vector: Float32Array): void;
  remove(id: string): void;
  candidates(query: Float32Array, n: number): string[];
}

export interface GalleryOptions {
  /** Back the search index by shared memory (so the Node adapter can scan it from worker threads). */
  sharedIndex?: boolean;
  /** Float32 rows rescored per search before the int8 error bound is checked. */
  rerank?: number;
  /**
   * Identify's first stage: 'exact' (int8 scan + error bound: the exact top-k always) or 'sketch' (1-bit sketches,
   * an eighth of the bytes: the exact top-k unless an estimate errs beyond 2.5 standard deviations; see
   * core/matching/sketch.ts). Default 'exact'.
   */
  search?: 'exact' | 'sketch';
}

const DEFAULT_MIN_SCORE = 0.6;
const DEFAULT_MIN_SIZE = 40;

/** The detection of a gallery written before faceprint knew InsightFace 1.0's Auto: one 640×640 pass. */
const LEGACY_DET_SIZES: readonly number[] = [640];

/**
 * Enrol, verify, identify and cluster over a store. The records live in the store; this keeps an in-memory exact
 * index of subject templates (for identify) and of unassigned faces (for clustering), caught up from the store's
 * change feed before every search, so several processes can share one store.
 */
export class Gallery {
  readonly store: GalleryStore;
  readonly binding: ModelBinding;
  readonly templates: ExactIndex;
  readonly unassigned: ExactIndex;
  /** The recognizer's entry in the known-model table (its threshold applies without a calibration), or null. */
  readonly knownModel: KnownRecognizer | null;
  /** The detector sizes this gallery's faces were found with, as recorded in the store (older stores: [640]). */
  readonly detSizes: readonly number[];
  private readonly subjectInfo = new Map<string, { name: string; metadata: Record<string, unknown> }>();
  private readonly clusterOf = new Map<string, string | null>();
  private seq = 0;
  private accelerator: CandidateAccelerator | null = null;
  private readonly sketchSearch: boolean;
  private syncing: Promise<void> | null = null;

  private constructor(store: GalleryStore, binding: ModelBinding, templates: ExactIndex, unassigned: ExactIndex, sketchSearch: boolean) {
    this.store = store;
    this.sketchSearch = sketchSearch;
    this.binding = binding;
    this.templates = templates;
    this.unassigned = unassigned;
    this.detSizes = binding.detSizes ?? LEGACY_DET_SIZES;
    this.knownModel = knownRecognizer(binding.recognizerSha256, this.detSizes);
  }

  /** This collection's own settings (threshold, detection, review, thumbnails); {} for a store without collections. */
  settings: CollectionSettings = {};

  /** Takes new settings (the service changed them): later requests inherit them. */
  useSettings(settings: CollectionSettings): void {
    this.settings = { ...settings };
  }

  /**
   * The threshold a decision takes with this choice: given, the collection's own, calibrated or the known model's
   * (NO_THRESHOLD if none).
   */
  async resolveThreshold(choice: ThresholdChoice = {}): Promise<ResolvedThreshold> {
    const own = this.settings.threshold;
    if (choice.threshold === undefined && choice.far === undefined && own !== undefined) {
      return { threshold: own, source: 'collection', basis: `collection ${this.store.collectionName ?? 'default'}'s threshold` };
    }
    return resolveThreshold(choice, await this.store.calibration(), this.knownModel);
  }

  /**
   * Opens a gallery bound to a recognizer (binding an empty store to it, with the detection in `binding`); another
   * recognizer is an error. A store already bound keeps the detection it recorded.
   */
  static async open(store: GalleryStore, binding: ModelBinding, options: GalleryOptions = {}): Promise<Gallery> {
    await store.bind(binding);
    const recorded = await store.binding();
    binding = { ...binding, detSizes: [...(recorded?.detSizes ?? LEGACY_DET_SIZES)] };
    const calibration = await store.calibration();
    if (calibration?.recognizerSha256 && calibration.recognizerSha256 !== binding.recognizerSha256) {
      throw new FaceprintError('GALLERY_MODEL_MISMATCH', `the gallery's calibration (${calibration.source}) was measured on another recognizer than ${binding.recognizerName}`);
    }
    if (options.search && options.search !== 'exact' && options.search !== 'sketch') throw new FaceprintError('INVALID_INPUT', `search must be exact or sketch, got ${String(options.search)}`);
    const sketch = options.search === 'sketch';
    const make = (withSketch: boolean) => ExactIndex.create({ dim: binding.dim, shared: options.sharedIndex, rerank: options.rerank, sketch: withSketch });
    const gallery = new Gallery(store, binding, await make(sketch), await make(false), sketch);
    gallery.settings = (await store.collectionSettings?.()) ?? {};
    await gallery.sync();
    return gallery;
  }

  /** The sequence number of the change feed this gallery's indexes have caught up to. */
  get syncedSeq(): number {
    return this.seq;
  }

  /**
   * Lets an approximate index propose identify candidates (unfiltered searches only), rescored exactly here.
   * The caller has brought it up to `syncedSeq`; from now on it receives every template change.
   */
  useAccelerator(accelerator: CandidateAccelerator | null): void {
    this.accelerator = accelerator;
  }

  /** Routes the template scan through another scanner (worker threads). */
  useScanner(scanner: RowScanner | undefined): void {
    this.templates.useScanner(scanner);
  }

  /** Applies the store's changes since the last sync to the in-memory indexes. */
  sync(): Promise<void> {
    // one sync at a time; concurrent callers share it
    this.syncing ??= this.applyChanges().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async applyChanges(): Promise<void> {
    if (this.seq === 0 && this.store.snapshot) {
      this.seq = await this.store.snapshot((c) => this.apply(c));
      return;
    }
    const { seq, changes } = await this.store.changesSince(this.seq);
    for (const c of changes) this.apply(c);
    this.seq = seq;
  }

  private apply(c: IndexChange): void {
    if (c.kind === 'template') {
      if (c.embedding) {
        this.templates.upsert(c.id, c.embedding);
        this.accelerator?.upsert(c.id, c.embedding);
        this.subjectInfo.set(c.id, { name: c.name, metadata: c.metadata });
      } else {
        this.templates.remove(c.id);
        this.accelerator?.remove(c.id);
        this.subjectInfo.delete(c.id);
      }
    } else if (c.embedding) {
      this.unassigned.upsert(c.id, c.embedding);
      this.clusterOf.set(c.id, c.clusterId);
    } else {
      this.unassigned.remove(c.id);
      this.clusterOf.delete(c.id);
    }
  }

  async subject(ref: string): Promise<Subject> {
    const s = await this.findSubject(ref);
    if (!s) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject with id or name ${JSON.stringify(ref)}`);
    return s;
  }

  /** The subject of an id or name, or null. */
  findSubject(ref: string): Promise<Subject | null> {
    // names are stored NFC: a name typed in another normal form finds the same subject
    return this.store.subject(ref.normalize('NFC'));
  }

  /** Enrols one face per image into a subject (created on first use); each refused image says why. */
  async enroll(subjectRef: string, images: readonly AnalyzedImage[], options: EnrollOptions = {}): Promise<EnrollResult> {
    const mode = options.review ?? this.settings.review ?? 'standard';
    const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
    const minSize = options.minSize ?? DEFAULT_MIN_SIZE;
    const refused: Refusal[] = [];
    const chosen: { face: NewFace; quality?: number }[] = [];
    const gate = poseGate(options);
    if (gate && images.some((img) => img.faces.some((f) => !f.pose))) {
      throw new FaceprintError('MODEL_MISSING', 'a pose limit (maxYaw, maxPitch) needs the 3-D landmark head (1k3d68, head landmark3d68), which gives each face its pose');
    }
    const limits = { ...DEFAULT_REVIEW_LIMITS, minScore, minSize, ...(gate && { maxYaw: gate.maxYaw, maxPitch: gate.maxPitch }) };
    subjectRef = subjectRef.normalize('NFC');
    let subject = await this.store.subject(subjectRef);
    const claimed = mode === 'strict' && subject ? templateOf((await this.store.facesOf(subject.id)).map((f) => f.embedding)) : null;
    for (const image of images) {
      // off: each photo's primary face as InsightFace ranks it, unchecked
      const pick = mode === 'off' ? chooseEnrolmentFace(image.faces, 0, 0, true) : chooseEnrolmentFace(image.faces, minScore, minSize, options.largest ?? false, gate);
      if ('reason' in pick) {
        refused.push({ source: image.source, ...pick });
        continue;
      }
      let quality: number | undefined;
      if (mode !== 'off') {
        const review = reviewFace(pick.face, limits);
        if (!review.ok) {
          refused.push({ source: image.source, reason: 'LOW_QUALITY', message: `low quality: ${failingParts(review)}`, review });
          continue;
        }
        quality = review.quality;
      }
      if (mode === 'strict') {
        const matches = await this.mislabelled(pick.face.embedding!, subject?.id ?? null, subject?.name ?? subjectRef, claimed);
        if (matches) {
          const claimedWords = matches.claimed.score === null ? 'a new person' : `${matches.claimed.score.toFixed(3)} with ${matches.claimed.name}`;
          refused.push({ source: image.source, reason: 'MISLABELLED', message: `matches ${matches.closest.name} better (${matches.closest.score.toFixed(3)}) than ${claimedWords}`, matches });
          continue;
        }
      }
      const face = toNewFace(pick.face, image);
      if (options.thumbnail && image.pixels) face.thumbnail = await options.thumbnail(image.pixels, pick.face.bbox);
      chosen.push({ face, quality });
    }
    const faces = chosen.map((c) => c.face);
    const qualityOf = new Map(chosen.map((c) => [c.face.imageSha256, c.quality]));
    if (!subject) {
      if (options.create === false) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject with id or name ${JSON.stringify(subjectRef)}`);
      if (faces.length === 0) {
        throw new FaceprintError('ENROLL_REFUSED', `no usable face to enrol ${JSON.stringify(subjectRef)}: ${refused.map((r) => `${r.source ?? 'image'}: ${r.message}`).join('; ')}`);
      }
      const created = await this.createSubjectWithFacesOrAdd(subjectRef, options.metadata, faces);
      subject = created.subject;
      return this.enrolled(subject, created, refused, qualityOf);
    }
    const written = faces.length ? await this.store.addFaces(subject.id, faces) : { added: [], duplicates: [] };
    return this.enrolled(subject, written, refused, qualityOf);
  }

  /**
   * Strict review: the person this face matches best when that is not the one it is enrolled to, at or above the
   * threshold and above its score with the claimed person (null score: a new person); null when it agrees.
   */
  private async mislabelled(embedding: Float32Array, claimedId: string | null, claimedName: string, claimed: Float32Array | null): Promise<Refusal['matches'] | null> {
    const found = await this.identify(embedding, { k: 3 });
    const other = found.candidates.find((c) => c.subjectId !== claimedId);
    if (!other || other.score < found.threshold) return null;
    const claimedScore = claimed ? cosine(embedding, claimed) : null;
    if (claimedScore !== null && claimedScore >= other.score) return null;
    return { claimed: { name: claimedName, score: claimedScore }, closest: { name: other.name, score: other.score } };
  }

  private async enrolled(subject: Subject, { added, duplicates }: { added: StoredFace[]; duplicates: NewFace[] }, refused: Refusal[], qualityOf: Map<string, number | undefined>): Promise<EnrollResult> {
    for (const d of duplicates) refused.push({ source: d.source, reason: 'DUPLICATE_IMAGE', message: 'this image is already enrolled for this subject' });
    return {
      subject: (await this.store.subject(subject.id)) ?? subject,
      accepted: added.map((f) => ({ source: f.source, faceId: f.id, ...(qualityOf.get(f.imageSha256) !== undefined && { quality: qualityOf.get(f.imageSha256) }) })),
      refused,
    };
  }

  /** A new subject with no faces yet (SUBJECT_EXISTS when the name is taken). */
  createSubject(name: string, metadata?: Record<string, unknown>): Promise<Subject> {
    return this.store.createSubject(name, metadata);
  }

  /** A new subject with its faces in one transaction; if another process created it meanwhile, the faces join theirs. */
  private async createSubjectWithFacesOrAdd(name: string, metadata: Record<string, unknown> | undefined, faces: NewFace[]): Promise<{ subject: Subject; added: StoredFace[]; duplicates: NewFace[] }> {
    try {
      return await this.store.createSubjectWithFaces(name, metadata ?? {}, faces);
    } catch (e) {
      if (e instanceof FaceprintError && e.code === 'SUBJECT_EXISTS') {
        const subject = await this.subject(name);
        return { subject, ...(await this.store.addFaces(subject.id, faces)) };
      }
      throw e;
    }
  }

  /** 1:1 — two embeddings. */
  async verify(a: ArrayLike<number>, b: ArrayLike<number>, choice: ThresholdChoice = {}): Promise<Verification> {
    this.checkDim(a);
    this.checkDim(b);
    const { threshold, source, basis } = await this.resolveThreshold(choice);
    const score = cosine(a, b);
    return { score, threshold, thresholdSource: source, basis, same: score >= threshold, margin: score - threshold };
  }

  /** 1:1 — an embedding against a subject's template. */
  async verifySubject(embedding: ArrayLike<number>, subjectRef: string, choice: ThresholdChoice = {}): Promise<Verification & { subject: Subject }> {
    const subject = await this.subject(subjectRef);
    // from the records, so it holds whichever store searches the templates
    const template = templateOf((await this.store.facesOf(subject.id)).map((f) => f.embedding));
    if (!template) throw new FaceprintError('SUBJECT_NOT_FOUND', `subject ${JSON.stringify(subject.name)} has no faces enrolled`);
    return { ...(await this.verify(embedding, template, choice)), subject };
  }

  /**
   * 1:N, open set — the top-k subjects; `subject` is null ("unknown") below the threshold. `where` keeps subjects
   * whose metadata contains these values (pushed down to SQL with pgvector); `filter` is any predicate.
   */
  async identify(embedding: ArrayLike<number>, options: IdentifyOptions = {}): Promise<Identification> {
    this.checkDim(embedding);
    const { threshold, source, basis } = await this.resolveThreshold(options);
    const k = options.k ?? 5;
    const where = options.where && Object.keys(checkMetadata(options.where, 'where')).length ? options.where : undefined;
    const userFilter = options.filter;
    const accept = (s: { id: string; name: string; metadata: Record<string, unknown> }) =>
      (!where || jsonContains(s.metadata, where)) && (!userFilter || userFilter(s));
    let candidates: Match[];
    if (this.store.searchTemplates) {
      // the store searches (pgvector); a predicate filter is applied to an over-fetched candidate list
      const hits = await this.store.searchTemplates(Float32Array.from(embedding), userFilter ? k * 8 : k, where);
      candidates = hits.filter((h) => !userFilter || userFilter(h)).slice(0, k).map((h) => ({ subjectId: h.id, name: h.name, score: h.score }));
    } else {
      await this.sync();
      const filter = where || userFilter
        ? (id: string) => {
            const info = this.subjectInfo.get(id);
            return info !== undefined && accept({ id, ...info });
          }
        : undefined;
      let hits: { id: string; score: number }[];
      if (this.accelerator && !filter) {
        const query = Float32Array.from(embedding);
        hits = this.rescore(query, this.accelerator.candidates(query, Math.max(4 * k, 40)), k);
      } else {
        hits = await this.templates.search(embedding, k, { filter, approximate: this.sketchSearch });
      }
      candidates = hits.map((h) => ({ subjectId: h.id, name: this.subjectInfo.get(h.id)?.name ?? h.id, score: h.score }));
    }
    const best = candidates[0];
    return { subject: best && best.score >= threshold ? best : null, candidates, threshold, thresholdSource: source, basis };
  }

  private rescore(query: Float32Array, ids: string[], k: number): { id: string; score: number }[] {
    const scored: { id: string; score: number }[] = [];
    for (const id of ids) {
      const v = this.templates.vector(id);
      if (v) scored.push({ id, score: cosine(query, v) });
    }
    return scored.sort((a, b) => b.score - a.score).slice(0, k);
  }

  /** Adds every face of the images as unassigned faces (for clustering); returns the stored faces. */
  /**
   * Enrols embeddings made elsewhere (under this collection's embedding contract: the caller checks it) into a
   * subject, created when `create`; each is L2-normalised, identified by the sha256 of its float32 bytes (the same
   * vector twice is a duplicate), with no box, score or picture.
   */
  async enrollEmbeddings(subjectRef: string, vectors: readonly ArrayLike<number>[], options: { create?: boolean; metadata?: Record<string, unknown>; source?: string; sha256: (bytes: Uint8Array) => Promise<string> }): Promise<EnrollResult> {
    const faces: NewFace[] = [];
    for (const v of vectors) {
      this.checkDim(v);
      let n = 0;
      for (let i = 0; i < v.length; i++) n += v[i] * v[i];
      if (!(n > 0) || !Number.isFinite(n)) throw new FaceprintError('INVALID_INPUT', 'an embedding must be finite and not all zeros');
      const norm = Math.sqrt(n);
      const embedding = Float32Array.from(v, (x) => x / norm);
      faces.push({ embedding, imageSha256: await options.sha256(new Uint8Array(embedding.buffer)), bbox: [0, 0, 0, 0], score: 1, quality: norm, source: options.source ?? 'imported embedding' });
    }
    subjectRef = subjectRef.normalize('NFC');
    let subject = await this.store.subject(subjectRef);
    if (!subject) {
      if (!options.create) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject with id or name ${JSON.stringify(subjectRef)}`);
      const created = await this.createSubjectWithFacesOrAdd(subjectRef, options.metadata, faces);
      return this.enrolled(created.subject, created, [], new Map());
    }
    subject = await this.subject(subject.id);
    return this.enrolled(subject, await this.store.addFaces(subject.id, faces), [], new Map());
  }

  async addUnknown(images: readonly AnalyzedImage[], options: Pick<EnrollOptions, 'minScore' | 'minSize'> = {}): Promise<StoredFace[]> {
    const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
    const minSize = options.minSize ?? DEFAULT_MIN_SIZE;
    // the same image (same bytes) joins the pool once, however often it is sent
    const pooled = new Set((await this.store.unassignedFaces()).map((f) => f.imageSha256));
    const fresh: AnalyzedImage[] = [];
    for (const img of images) {
      if (pooled.has(img.imageSha256)) continue;
      pooled.add(img.imageSha256);
      fresh.push(img);
    }
    const faces = fresh.flatMap((img) => img.faces.filter((f) => f.embedding && f.score >= minScore && shortSide(f) >= minSize).map((f) => toNewFace(f, img)));
    if (faces.length === 0) return [];
    return (await this.store.addFaces(null, faces)).added;
  }

  /** Groups unassigned faces into clusters, incrementally: faces clustered before keep their cluster. */
  async cluster(options: ClusterOptions = {}): Promise<ClusterReport> {
    await this.sync();
    const maxDistance = options.maxDistance ?? 1 - (await this.resolveThreshold()).threshold;
    const assignments = await clusterFaces(this.unassigned, this.clusterOf, { ...options, maxDistance });
    if (assignments.length) await this.store.setClusters(assignments);
    await this.sync();
    return { maxDistance, minFaces: options.minFaces ?? 3, ...(await this.clusters()), newlyAssigned: assignments.length };
  }

  /** The clusters as they stand (no clustering run), largest first, then by id (a total order: lists page by it). */
  async clusters(): Promise<Pick<ClusterReport, 'clusters' | 'unclustered'>> {
    const faces = await this.store.unassignedFaces();
    const byCluster = new Map<string, StoredFace[]>();
    for (const f of faces) if (f.clusterId) (byCluster.get(f.clusterId) ?? byCluster.set(f.clusterId, []).get(f.clusterId)!).push(f);
    return {
      clusters: [...byCluster.entries()]
        .map(([id, fs]) => ({ id, size: fs.length, faces: fs.map((f) => ({ id: f.id, source: f.source, bbox: f.bbox })) }))
        .sort((a, b) => b.size - a.size || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      unclustered: faces.filter((f) => !f.clusterId).length,
    };
  }

  /** Turns a cluster into a subject (its faces become that subject's). */
  promoteCluster(clusterId: string, name: string, metadata?: Record<string, unknown>): Promise<Subject> {
    return this.store.promoteCluster(clusterId, name, metadata);
  }

  listSubjects(page?: Page): Promise<SubjectPage> {
    return this.store.listSubjects(page);
  }

  async renameSubject(ref: string, name: string): Promise<Subject> {
    return this.store.updateSubject((await this.subject(ref)).id, { name });
  }

  async updateSubject(ref: string, patch: { name?: string; metadata?: Record<string, unknown> }): Promise<Subject> {
    return this.store.updateSubject((await this.subject(ref)).id, patch);
  }

  async deleteSubject(ref: string): Promise<number> {
    return this.store.deleteSubject((await this.subject(ref)).id);
  }

  async mergeSubjects(intoRef: string, fromRef: string): Promise<Subject> {
    const into = await this.subject(intoRef);
    const from = await this.subject(fromRef);
    if (into.id === from.id) throw new FaceprintError('INVALID_INPUT', 'cannot merge a subject into itself');
    return this.store.mergeSubjects(into.id, from.id);
  }

  async facesOf(ref: string): Promise<StoredFace[]> {
    return this.store.facesOf((await this.subject(ref)).id);
  }

  async deleteFace(id: string): Promise<void> {
    if (!(await this.store.deleteFace(id))) throw new FaceprintError('FACE_NOT_FOUND', `no face with id ${JSON.stringify(id)}`);
  }

  /** Deletes a face of this subject (FACE_NOT_FOUND if it is another's); returns the subject after it. */
  async deleteFaceOf(subjectRef: string, faceId: string): Promise<Subject> {
    const s = await this.subject(subjectRef);
    const face = await this.store.face(faceId);
    if (face?.subjectId !== s.id) throw new FaceprintError('FACE_NOT_FOUND', `subject ${s.name} has no face ${JSON.stringify(faceId)}`);
    await this.deleteFace(faceId);
    return this.subject(s.id);
  }

  calibration(): Promise<Calibration | null> {
    return this.store.calibration();
  }

  setCalibration(calibration: Calibration): Promise<void> {
    return this.store.setCalibration(calibration);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private checkDim(v: ArrayLike<number>): void {
    if (v.length !== this.binding.dim) {
      throw new FaceprintError('GALLERY_MODEL_MISMATCH', `embedding has ${v.length} values; this gallery holds ${this.binding.dim}-d embeddings of ${this.binding.recognizerName}`);
    }
  }
}

function shortSide(f: Face): number {
  return Math.min(f.bbox[2] - f.bbox[0], f.bbox[3] - f.bbox[1]);
}

/** Yaw and pitch limits in degrees, or null when enrolment has none. */
export interface PoseGate {
  maxYaw: number;
  maxPitch: number;
}

function poseGate(options: Pick<EnrollOptions, 'maxYaw' | 'maxPitch'>): PoseGate | null {
  for (const [name, v] of [['maxYaw', options.maxYaw], ['maxPitch', options.maxPitch]] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 180)) throw new FaceprintError('INVALID_INPUT', `${name} must be a number of degrees in [0, 180], got ${v}`);
  }
  if (options.maxYaw === undefined && options.maxPitch === undefined) return null;
  return { maxYaw: options.maxYaw ?? 180, maxPitch: options.maxPitch ?? 180 };
}

const withinPose = (f: Face, gate: PoseGate | null): boolean => !gate || !f.pose || (Math.abs(f.pose.yaw) <= gate.maxYaw && Math.abs(f.pose.pitch) <= gate.maxPitch);

/** The face to enrol from one image, or why there is none. */
export function chooseEnrolmentFace(
  faces: readonly Face[],
  minScore: number,
  minSize: number,
  largest: boolean,
  gate: PoseGate | null = null,
): { face: Face } | { reason: RefusalReason; message: string } {
  if (faces.length === 0) return { reason: 'NO_FACE', message: 'no face found' };
  const sized = faces.filter((f) => f.score >= minScore && shortSide(f) >= minSize);
  if (sized.length === 0) {
    const best = faces.reduce((a, b) => (b.score > a.score ? b : a));
    return best.score < minScore
      ? { reason: 'LOW_SCORE', message: `best face scores ${best.score.toFixed(3)}, below ${minScore}` }
      : { reason: 'TOO_SMALL', message: `faces are under ${minSize} px (largest ${Math.max(...faces.map(shortSide)).toFixed(0)} px)` };
  }
  const usable = sized.filter((f) => withinPose(f, gate));
  if (usable.length === 0) {
    const p = sized.reduce((a, b) => (area(b) > area(a) ? b : a)).pose!;
    return { reason: 'POSE', message: `face turned too far: yaw ${p.yaw.toFixed(1)}°, pitch ${p.pitch.toFixed(1)}° (limits ±${gate!.maxYaw}°, ±${gate!.maxPitch}°)` };
  }
  if (usable.length > 1 && !largest) {
    return { reason: 'MULTIPLE_FACES', message: `${usable.length} usable faces; enrol needs exactly one (or take the largest)` };
  }
  const face = usable.reduce((a, b) => (area(b) > area(a) ? b : a));
  if (!face.embedding) return { reason: 'NO_EMBEDDING', message: 'no recognizer loaded' };
  return { face };
}

function area(f: Face): number {
  return (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]);
}

function toNewFace(face: Face, image: AnalyzedImage): NewFace {
  return {
    embedding: face.embedding!,
    imageSha256: image.imageSha256,
    bbox: face.bbox,
    score: face.score,
    quality: face.embeddingNorm ?? 0,
    source: image.source,
  };
}
