/** faceprint for Node: the core pipeline on onnxruntime-node, images decoded by sharp. */
import { FaceAnalyzerCore } from '../core/analyzer.js';
import { PlatformAnalyzer, resolveDetection, type PipelineOptions } from '../core/platform-analyzer.js';
import { FaceprintError } from '../core/errors.js';
import type { RgbImage } from '../core/image.js';
import type { OrtNodeOptions } from '../runtime/ort-node.js';
import { decodeImage, DEFAULT_PIXEL_LIMIT, type DecodeOptions, type ImageInput } from './decode.js';
import { checkHeadNames, loadHeadFile, loadModel, loadPackDir, makeDetector, makeHead, makeRecognizer, roleOf, type LoadedModel } from './models.js';
import { HEAD_NAMES, type HeadName } from '../core/heads/head.js';
import { KNOWN_PACKS } from './packs/registry.js';
import { pullPack, type PullOptions } from './packs/store.js';
import { stat } from 'node:fs/promises';

export * from '../core/index.js';
export { decodeImage, DEFAULT_PIXEL_LIMIT, type ImageInput, type RawPixels, type DecodeOptions } from './decode.js';
export { loadModel, loadPackDir, PACK_HEAD_FILES, type PackModels } from './models.js';
export { pullPack, listPacks, verifyPack, removePack, modelsHome, type PullOptions } from './packs/store.js';
export { KNOWN_PACKS, packUrl, INSIGHTFACE_LICENCE } from './packs/registry.js';
export { FaceGallery, modelSha256, recognizerBinding, type FaceGalleryOptions, type GalleryImage, type FaceIdentification } from './gallery/index.js';
export { ScanWorkers } from './gallery/scan-workers.js';
export { openStore } from '../storage/open.js';
export { SqliteGalleryStore } from '../storage/sqlite.js';

/** A pack argument: an existing directory is used as is; a known pack name is pulled (once) and its directory returned. */
export async function resolvePack(pack: string, pull: PullOptions = {}): Promise<string> {
  const isDir = await stat(pack).then((s) => s.isDirectory(), () => false);
  if (isDir || !(pack in KNOWN_PACKS)) return pack;
  return pullPack(pack, pull);
}

export interface FaceAnalyzerOptions extends OrtNodeOptions, DecodeOptions, PipelineOptions {
  /**
   * A model pack: a known name ('buffalo_l', 'buffalo_s', 'antelopev2', …), pulled into $FACEPRINT_HOME/models
   * on first use, or a directory (InsightFace layout: *.onnx routed by shape).
   */
  pack?: string;
  /** Where pulls go and come from (see PullOptions): home directory, mirror, progress, licence notice. */
  pull?: PullOptions;
  /** Detector ONNX file (SCRFD). Overrides the pack's. */
  detector?: string;
  /** Recognizer ONNX file (ArcFace-style). Overrides the pack's. */
  recognizer?: string;
  /**
   * Which per-face heads to run, as InsightFace's allowed_modules: 'landmark2d106', 'landmark3d68' (with pose),
   * 'genderage'. Default: every head the pack has. A head not listed is never opened, and pulling a known pack
   * skips its file.
   */
  heads?: HeadName[];
  /**
   * Head ONNX files (2d106det, 1k3d68, genderage or models of their interfaces); each overrides the pack's head of
   * its kind. `heads` chooses among these too.
   */
  headModels?: string[];
}

export class FaceAnalyzer extends PlatformAnalyzer<ImageInput> {
  readonly detectorPath: string;
  readonly recognizerPath: string | null;
  /** The execution providers the sessions were asked for, in order (onnxruntime falls back along them). */
  executionProviders: readonly string[] = ['cpu'];
  private readonly decodeOptions: DecodeOptions;

  /** The most pixels an image may have (checked from its header, before decoding). */
  get pixelLimit(): number {
    return this.decodeOptions.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  }

