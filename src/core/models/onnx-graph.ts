import onnxProto from 'onnx-proto';
import { FaceprintError } from '../errors.js';

/** Names of the first `count` graph nodes of an ONNX model (the recognizer normalisation rule reads them). */
export function onnxFirstNodeNames(bytes: Uint8Array, source: string, count = 8): string[] {
  try {
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    return (model.graph?.node ?? []).slice(0, count).map((n) => n.name ?? '');
  } catch (e) {
    throw new FaceprintError('MODEL_INVALID', `${source}: not a readable ONNX model (${(e as Error).message})`, { cause: e });
  }
}
