import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { FaceprintError } from '../../core/errors.js';
import {
  Gallery, type AnalyzedImage, type EnrollOptions, type EnrollResult, type Identification, type IdentifyOptions, type Verification,
} from '../../core/gallery/gallery.js';
import type { ClusterOptions, ClusterReport } from '../../core/gallery/cluster.js';
import type { ThresholdChoice } from '../../core/gallery/template.js';
import type { GalleryStore, ModelBinding } from '../../core/gallery/types.js';
import type { Face } from '../../core/analyzer.js';
import type { FaceAnalyzer } from '../index.js';
import { openStore } from '../../storage/open.js';
import { ScanWorkers } from './scan-workers.js';
import { UsearchAccelerator, type UsearchOptions } from './usearch-accelerator.js';

export type { AnalyzedImage, EnrollOptions, EnrollResult, Identification, IdentifyOptions, Verification, ClusterOptions, ClusterReport, ThresholdChoice };

/** An image given by path or as encoded bytes (with an optional label for reports). */
export type GalleryImage = string | { data: Uint8Array; source?: string };

export interface FaceGalleryOptions {
  analyzer: FaceAnalyzer;
  /** A store, or where one is: a SQLite file path (`./faceprint.db`, `sqlite:…`) or `postgres://…`. */
  store: string | GalleryStore;
  /** Threads for the exact search scan (default: 1; 2+ splits large galleries over worker threads). */
  searchThreads?: number;
  /** Retry images without a detection on a padded canvas (tight face crops; default true). */
  padRetry?: boolean;
  /**
   * Propose identify candidates with a usearch f16 HNSW index (rescored exactly) — for large galleries where an
   * exact scan per query is too slow. Its cache file defaults to the SQLite file + `.usearch`.
   */
  usearch?: boolean | UsearchOptions;
  /** Identify's first stage: 'exact' (default) or 'sketch' (1-bit sketches; see GalleryOptions.search). */
  search?: 'exact' | 'sketch';
}

export interface FaceIdentification extends Identification {
  face: Pick<Face, 'bbox' | 'kps' | 'score'>;
}

const modelHashes = new Map<string, { key: string; sha256: string }>();

/** sha256 of a model file, cached per path, size and mtime (the recognizer's identity in a gallery). */
export async function modelSha256(path: string): Promise<string> {
  const s = await stat(path);
  const key = `${s.size}:${s.mtimeMs}`;
  const hit = modelHashes.get(path);
  if (hit?.key === key) return hit.sha256;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  modelHashes.set(path, { key, sha256 });
  return sha256;
}

/** The gallery binding of an analyzer: its recognizer's sha256 and embedding size. */
export async function recognizerBinding(analyzer: FaceAnalyzer): Promise<ModelBinding> {
  const rec = analyzer.core.recognizer;
  if (!rec || !analyzer.recognizerPath) throw new FaceprintError('MODEL_MISSING', 'a gallery needs a recognizer model');
  let dim = rec.embeddingSize;
  if (!dim) {
    // symbolic output size: one run on a blank crop tells it
    const s = rec.inputSize;
    const [raw] = await rec.embedRaw([{ width: s, height: s, data: new Uint8Array(s * s * 3) }]);
    dim = raw.length;
  }
  return { recognizerSha256: await modelSha256(analyzer.recognizerPath), dim, recognizerName: basename(analyzer.recognizerPath) };
}

/**
 * The gallery with images in and out: decodes, detects and embeds with a FaceAnalyzer, and keeps the records in a
 * SQLite file or PostgreSQL (see `Gallery` for the operations and their rules).
 */
export class FaceGallery {
  readonly analyzer: FaceAnalyzer;
  readonly gallery: Gallery;
  private readonly padRetry: boolean;
  private readonly workers: ScanWorkers | null;
  private accelerator: UsearchAccelerator | null = null;

  private constructor(analyzer: FaceAnalyzer, gallery: Gallery, padRetry: boolean, workers: ScanWorkers | null) {
    this.analyzer = analyzer;
    this.gallery = gallery;
    this.padRetry = padRetry;
    this.workers = workers;
  }

  static async open(options: FaceGalleryOptions): Promise<FaceGallery> {
    const binding = await recognizerBinding(options.analyzer);
    const store = typeof options.store === 'string' ? await openStore(options.store) : options.store;
    try {
      const threads = options.searchThreads ?? 1;
      const gallery = await Gallery.open(store, binding, { sharedIndex: threads > 1, search: options.search });
      const workers = threads > 1 ? await ScanWorkers.start(gallery.templates, threads) : null;
      const fg = new FaceGallery(options.analyzer, gallery, options.padRetry ?? true, workers);
      if (options.usearch) {
        const given = typeof options.usearch === 'object' ? options.usearch : {};
        const cachePath = given.cachePath ?? (typeof options.store === 'string' && !/^postgres/i.test(options.store) ? `${options.store.replace(/^sqlite:(\/\/)?/i, '')}.usearch` : undefined);
        fg.accelerator = (await UsearchAccelerator.attach(gallery, { ...given, cachePath })).accelerator;
      }
      return fg;
    } catch (e) {
      await store.close().catch(() => undefined);
      throw e;
    }
  }