  private constructor(core: FaceAnalyzerCore, detectorPath: string, recognizerPath: string | null, decodeOptions: DecodeOptions) {
    super(core);
    this.detectorPath = detectorPath;
    this.recognizerPath = recognizerPath;
    this.decodeOptions = decodeOptions;
  }

  static async create(options: FaceAnalyzerOptions): Promise<FaceAnalyzer> {
    const ortOptions: OrtNodeOptions = { intraOpNumThreads: options.intraOpNumThreads, executionProviders: options.executionProviders, spinWait: options.spinWait };
    const wanted = options.heads ? checkHeadNames(options.heads) : HEAD_NAMES;
    let det: LoadedModel | null = null;
    let rec: LoadedModel | null = null;
    const heads = new Map<HeadName, LoadedModel>();
    const closeAll = async () => {
      for (const m of [det, rec, ...heads.values()]) await m?.session.close().catch(() => undefined);
    };
    try {
      if (options.pack) {
        const dir = await resolvePack(options.pack, { ...options.pull, heads: wanted });
        const pack = await loadPackDir(dir, ortOptions, wanted);
        det = pack.detector;
        rec = pack.recognizer;
        for (const h of pack.heads) heads.set(roleOf(h.kind, h.session.outputs) as HeadName, h);
      }
      if (options.detector) {
        await det?.session.close();
        det = null;
        det = await loadModel(options.detector, ortOptions);
      }
      if (options.recognizer) {
        await rec?.session.close();
        rec = null;
        rec = await loadModel(options.recognizer, ortOptions);
      }
      for (const path of options.headModels ?? []) {
        const model = await loadHeadFile(path, ortOptions, wanted);
        if (!model) continue;
        await heads.get(model.head)?.session.close();
        heads.set(model.head, model);
      }
      if (!det) throw new FaceprintError('MODEL_MISSING', 'no detector: pass `pack` or `detector`');
      const detection = resolveDetection(options);
      const detector = await makeDetector(det, detection.base, { ...ortOptions, uint8Input: options.uint8Input });
      const recognizer = rec ? makeRecognizer(rec, options.maxBatch) : null;
      const faceHeads = [];
      for (const h of heads.values()) faceHeads.push(await makeHead(h, { ...ortOptions, maxBatch: options.maxBatch, uint8Input: options.uint8Input }));
      const core = new FaceAnalyzerCore(detector, recognizer, {
        detThresh: options.detThresh, detInput: options.detInput, detSizes: detection.detSizes,
        nmsThresh: options.nmsThresh,
        maxFaces: options.maxFaces,
      }, faceHeads);
      const analyzer = new FaceAnalyzer(core, det.path, rec?.path ?? null, { pixelLimit: options.pixelLimit });
      analyzer.executionProviders = [...(options.executionProviders ?? ['cpu'])];
      return analyzer;
    } catch (e) {
      await closeAll();
      throw e;
    }
  }

  /** Decodes with this analyzer's pixel limit (and decode time limit, if set); `signal` stops the wait. */
  decode(input: ImageInput, options: Pick<DecodeOptions, 'timeoutMs' | 'signal'> = {}): Promise<RgbImage> {
    return decodeImage(input, { ...this.decodeOptions, ...options });
  }

  /**
   * A time limit for every decode of this analyzer (0: none): a service sets its deadline, so that an image that
   * takes libvips longer (a large AVIF) ends instead of working on after its request has been answered.
   */
  useDecodeTimeout(ms: number): void {
    this.decodeOptions.timeoutMs = ms > 0 ? ms : undefined;
  }

  protected isPixels(input: ImageInput | RgbImage): input is RgbImage {
    return typeof input === 'object' && !(input instanceof Uint8Array) && 'data' in input && !('channels' in input) && input.data.length === input.width * input.height * 3;
  }
}
export { watchVideo, type WatchOptions, type WatchReport } from './video/watch.js';
export { probeVideo, readFrames, requireFfmpeg, VideoWriter, type VideoInfo, type VideoFrame, type ReadFramesOptions } from './video/ffmpeg.js';
