/**
 * faceprint in the browser: the same core as Node on onnxruntime-web (WASM SIMD + threads; WebGPU opt-in),
 * images decoded by the browser, models fetched once and cached with their sha256 checked, the gallery in
 * IndexedDB. No image or embedding leaves the page.
 */
import { FaceAnalyzerCore, type Face } from '../core/analyzer.js';
import { DecodingAnalyzer, type PipelineOptions } from '../core/decoding-analyzer.js';
import { FaceprintError } from '../core/errors.js';
import { Gallery, type AnalyzedImage, type EnrollOptions, type EnrollResult, type Identification, type IdentifyOptions, type Verification } from '../core/gallery/gallery.js';
import type { ClusterOptions, ClusterReport } from '../core/gallery/cluster.js';
import type { ThresholdChoice } from '../core/gallery/template.js';
import type { GalleryStore, ModelBinding } from '../core/gallery/types.js';
import type { RgbImage } from '../core/image.js';
import { detectorFrom, openRouted, recognizerFrom, type RoutedModel, type SessionFactory } from '../core/models/assemble.js';
import { createOrtWebSession, type OrtWebOptions } from '../runtime/ort-web.js';
import { decodeWebImage, type WebDecodeOptions, type WebImageInput } from './decode.js';
import { loadModelBytes, sha256Hex, type WebModelInput } from './models.js';
import { openIndexedDbGallery } from './idb-store.js';

export * from '../core/index.js';
export { decodeWebImage, type WebImageInput, type WebDecodeOptions } from './decode.js';
export { loadModelBytes, sha256Hex, type WebModelInput, type FetchModelOptions } from './models.js';
export { openIndexedDbGallery, deleteIndexedDbGallery } from './idb-store.js';
export { createOrtWebSession, type OrtWebOptions } from '../runtime/ort-web.js';

export interface WebFaceAnalyzerOptions extends OrtWebOptions, WebDecodeOptions, PipelineOptions {
  /** SCRFD detector: URL (fetched, cached), File, Blob or bytes. */
  detector: WebModelInput;
  /** ArcFace-style recognizer, likewise. */
  recognizer?: WebModelInput;
  /** Expected sha256 of each model (hex): a copy that differs is refused. */
  detectorSha256?: string;
  recognizerSha256?: string;
  /** Cache Storage bucket for downloaded models (false: none). */
  cache?: string | false;
  onProgress?: (model: 'detector' | 'recognizer', loaded: number, total: number | null) => void;
}

/** The browser's FaceAnalyzer: the Node one's API with browser inputs. */
export class FaceAnalyzer extends DecodingAnalyzer<WebImageInput> {
  /** sha256 of the recognizer model (what a gallery binds to), null without one. */
  readonly recognizerSha256: string | null;
  readonly recognizerName: string | null;
  private readonly decodeOptions: WebDecodeOptions;

  private constructor(core: FaceAnalyzerCore, recognizerSha256: string | null, recognizerName: string | null, decodeOptions: WebDecodeOptions) {
    super(core);
    this.recognizerSha256 = recognizerSha256;
    this.recognizerName = recognizerName;
    this.decodeOptions = decodeOptions;
  }

  static async create(options: WebFaceAnalyzerOptions): Promise<FaceAnalyzer> {
    const open: SessionFactory = (bytes, source) => createOrtWebSession(bytes, source, options);
    const cache = options.cache;
    const det = await loadModelBytes(options.detector, { sha256: options.detectorSha256, cache, onProgress: (l, t) => options.onProgress?.('detector', l, t) });
    const rec = options.recognizer
      ? await loadModelBytes(options.recognizer, { sha256: options.recognizerSha256, cache, onProgress: (l, t) => options.onProgress?.('recognizer', l, t) })
      : null;
    const opened: RoutedModel[] = [];
    try {
      const detModel = await openRouted(det.bytes, det.source, open);
      opened.push(detModel);
      const size = options.detSize ?? 640;
      const detector = await detectorFrom(detModel, open, typeof size === 'number' ? [size, size] : size, options.uint8Input !== false);
      let recognizer = null;
      if (rec) {
        const recModel = await openRouted(rec.bytes, rec.source, open);
        opened.push(recModel);
        recognizer = recognizerFrom(recModel, options.maxBatch);
      }
      const core = new FaceAnalyzerCore(detector, recognizer, { scoreThreshold: options.detThresh, nmsThreshold: options.nmsThresh, maxFaces: options.maxFaces });
      return new FaceAnalyzer(core, rec?.sha256 ?? null, rec ? rec.source.split('/').pop()! : null, { pixelLimit: options.pixelLimit });
    } catch (e) {
      for (const m of opened) await m.session.close().catch(() => undefined);
      throw e;
    }
  }

