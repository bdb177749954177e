import { normalisationLut } from '../detection/letterbox.js';
import type { RgbImage } from '../image.js';
import { fixedBatchOf, nchwBlob, runInBatches, type CropFeed } from '../models/batched-run.js';
import type { ModelSession } from '../runtime.js';
import { headInputSize, type HeadCrop, type HeadNormalisation, type HeadOptions } from './head.js';

/** What every head shares: a session fed square crops of one size, normalised by the head's rule, in batches. */
export abstract class CropModel {
  readonly inputSize: number;
  readonly session: ModelSession;
  readonly normalisation: HeadNormalisation;
  private readonly lut: Float32Array;
  private readonly feed: CropFeed;
  private readonly maxBatch: number;

  protected constructor(session: ModelSession, normalisation: HeadNormalisation, inputSize: number, options: HeadOptions) {
    headInputSize(session, inputSize, !!options.uint8Input);
    this.session = session;
    this.inputSize = inputSize;
    this.normalisation = normalisation;
    this.lut = normalisationLut(normalisation.mean, normalisation.std);
    this.feed = options.uint8Input ? { kind: 'uint8' } : { kind: 'float', lut: this.lut };
    this.maxBatch = Math.max(1, options.maxBatch ?? 32);
  }

  /** The float32 NCHW blob of these crops, as the model as shipped takes it. */
  blob(crops: readonly RgbImage[]): Float32Array {
    return nchwBlob(crops, this.inputSize, this.lut);
  }

  /** The model's raw output row for each crop. */
  infer(crops: readonly HeadCrop[]): Promise<Float32Array[]> {
    return runInBatches(this.session, crops.map((c) => c.image), this.inputSize, this.feed, { fixed: fixedBatchOf(this.session), max: this.maxBatch });
  }
}
