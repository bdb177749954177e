import type { FaceAnalyzerCore } from '../analyzer.js';
import { FaceprintError, type FaceprintErrorCode } from '../errors.js';
import { faceToJson, type FaceJson } from '../face-json.js';
import type { RgbImage } from '../image.js';
import type { ClusterOptions, ClusterReport } from './cluster.js';
import type { AnalyzedImage, EnrollOptions, EnrollResult, Gallery, Identification, IdentifyOptions, Verification } from './gallery.js';
import type { ThresholdChoice } from './template.js';
import { selectFace, type FaceSelection } from './select.js';
import type { Box, Subject } from './types.js';

/** An input read by the platform: its encoded bytes when it has them (files, blobs), else its pixels, and a label. */
export interface ReadImage {
  bytes?: Uint8Array;
  pixels?: RgbImage;
  source?: string;
}

/** What Node and the browser give the image gallery: reading inputs, decoding bytes, hashing. Nothing else differs. */
export interface ImagePlatform<Input> {
  /** Reads an input; failures are FaceprintErrors (IMAGE_NOT_FOUND, …). */
  read(input: Input): Promise<ReadImage>;
  /** Decodes encoded bytes as the reference does. */
  decode(bytes: Uint8Array, signal?: AbortSignal): Promise<RgbImage>;
  /** sha256 hex of bytes: an image's identity is the sha256 of its encoded bytes (of its pixels when it has none). */
  sha256(data: Uint8Array): Promise<string>;
  /** A label for an input that could not even be read (e.g. its path). */
  label?(input: Input): string | undefined;
  /** A 112×112 JPEG of a face's box (for collections that keep thumbnails); platforms without one keep none. */
  thumbnail?(pixels: RgbImage, bbox: Box): Promise<Uint8Array>;
}

/** Every face of an identify call: the face as JSON and its identification. */
export interface FaceIdentification extends Identification {
  face: FaceJson;
}

/** One image's analysis, or the error that stopped it (the rest of a call goes on). */
export type AnalysisOutcome = { ok: true; image: AnalyzedImage } | { ok: false; source?: string; code: FaceprintErrorCode; message: string };

export interface ImageGalleryOptions {
  /** Retry images without a detection on a padded canvas (tight face crops; default true). */
  padRetry?: boolean;
  /** Detector sizes for this session's analyses; default: the ones the gallery recorded. */
  detSizes?: readonly number[];
}

/**
 * The gallery with images in and out, the same in Node and the browser: reads and decodes through the platform,
 * analyses (crops of all images together), and applies the gallery's rules — the primary face of an image is the
 * one InsightFace's max_num=1 ranking picks, an image that cannot be read is refused with its own error code
 * without failing the others, the same bytes are the same image.
 */
export class ImageGallery<Input> {
  /** The detect → align → embed → heads pipeline the images go through. */
  readonly pipeline: FaceAnalyzerCore;
  readonly gallery: Gallery;
  protected readonly platform: ImagePlatform<Input>;
  protected readonly padRetry: boolean;
  /** The detector sizes its images go through: the gallery's recorded ones unless the options said otherwise. */
  readonly detSizes: readonly number[];

  constructor(pipeline: FaceAnalyzerCore, gallery: Gallery, platform: ImagePlatform<Input>, options: ImageGalleryOptions = {}) {
    this.pipeline = pipeline;
    this.gallery = gallery;
    this.platform = platform;
    this.padRetry = options.padRetry ?? true;
    this.detSizes = options.detSizes ?? gallery.detSizes;
  }

  /**
   * Reads, decodes and analyses images (with the collection's detection score threshold); each outcome is the
   * analysis or that image's error. `forEnrolment`: the aligned crops (for the review) and pixels (for a thumbnail) kept.
   */
  async analyzeEach(inputs: readonly Input[], maxFaces?: number, signal?: AbortSignal, forEnrolment = false): Promise<AnalysisOutcome[]> {
    const loaded = await Promise.all(inputs.map(async (input) => {
      signal?.throwIfAborted();
      try {
        const read = await this.platform.read(input);
        const pixels = read.pixels ?? (await this.platform.decode(read.bytes!, signal));
        const imageSha256 = await this.platform.sha256(read.bytes ?? pixels.data);
        return { ok: true as const, pixels, source: read.source, imageSha256 };
      } catch (e) {
        if (!(e instanceof FaceprintError)) throw e;
        return { ok: false as const, source: this.platform.label?.(input), code: e.code, message: e.message };
      }
    }));
    const good = loaded.filter((l) => l.ok);
    signal?.throwIfAborted();
    const faces = await this.pipeline.analyzeMany(good.map((l) => l.pixels), {
      padRetry: this.padRetry, maxFaces, signal, detSizes: this.detSizes, includeCrops: forEnrolment,
      ...(this.gallery.settings.detThresh !== undefined && { detThresh: this.gallery.settings.detThresh }),
    });
    const keepPixels = forEnrolment && this.gallery.settings.thumbnails && !!this.platform.thumbnail;
    let next = 0;
    return loaded.map((l) => (l.ok ? { ok: true, image: { imageSha256: l.imageSha256, source: l.source, width: l.pixels.width, height: l.pixels.height, faces: faces[next++], ...(keepPixels && { pixels: l.pixels }) } } : l));
  }

