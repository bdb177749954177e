import { FaceprintError } from '../errors.js';
import { CropModel } from './crop-model.js';
import type { ModelSession } from '../runtime.js';
import { invertAffine, type FaceHead, type HeadCrop, type HeadNormalisation, type HeadOptions, type HeadResults } from './head.js';
import { poseFromLandmarks3d68 } from './pose.js';

/** Output width of InsightFace's 3-D landmark head: 1103 rows of (x, y, z), the last 68 of which are kept. */
const WIDTH_3D68 = 3309;

/**
 * InsightFace's Landmark model (2d106det, 1k3d68): a 192×192 crop around the box in, landmarks in (−1, 1) out,
 * mapped back to the image; the 3-D head also gives the pose.
 */
export class LandmarkHead extends CropModel implements FaceHead {
  readonly name: 'landmark2d106' | 'landmark3d68';

  constructor(session: ModelSession, normalisation: HeadNormalisation, options: HeadOptions = {}) {
    super(session, normalisation, 192, options);
    const width = session.outputs[0]?.shape?.[1];
    if (width === WIDTH_3D68) this.name = 'landmark3d68';
    else if (width === 212) this.name = 'landmark2d106';
    else throw new FaceprintError('MODEL_UNRECOGNISED', `${session.source}: a landmark head with ${String(width)} outputs (faceprint knows 212 = 106 2-D points and 3309 = 68 3-D points)`);
  }

  async run(crops: readonly HeadCrop[]): Promise<HeadResults[]> {
    const rows = await this.infer(crops);
    return rows.map((row, i) => {
      if (this.name === 'landmark2d106') return { landmark2d106: landmarksToImage(row, 2, 106, this.inputSize, crops[i].matrix) as [number, number][] };
      const landmark3d68 = landmarksToImage(row, 3, 68, this.inputSize, crops[i].matrix) as [number, number, number][];
      return { landmark3d68, pose: poseFromLandmarks3d68(landmark3d68) };
    });
  }
}

/**
 * Landmark.get's post-processing: rows of `dim` (the last `count` kept), x, y ← (v + 1)·(S // 2) and z ← z·(S // 2)
 * in float32, then back through the inverse of the crop matrix in float64 (trans_points), stored as float32.
 */
export function landmarksToImage(row: Float32Array, dim: 2 | 3, count: number, size: number, matrix: HeadCrop['matrix']): number[][] {
  const rows = row.length / dim;
  if (!Number.isInteger(rows) || rows < count) throw new FaceprintError('INFERENCE_FAILED', `landmark output of ${row.length} values does not hold ${count} points of ${dim}`);
  const half = Math.fround(Math.floor(size / 2));
  const [a, b, c, d, e, f] = invertAffine(matrix);
  const zScale = Math.sqrt(a * a + b * b);
  const out: number[][] = [];
  for (let p = rows - count; p < rows; p++) {
    const x = Math.fround(Math.fround(row[p * dim] + 1) * half);
    const y = Math.fround(Math.fround(row[p * dim + 1] + 1) * half);
    const point = [Math.fround(a * x + b * y + c), Math.fround(d * x + e * y + f)];
    if (dim === 3) point.push(Math.fround(Math.fround(row[p * dim + 2] * half) * zScale));
    out.push(point);
  }
  return out;
}
