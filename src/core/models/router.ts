import { FaceprintError } from '../errors.js';
import type { ValueInfo } from '../runtime.js';

export type ModelKind = 'detector' | 'recognizer' | 'landmark' | 'attribute' | 'swapper';

const fmt = (v: readonly ValueInfo[]): string => v.map((x) => `${x.name}[${x.shape.map((d) => d ?? '?').join(',')}]`).join(' ');

/**
 * InsightFace's ModelRouter decision from a model's inputs and outputs: ≥5 outputs → detector; 192×192 →
 * landmarks; 96×96 → attributes; two inputs at 128×128 → face swapper; a square input ≥ 112 divisible by 16 →
 * recognizer. Anything else is an error naming the file and its shapes.
 */
export function routeModel(source: string, inputs: readonly ValueInfo[], outputs: readonly ValueInfo[]): ModelKind {
  const shape = inputs[0]?.shape ?? [];
  const h = shape[2];
  const w = shape[3];
  if (outputs.length >= 5) return 'detector';
  if (h === 192 && w === 192) return 'landmark';
  if (h === 96 && w === 96) return 'attribute';
  if (inputs.length === 2 && h === 128 && w === 128) return 'swapper';
  if (typeof h === 'number' && h === w && h >= 112 && h % 16 === 0) return 'recognizer';
  throw new FaceprintError('MODEL_UNRECOGNISED', `${source}: not a face model faceprint can route (inputs ${fmt(inputs)}; outputs ${fmt(outputs)})`);
}
