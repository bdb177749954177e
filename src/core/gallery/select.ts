import { insightfaceRankValue } from '../detection/scrfd.js';
import { FaceprintError } from '../errors.js';

/**
 * Which face of a photo is "the" face: 'insightface' — InsightFace's max_num ranking (area − 2·offset² from the
 * image centre, in float32 with the centre rounded down, as FaceAnalysis ranks); 'largest' — the largest box;
 * 'center_largest' — InsightFace Server's rule, the same formula in float64 with the exact centre.
 */
export type FaceSelection = 'insightface' | 'largest' | 'center_largest';

export const FACE_SELECTIONS: readonly FaceSelection[] = ['insightface', 'largest', 'center_largest'];

/** The face the rule picks (undefined when there is none); ties keep the detector's order. */
export function selectFace<F extends { bbox: readonly number[] }>(faces: readonly F[], width: number, height: number, rule: FaceSelection = 'insightface'): F | undefined {
  if (!FACE_SELECTIONS.includes(rule)) throw new FaceprintError('INVALID_INPUT', `select must be one of ${FACE_SELECTIONS.join(', ')}, got ${JSON.stringify(rule)}`);
  const value = (b: readonly number[]): number => {
    const area = (b[2] - b[0]) * (b[3] - b[1]);
    if (rule === 'largest') return area;
    if (rule === 'center_largest') {
      const dx = (b[0] + b[2]) / 2 - width / 2;
      const dy = (b[1] + b[3]) / 2 - height / 2;
      return area - 2 * (dx * dx + dy * dy);
    }
    return insightfaceRankValue(b[0], b[1], b[2], b[3], width, height);
  };
  let best: F | undefined;
  let bestValue = -Infinity;
  for (const f of faces) {
    const v = value(f.bbox);
    if (v > bestValue) {
      best = f;
      bestValue = v;
    }
  }
  return best;
}