  /** Reads and analyses images; the first unreadable one fails the call. */
  async analyzeImages(inputs: readonly Input[], signal?: AbortSignal): Promise<AnalyzedImage[]> {
    return (await this.analyzeEach(inputs, undefined, signal)).map((o) => {
      if (!o.ok) throw new FaceprintError(o.code, o.message);
      return o.image;
    });
  }

  /**
   * Enrols images into a subject, `chunk` images analysed at a time; an image that cannot be read is refused with
   * its own error code rather than failing the rest. When nothing can be enrolled, nothing is stored.
   */
  async enroll(subject: string, inputs: readonly Input[], options: EnrollOptions & { chunk?: number; onProgress?: (done: number, total: number) => void; signal?: AbortSignal } = {}): Promise<EnrollResult> {
    const analyzed: AnalyzedImage[] = [];
    const unreadable: EnrollResult['refused'] = [];
    const chunk = Math.max(1, options.chunk ?? 8);
    for (let i = 0; i < inputs.length; i += chunk) {
      for (const o of await this.analyzeEach(inputs.slice(i, i + chunk), undefined, options.signal, true)) {
        if (o.ok) analyzed.push(o.image);
        else unreadable.push({ source: o.source, reason: o.code, message: o.message });
      }
      options.onProgress?.(Math.min(i + chunk, inputs.length), inputs.length);
    }
    if (analyzed.length === 0) {
      throw new FaceprintError('ENROLL_REFUSED', `no readable image to enrol: ${unreadable.map((r) => `${r.source ?? 'image'}: ${r.reason}: ${r.message}`).join('; ')}`);
    }
    // the last moment to stop: nothing has been written yet
    options.signal?.throwIfAborted();
    const thumbnail = this.gallery.settings.thumbnails ? this.platform.thumbnail?.bind(this.platform) : undefined;
    const result = await this.gallery.enroll(subject, analyzed, { ...options, ...(thumbnail && { thumbnail }) });
    result.refused.push(...unreadable);
    return result;
  }

  /** 1:1 between the primary faces of two images (or the faces `select` picks). */
  async verify(a: Input, b: Input, choice: ThresholdChoice & { signal?: AbortSignal; select?: FaceSelection } = {}): Promise<Verification> {
    const [ea, eb] = await Promise.all([this.primaryEmbedding(a, choice.signal, choice.select), this.primaryEmbedding(b, choice.signal, choice.select)]);
    return this.gallery.verify(ea, eb, choice);
  }

  /** 1:1 between an image's primary face and an enrolled subject. */
  async verifySubject(image: Input, subject: string, choice: ThresholdChoice & { signal?: AbortSignal; select?: FaceSelection } = {}): Promise<Verification & { subject: Subject }> {
    return this.gallery.verifySubject(await this.primaryEmbedding(image, choice.signal, choice.select), subject, choice);
  }

  /** 1:N for every face in the image. */
  async identify(image: Input, options: IdentifyOptions & { signal?: AbortSignal } = {}): Promise<FaceIdentification[]> {
    const [analyzed] = await this.analyzeImages([image], options.signal);
    const out: FaceIdentification[] = [];
    for (const f of analyzed.faces) {
      if (!f.embedding) continue;
      out.push({ face: faceToJson(f), ...(await this.gallery.identify(f.embedding, options)) });
    }
    return out;
  }

  /** Adds the faces of new photos and clusters every unassigned face (incrementally). */
  async cluster(images: readonly Input[], options: ClusterOptions & { minScore?: number; minSize?: number; signal?: AbortSignal } = {}): Promise<ClusterReport> {
    // resolved before any face is added: a clustering that cannot run (no threshold) leaves nothing in the pool
    const maxDistance = options.maxDistance ?? 1 - (await this.gallery.resolveThreshold()).threshold;
    const chunk = 8;
    // every image analysed (a chunk of pixels at a time) before any face is added: a call stopped half-way
    // (unreadable image, client gone) leaves the pool as it was
    const analyzed: AnalyzedImage[] = [];
    for (let i = 0; i < images.length; i += chunk) analyzed.push(...(await this.analyzeImages(images.slice(i, i + chunk), options.signal)));
    options.signal?.throwIfAborted();
    if (analyzed.length) await this.gallery.addUnknown(analyzed, options);
    return this.gallery.cluster({ ...options, maxDistance });
  }

  /**
   * The embedding of the image's primary face: the largest and most central (InsightFace's max_num=1 ranking), or
   * the one another rule picks (largest, center_largest: selectFace).
   */
  async primaryEmbedding(image: Input, signal?: AbortSignal, select: FaceSelection = 'insightface'): Promise<Float32Array> {
    const [o] = await this.analyzeEach([image], select === 'insightface' ? 1 : undefined, signal);
    if (!o.ok) throw new FaceprintError(o.code, o.message);
    const face = select === 'insightface' ? o.image.faces[0] : selectFace(o.image.faces, o.image.width ?? 0, o.image.height ?? 0, select);
    if (!face?.embedding) throw new FaceprintError('NO_FACE', `no face found in ${o.image.source ?? 'the image'}`);
    return face.embedding;
  }
}
