import { normalisationLut } from '../detection/letterbox.js';
import { FaceprintError } from '../errors.js';
import { roundHalfEven } from '../imgproc/rounding.js';
import { fixedBatchOf, nchwBlob, runInBatches, type CropFeed } from '../models/batched-run.js';
import type { RgbImage } from '../image.js';
import type { ModelSession } from '../runtime.js';
import { headInputSize, type FaceHead, type HeadCrop, type HeadNormalisation, type HeadOptions, type HeadResults } from './head.js';

/**
 * InsightFace's Attribute model with 3 outputs (genderage): a 96×96 crop around the box in; gender is the argmax
 * of the first two outputs (a tie is 0, female), age is 100 × the third, rounded half to even.
 */
export class GenderAgeHead implements FaceHead {
  readonly name = 'genderage' as const;
  readonly inputSize: number;
  readonly session: ModelSession;
  readonly normalisation: HeadNormalisation;
  private readonly lut: Float32Array;
  private readonly feed: CropFeed;
  private readonly maxBatch: number;

  constructor(session: ModelSession, normalisation: HeadNormalisation, options: HeadOptions = {}) {
    const width = session.outputs[0]?.shape?.[1];
    headInputSize(session, 96, !!options.uint8Input);
    if (width !== 3) throw new FaceprintError('MODEL_UNRECOGNISED', `${session.source}: an attribute head with ${String(width)} outputs (faceprint knows genderage: 3)`);
    this.session = session;
    this.inputSize = 96;
    this.normalisation = normalisation;
    this.lut = normalisationLut(normalisation.mean, normalisation.std);
    this.feed = options.uint8Input ? { kind: 'uint8' } : { kind: 'float', lut: this.lut };
    this.maxBatch = Math.max(1, options.maxBatch ?? 32);
  }

  blob(crops: readonly RgbImage[]): Float32Array {
    return nchwBlob(crops, this.inputSize, this.lut);
  }

  /** The model's raw output row for each crop. */
  infer(crops: readonly HeadCrop[]): Promise<Float32Array[]> {
    return runInBatches(this.session, crops.map((c) => c.image), this.inputSize, this.feed, { fixed: fixedBatchOf(this.session), max: this.maxBatch });
  }

  async run(crops: readonly HeadCrop[]): Promise<HeadResults[]> {
    const rows = await this.infer(crops);
    return rows.map(genderAge);
  }
}

/** gender, sex and age from the head's three outputs. */
export function genderAge(raw: Float32Array): HeadResults {
  const gender = raw[1] > raw[0] ? 1 : 0;
  return { gender, sex: gender === 1 ? 'M' : 'F', age: roundHalfEven(raw[2] * 100) };
}
