import type { AnalyzeOptions, Face, FaceAnalyzerCore } from './analyzer.js';
import type { Detection, DetectOptions } from './detection/scrfd.js';
import type { RgbImage } from './image.js';
import { AUTO_DET_SIZES, checkDetSizes } from './detection/multi-size.js';

/** Pipeline settings both FaceAnalyzers take (Node and browser). */
export interface PipelineOptions {
  /**
   * Square detector sizes, their candidates merged by one NMS (InsightFace 1.0). Default: [128, 640], InsightFace
   * 1.0's "Auto" — unless `detSize` is given.
   */
  detSizes?: number[];
  /**
   * One detector input size (a number means square): InsightFace 0.7.3's single pass, `detSize: 640` exactly
   * its default. Ignored when `detSizes` is given.
   */
  detSize?: number | [number, number];
  /**
   * 'model' (default): the detector's fixed square input, bit-exact with InsightFace; 'image': the image's own
   * shape, scaled down to fit it, never up — faster on small and non-square images, results not the reference's.
   */
  detInput?: 'model' | 'image';
  /** Detection score threshold. Default 0.5. */
  detThresh?: number;
  /** NMS IoU threshold. Default 0.4. */
  nmsThresh?: number;
  /** At most this many faces per image (InsightFace's max_num ranking). Default 0 = all. */
  maxFaces?: number;
  /** Largest recognizer batch per run. Default 32. */
  maxBatch?: number;
  /**
   * Feed the detector and the heads uint8 pixels and let onnxruntime normalise them (same bits, less JavaScript
   * work). Default true; false runs the models as shipped, on float32 blobs built in JavaScript.
   */
  uint8Input?: boolean;
}

/**
 * The detector's base input size and the size list in force: `detSizes` (base: the largest), else one `detSize`
 * (no list: the base detector alone, 0.7.3), else Auto.
 */
export function resolveDetection(options: Pick<PipelineOptions, 'detSizes' | 'detSize'>): { base: [number, number]; detSizes?: number[] } {
  if (options.detSizes) {
    const sizes = checkDetSizes(options.detSizes);
    const largest = Math.max(...sizes);
    return { base: [largest, largest], detSizes: sizes };
  }
  if (options.detSize !== undefined) return { base: typeof options.detSize === 'number' ? [options.detSize, options.detSize] : options.detSize };
  return { base: [640, 640], detSizes: [...AUTO_DET_SIZES] };
}

/**
 * What the Node and browser FaceAnalyzers share: inputs of the platform's kinds (files and buffers; blobs, elements
 * and frames), decoded to RGB by the platform, then the one core pipeline.
 */
export abstract class PlatformAnalyzer<Input> {
  readonly core: FaceAnalyzerCore;

  protected constructor(core: FaceAnalyzerCore) {
    this.core = core;
  }

  /** Decodes an input to 8-bit RGB as the reference does (EXIF orientation, no colour management, alpha dropped). */
  abstract decode(input: Input): Promise<RgbImage>;

  /** True when the input is already the core's decoded pixels. */
  protected abstract isPixels(input: Input | RgbImage): input is RgbImage;

  /** Embedding size of the loaded recognizer (0 if none, or not yet known for a symbolic output). */
  get embeddingSize(): number {
    return this.core.recognizer?.embeddingSize ?? 0;
  }

  async detect(input: Input | RgbImage, options?: DetectOptions): Promise<Detection[]> {
    return this.core.detect(await this.pixels(input), options);
  }

  /** Every face in the image, in score order: box, landmarks, score, embedding. */
  async analyze(input: Input | RgbImage, options?: AnalyzeOptions): Promise<Face[]> {
    return this.core.analyze(await this.pixels(input), options);
  }

  /** Several images, their crops embedded together. */
  async analyzeMany(inputs: readonly (Input | RgbImage)[], options?: AnalyzeOptions): Promise<Face[][]> {
    return this.core.analyzeMany(await Promise.all(inputs.map((i) => this.pixels(i))), options);
  }

  close(): Promise<void> {
    return this.core.close();
  }

  protected async pixels(input: Input | RgbImage): Promise<RgbImage> {
    this.core.ensureOpen();
    return this.isPixels(input) ? input : this.decode(input as Input);
  }
}