  /** Decodes and analyses images (their crops embedded together); each result carries the image's sha256. */
  async analyzeImages(images: readonly GalleryImage[]): Promise<AnalyzedImage[]> {
    const loaded = await Promise.all(images.map(loadImage));
    const pixels = await Promise.all(loaded.map((l) => this.analyzer.decode(l.data)));
    const faces = await this.analyzer.core.analyzeMany(pixels, { padRetry: this.padRetry });
    return loaded.map((l, i) => ({ imageSha256: sha256(l.data), source: l.source, faces: faces[i] }));
  }

  /**
   * Enrols images into a subject, `chunk` images analysed at a time; an image that cannot be read is refused
   * with its error code rather than failing the rest.
   */
  async enroll(subject: string, images: readonly GalleryImage[], options: EnrollOptions & { chunk?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<EnrollResult> {
    const analyzed: AnalyzedImage[] = [];
    const unreadable: EnrollResult['refused'] = [];
    const chunk = options.chunk ?? 8;
    for (let i = 0; i < images.length; i += chunk) {
      const part = images.slice(i, i + chunk);
      try {
        analyzed.push(...(await this.analyzeImages(part)));
      } catch {
        // one bad file in the chunk: analyse one by one to refuse just that one
        for (const img of part) {
          try {
            analyzed.push(...(await this.analyzeImages([img])));
          } catch (e) {
            if (!(e instanceof FaceprintError)) throw e;
            unreadable.push({ source: typeof img === 'string' ? img : img.source, reason: 'NO_FACE', message: `${e.code}: ${e.message}` });
          }
        }
      }
      options.onProgress?.(Math.min(i + chunk, images.length), images.length);
    }
    if (analyzed.length === 0) {
      throw new FaceprintError('ENROLL_REFUSED', `no readable image to enrol: ${unreadable.map((r) => `${r.source}: ${r.message}`).join('; ')}`);
    }
    const result = await this.gallery.enroll(subject, analyzed, options);
    result.refused.push(...unreadable);
    return result;
  }

  /** 1:1 between the primary faces of two images. */
  async verify(a: GalleryImage, b: GalleryImage, choice: ThresholdChoice = {}): Promise<Verification> {
    const [ea, eb] = await Promise.all([this.primaryEmbedding(a), this.primaryEmbedding(b)]);
    return this.gallery.verify(ea, eb, choice);
  }

  /** 1:1 between an image's primary face and an enrolled subject. */
  async verifySubject(image: GalleryImage, subject: string, choice: ThresholdChoice = {}) {
    return this.gallery.verifySubject(await this.primaryEmbedding(image), subject, choice);
  }

  /** 1:N for every face in the image. */
  async identify(image: GalleryImage, options: IdentifyOptions = {}): Promise<FaceIdentification[]> {
    const [analyzed] = await this.analyzeImages([image]);
    const out: FaceIdentification[] = [];
    for (const f of analyzed.faces) {
      if (!f.embedding) continue;
      out.push({ face: { bbox: f.bbox, kps: f.kps, score: f.score }, ...(await this.gallery.identify(f.embedding, options)) });
    }
    return out;
  }

  /** Adds the faces of new photos and clusters every unassigned face (incrementally). */
  async cluster(images: readonly GalleryImage[], options: ClusterOptions & { minScore?: number; minSize?: number } = {}): Promise<ClusterReport> {
    const chunk = 8;
    for (let i = 0; i < images.length; i += chunk) await this.gallery.addUnknown(await this.analyzeImages(images.slice(i, i + chunk)), options);
    return this.gallery.cluster(options);
  }

  async close(): Promise<void> {
    await this.accelerator?.save(this.gallery);
    await this.workers?.close();
    await this.gallery.close();
  }

  private async primaryEmbedding(image: GalleryImage): Promise<Float32Array> {
    const loaded = await loadImage(image);
    const pixels = await this.analyzer.decode(loaded.data);
    const [face] = await this.analyzer.core.analyze(pixels, { maxFaces: 1, padRetry: this.padRetry });
    if (!face?.embedding) throw new FaceprintError('NO_FACE', `no face found in ${loaded.source ?? 'the image'}`);
    return face.embedding;
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function loadImage(image: GalleryImage): Promise<{ data: Uint8Array; source?: string }> {
  if (typeof image !== 'string') return image;
  try {
    return { data: await readFile(image), source: image };
  } catch (e) {
    throw new FaceprintError('IMAGE_NOT_FOUND', `cannot read ${image}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
