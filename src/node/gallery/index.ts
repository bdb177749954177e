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
import type { Box, GalleryStore, ModelBinding } from '../../core/gallery/types.js';
import type { RgbImage } from '../../core/image.js';
import sharp from 'sharp';
import { ImageGallery, type FaceIdentification, type ImagePlatform } from '../../core/gallery/image-gallery.js';
import type { FaceAnalyzer } from '../index.js';
import { openStore } from '../../storage/open.js';
import { ScanWorkers } from './scan-workers.js';
import { UsearchAccelerator, type UsearchOptions } from './usearch-accelerator.js';

export type { FaceIdentification, AnalyzedImage, EnrollOptions, EnrollResult, Identification, IdentifyOptions, Verification, ClusterOptions, ClusterReport, ThresholdChoice };

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
  /**
   * Detector sizes for this session's analyses. Default: what the gallery recorded (a new gallery records the
   * analyzer's sizes; a gallery from before faceprint knew Auto, [640]).
   */
  detSizes?: number[];
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
  return { recognizerSha256: await modelSha256(analyzer.recognizerPath), dim, recognizerName: basename(analyzer.recognizerPath), detSizes: analyzer.core.detSizesFor() };
}

/** Node's platform for the core ImageGallery: files and buffers, decoded by sharp, hashed by node:crypto. */
function nodePlatform(analyzer: FaceAnalyzer): ImagePlatform<GalleryImage> {
  return {
    read: loadImage,
    decode: (bytes, signal) => analyzer.decode(bytes, { signal }),
    sha256: async (data) => createHash('sha256').update(data).digest('hex'),
    label: (input) => (typeof input === 'string' ? input : input.source),
    thumbnail: faceThumbnail,
  };
}

/** A 112×112 JPEG of a face: the square around its box (clamped to the image), scaled. */
async function faceThumbnail(pixels: RgbImage, bbox: Box): Promise<Uint8Array> {
  const side = Math.max(bbox[2] - bbox[0], bbox[3] - bbox[1]);
  const left = Math.max(0, Math.round((bbox[0] + bbox[2]) / 2 - side / 2));
  const top = Math.max(0, Math.round((bbox[1] + bbox[3]) / 2 - side / 2));
  const width = Math.max(1, Math.min(pixels.width - left, Math.round(side)));
  const height = Math.max(1, Math.min(pixels.height - top, Math.round(side)));
  return sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
    .extract({ left: Math.min(left, pixels.width - 1), top: Math.min(top, pixels.height - 1), width, height })
    .resize(112, 112, { fit: 'cover' })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/**
 * The gallery with images in and out: decodes, detects and embeds with a FaceAnalyzer, and keeps the records in a
 * SQLite file or PostgreSQL (see `ImageGallery` for the image rules and `Gallery` for the operations).
 */
export class FaceGallery extends ImageGallery<GalleryImage> {
  readonly analyzer: FaceAnalyzer;
  private readonly workers: ScanWorkers | null;
  private accelerator: UsearchAccelerator | null = null;

  private constructor(analyzer: FaceAnalyzer, gallery: Gallery, options: FaceGalleryOptions, workers: ScanWorkers | null) {
    super(analyzer.core, gallery, nodePlatform(analyzer), { padRetry: options.padRetry ?? true, detSizes: options.detSizes });
    this.analyzer = analyzer;
    this.workers = workers;
  }

  static async open(options: FaceGalleryOptions): Promise<FaceGallery> {
    const binding = { ...(await recognizerBinding(options.analyzer)), ...(options.detSizes ? { detSizes: options.detSizes } : {}) };
    const store = typeof options.store === 'string' ? await openStore(options.store) : options.store;
    try {
      const threads = options.searchThreads ?? 1;
      const gallery = await Gallery.open(store, binding, { sharedIndex: threads > 1, search: options.search });
      const workers = threads > 1 ? await ScanWorkers.start(gallery.templates, threads) : null;
      const fg = new FaceGallery(options.analyzer, gallery, options, workers);
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

  async close(): Promise<void> {
    await this.accelerator?.save(this.gallery);
    await this.workers?.close();
    await this.gallery.close();
  }
}

async function loadImage(image: GalleryImage): Promise<{ bytes: Uint8Array; source?: string }> {
  if (typeof image !== 'string') return { bytes: image.data, source: image.source };
  try {
    return { bytes: await readFile(image), source: image };
  } catch (e) {
    throw new FaceprintError('IMAGE_NOT_FOUND', `cannot read ${image}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
