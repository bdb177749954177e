/**
 * faceprint in the browser: the same core as Node on onnxruntime-web (WASM SIMD + threads; WebGPU opt-in),
 * images decoded by the browser, models fetched once and cached with their sha256 checked, the gallery in
 * IndexedDB. No image or embedding leaves the page.
 */
import { FaceAnalyzerCore } from '../core/analyzer.js';
import { PlatformAnalyzer, resolveDetection, type PipelineOptions } from '../core/platform-analyzer.js';
import { FaceprintError } from '../core/errors.js';
import { Gallery } from '../core/gallery/gallery.js';
import { ImageGallery, type ImagePlatform } from '../core/gallery/image-gallery.js';
import type { GalleryStore, ModelBinding } from '../core/gallery/types.js';
import type { RgbImage } from '../core/image.js';
import { detectorFrom, headFrom, openRouted, recognizerFrom, type RoutedModel, type SessionFactory } from '../core/models/assemble.js';
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
  /**
   * Per-face heads (2d106det, 1k3d68, genderage or models of their interfaces), likewise: each face then gains
   * landmark2d106, landmark3d68 and pose, gender/sex/age. Run in the order given.
   */
  heads?: WebModelInput[];
  /** Expected sha256 of each model (hex): a copy that differs is refused. */
  detectorSha256?: string;
  recognizerSha256?: string;
  headsSha256?: (string | undefined)[];
  /** Cache Storage bucket for downloaded models (false: none). */
  cache?: string | false;
  onProgress?: (model: 'detector' | 'recognizer' | 'head', loaded: number, total: number | null) => void;
}

/** The browser's FaceAnalyzer: the Node one's API with browser inputs. */
export class FaceAnalyzer extends PlatformAnalyzer<WebImageInput> {
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
    const headBytes = await Promise.all((options.heads ?? []).map((h, i) =>
      loadModelBytes(h, { sha256: options.headsSha256?.[i], cache, onProgress: (l, t) => options.onProgress?.('head', l, t) })));
    const opened: RoutedModel[] = [];
    try {
      const detModel = await openRouted(det.bytes, det.source, open);
      opened.push(detModel);
      const detection = resolveDetection(options);
      const detector = await detectorFrom(detModel, open, detection.base, options.uint8Input !== false);
      let recognizer = null;
      if (rec) {
        const recModel = await openRouted(rec.bytes, rec.source, open);
        opened.push(recModel);
        recognizer = recognizerFrom(recModel, options.maxBatch);
      }
      const heads = [];
      for (const h of headBytes) {
        const model = await openRouted(h.bytes, h.source, open);
        opened.push(model);
        heads.push(await headFrom(model, open, { maxBatch: options.maxBatch, uint8Input: options.uint8Input !== false }));
      }
      const core = new FaceAnalyzerCore(detector, recognizer, { detThresh: options.detThresh, detInput: options.detInput, detSizes: detection.detSizes, nmsThresh: options.nmsThresh, maxFaces: options.maxFaces }, heads);
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

  /** What a gallery binds to: the recognizer's sha256 and embedding size, and the detector sizes in force. */
  async binding(): Promise<ModelBinding> {
    const rec = this.core.recognizer;
    if (!rec || !this.recognizerSha256) throw new FaceprintError('MODEL_MISSING', 'a gallery needs a recognizer model');
    let dim = rec.embeddingSize;
    if (!dim) dim = (await rec.embedRaw([{ width: rec.inputSize, height: rec.inputSize, data: new Uint8Array(rec.inputSize ** 2 * 3) }]))[0].length;
    return { recognizerSha256: this.recognizerSha256, dim, recognizerName: this.recognizerName ?? 'recognizer', detSizes: this.core.detSizesFor() };
  }

}

/** An image for the browser gallery, with an optional label kept with its faces. */
export type BrowserGalleryImage = WebImageInput | { image: WebImageInput; source?: string };

/** The browser's platform for the core ImageGallery: blobs keep their bytes (the image's identity); other inputs their pixels. */
function browserPlatform(analyzer: FaceAnalyzer): ImagePlatform<BrowserGalleryImage> {
  return {
    async read(item) {
      const { image, source } = isLabelled(item) ? item : { image: item, source: item instanceof File ? item.name : undefined };
      if (image instanceof Blob) return { bytes: new Uint8Array(await image.arrayBuffer()), source };
      return { pixels: await analyzer.decode(image), source };
    },
    decode: (bytes) => analyzer.decode(new Blob([bytes as Uint8Array<ArrayBuffer>])),
    sha256: sha256Hex,
    label: (item) => (isLabelled(item) ? item.source : item instanceof File ? item.name : undefined),
  };
}

/** The gallery in the page: enrol, verify, identify, cluster, the records in IndexedDB (or any store). */
export class BrowserGallery extends ImageGallery<BrowserGalleryImage> {
  readonly analyzer: FaceAnalyzer;

  private constructor(analyzer: FaceAnalyzer, gallery: Gallery) {
    super(analyzer.core, gallery, browserPlatform(analyzer));
    this.analyzer = analyzer;
  }

  /** Opens (creating on first use) the IndexedDB gallery `name`, or the given store. */
  static async open(analyzer: FaceAnalyzer, store: string | GalleryStore = 'faceprint-gallery'): Promise<BrowserGallery> {
    const s = typeof store === 'string' ? await openIndexedDbGallery(store) : store;
    return new BrowserGallery(analyzer, await Gallery.open(s, await analyzer.binding()));
  }

  close(): Promise<void> {
    return this.gallery.close();
  }
}

function isLabelled(x: BrowserGalleryImage): x is { image: WebImageInput; source?: string } {
  return typeof x === 'object' && x !== null && 'image' in x && !(x instanceof Blob);
}