  decode(input: WebImageInput): Promise<RgbImage> {
    return decodeWebImage(input, this.decodeOptions);
  }

  protected isPixels(input: WebImageInput | RgbImage): input is RgbImage {
    return 'data' in input && input.data instanceof Uint8Array && !(typeof ImageData !== 'undefined' && input instanceof ImageData);
  }

  /** What a gallery binds to: the recognizer's sha256 and embedding size. */
  async binding(): Promise<ModelBinding> {
    const rec = this.core.recognizer;
    if (!rec || !this.recognizerSha256) throw new FaceprintError('MODEL_MISSING', 'a gallery needs a recognizer model');
    let dim = rec.embeddingSize;
    if (!dim) dim = (await rec.embedRaw([{ width: rec.inputSize, height: rec.inputSize, data: new Uint8Array(rec.inputSize ** 2 * 3) }]))[0].length;
    return { recognizerSha256: this.recognizerSha256, dim, recognizerName: this.recognizerName ?? 'recognizer' };
  }

}

/** An image for the browser gallery, with an optional label kept with its faces. */
export type BrowserGalleryImage = WebImageInput | { image: WebImageInput; source?: string };

/** The gallery in the page: enrol, verify, identify, cluster, the records in IndexedDB (or any store). */
export class BrowserGallery {
  readonly analyzer: FaceAnalyzer;
  readonly gallery: Gallery;

  private constructor(analyzer: FaceAnalyzer, gallery: Gallery) {
    this.analyzer = analyzer;
    this.gallery = gallery;
  }

  /** Opens (creating on first use) the IndexedDB gallery `name`, or the given store. */
  static async open(analyzer: FaceAnalyzer, store: string | GalleryStore = 'faceprint-gallery'): Promise<BrowserGallery> {
    const s = typeof store === 'string' ? await openIndexedDbGallery(store) : store;
    return new BrowserGallery(analyzer, await Gallery.open(s, await analyzer.binding()));
  }

  /** Decodes and analyses images, their crops embedded together (as the Node gallery does). */
  async analyzeImages(images: readonly BrowserGalleryImage[]): Promise<AnalyzedImage[]> {
    const decoded = await Promise.all(images.map(async (item) => {
      const { image, source } = isLabelled(item) ? item : { image: item, source: item instanceof File ? item.name : undefined };
      const pixels = await this.analyzer.decode(image);
      // the same photo enrolled twice is recognised by its bytes when it has them, else by its pixels
      const imageSha256 = await sha256Hex(image instanceof Blob ? new Uint8Array(await image.arrayBuffer()) : pixels.data);
      return { pixels, source, imageSha256 };
    }));
    const faces = await this.analyzer.core.analyzeMany(decoded.map((d) => d.pixels), { padRetry: true });
    return decoded.map((d, i) => ({ imageSha256: d.imageSha256, source: d.source, faces: faces[i] }));
  }

  async enroll(subject: string, images: readonly BrowserGalleryImage[], options: EnrollOptions = {}): Promise<EnrollResult> {
    return this.gallery.enroll(subject, await this.analyzeImages(images), options);
  }

  async identify(image: BrowserGalleryImage, options: IdentifyOptions = {}): Promise<(Identification & { face: Pick<Face, 'bbox' | 'kps' | 'score'> })[]> {
    const [analyzed] = await this.analyzeImages([image]);
    const out = [];
    for (const f of analyzed.faces) {
      if (f.embedding) out.push({ face: { bbox: f.bbox, kps: f.kps, score: f.score }, ...(await this.gallery.identify(f.embedding, options)) });
    }
    return out;
  }

  async verify(a: BrowserGalleryImage, b: BrowserGalleryImage, choice: ThresholdChoice = {}): Promise<Verification> {
    const [ea, eb] = await Promise.all([this.primary(a), this.primary(b)]);
    return this.gallery.verify(ea, eb, choice);
  }

  async cluster(images: readonly BrowserGalleryImage[], options: ClusterOptions = {}): Promise<ClusterReport> {
    if (images.length) await this.gallery.addUnknown(await this.analyzeImages(images));
    return this.gallery.cluster(options);
  }

  close(): Promise<void> {
    return this.gallery.close();
  }

  private async primary(image: BrowserGalleryImage): Promise<Float32Array> {
    const [analyzed] = await this.analyzeImages([image]);
    const face = analyzed.faces[0];
    if (!face?.embedding) throw new FaceprintError('NO_FACE', `no face found in ${analyzed.source ?? 'the image'}`);
    return face.embedding;
  }
}

function isLabelled(x: BrowserGalleryImage): x is { image: WebImageInput; source?: string } {
  return typeof x === 'object' && x !== null && 'image' in x && !(x instanceof Blob);
}
