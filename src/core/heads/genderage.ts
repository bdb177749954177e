import { FaceprintError } from '../errors.js';
import { roundHalfEven } from '../imgproc/rounding.js';
import { CropModel } from './crop-model.js';
import type { ModelSession } from '../runtime.js';
import type { FaceHead, HeadCrop, HeadNormalisation, HeadOptions, HeadResults } from './head.js';

/**
 * InsightFace's Attribute model with 3 outputs (genderage): a 96×96 crop around the box in; gender is the argmax
 * of the first two outputs (a tie is 0, female), age is 100 × the third, rounded half to even.
 */
export class GenderAgeHead extends CropModel implements FaceHead {
  readonly name = 'genderage' as const;

  constructor(session: ModelSession, normalisation: HeadNormalisation, options: HeadOptions = {}) {
    super(session, normalisation, 96, options);
    const width = session.outputs[0]?.shape?.[1];
    if (width !== 3) throw new FaceprintError('MODEL_UNRECOGNISED', `${session.source}: an attribute head with ${String(width)} outputs (faceprint knows genderage: 3)`);
  }

  async run(crops: readonly HeadCrop[]): Promise<HeadResults[]> {
    return (await this.infer(crops)).map(genderAge);
  }
}

/** gender, sex and age from the head's three outputs. */
export function genderAge(raw: Float32Array): HeadResults {
  const gender = raw[1] > raw[0] ? 1 : 0;
  return { gender, sex: gender === 1 ? 'M' : 'F', age: roundHalfEven(raw[2] * 100) };
}
