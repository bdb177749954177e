import { FaceprintError } from '../errors.js';
import type { RgbImage } from '../image.js';
import type { InputTensor, ModelSession } from '../runtime.js';

/** Float32 NCHW RGB blob of square crops, each byte mapped through `lut` (the model's normalisation). */
export function nchwBlob(crops: readonly RgbImage[], size: number, lut: Float32Array): Float32Array {
  const plane = size * size;
  const out = new Float32Array(crops.length * 3 * plane);
  crops.forEach((crop, n) => {
    if (crop.width !== size || crop.height !== size) {
      throw new FaceprintError('INVALID_INPUT', `the model needs ${size}×${size} crops, got ${crop.width}×${crop.height}`);
    }
    const base = n * 3 * plane;
    const d = crop.data;
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      out[base + i] = lut[d[p]];
      out[base + plane + i] = lut[d[p + 1]];
      out[base + 2 * plane + i] = lut[d[p + 2]];
    }
  });
  return out;
}

/** Fixed batch of a [N,3,S,S] model's first input, or 0 when the batch dimension is symbolic. */
export function fixedBatchOf(session: ModelSession): number {
  const b = session.inputs[0]?.shape?.[0];
  return typeof b === 'number' && b > 0 ? b : 0;
}

/** The crops as one uint8 NHWC tensor, for a model rewritten to take pixels (withUint8Input). */
function nhwcBytes(crops: readonly RgbImage[], size: number): InputTensor {
  const bytes = size * size * 3;
  const data = new Uint8Array(crops.length * bytes);
  crops.forEach((crop, n) => {
    if (crop.width !== size || crop.height !== size) {
      throw new FaceprintError('INVALID_INPUT', `the model needs ${size}×${size} crops, got ${crop.width}×${crop.height}`);
    }
    data.set(crop.data, n * bytes);
  });
  return { data, dims: [crops.length, size, size, 3] };
}

/** How a per-crop model is fed: a float32 NCHW blob through `lut`, or uint8 NHWC pixels (the graph normalises). */
export type CropFeed = { kind: 'float'; lut: Float32Array } | { kind: 'uint8' };

/**
 * Runs square crops through a per-crop model in as few runs as its batch allows and returns its first output,
 * one row per crop. A fixed-batch model gets exactly its batch: the last run is padded with copies of a crop
 * whose rows are discarded.
 */
export async function runInBatches(
  session: ModelSession, crops: readonly RgbImage[], size: number, feed: Float32Array | CropFeed, batch: { fixed: number; max: number },
): Promise<Float32Array[]> {
  const how: CropFeed = feed instanceof Float32Array ? { kind: 'float', lut: feed } : feed;
  const rows: Float32Array[] = [];
  const step = batch.fixed || batch.max;
  for (let start = 0; start < crops.length; start += step) {
    const chunk = crops.slice(start, start + step);
    const fed = batch.fixed && chunk.length < batch.fixed
      ? [...chunk, ...Array.from({ length: batch.fixed - chunk.length }, () => chunk[0])]
      : chunk;
    const input = how.kind === 'uint8' ? nhwcBytes(fed, size) : { data: nchwBlob(fed, size, how.lut), dims: [fed.length, 3, size, size] };
    const [out] = await session.run({ [session.inputs[0].name]: input });
    const width = out.data.length / fed.length;
    if (!Number.isInteger(width) || width < 1) {
      throw new FaceprintError('INFERENCE_FAILED', `${session.source}: output of ${out.data.length} values for a batch of ${fed.length}`);
    }
    for (let i = 0; i < chunk.length; i++) rows.push(out.data.slice(i * width, (i + 1) * width));
  }
  return rows;
}
