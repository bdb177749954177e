import type onnxProto from 'onnx-proto';
import { decodeModel } from './onnx-graph.js';

// What the loaders read from a model file without opening a session. Kept apart from onnx-graph.ts so that the
// public type declarations never name onnx-proto's types (a consumer's tsc would check those too).

/** A graph input or output: its name and shape (numbers, symbolic names, or null when unknown). */
export interface GraphValue {
  name: string;
  shape: (number | string | null)[];
}

/** Names of the first `count` graph nodes of an ONNX model (the recognizer normalisation rule reads them). */
export function onnxFirstNodeNames(bytes: Uint8Array, source: string, count = 8): string[] {
  return (decodeModel(bytes, source).graph?.node ?? []).slice(0, count).map((n) => n.name ?? '');
}

/**
 * The graph's real inputs (initializers excluded) and outputs with their shapes, read from the model file
 * without opening a runtime session: enough to route a model and skip the ones not wanted.
 */
export function graphSignature(bytes: Uint8Array, source: string): { inputs: GraphValue[]; outputs: GraphValue[] } {
  const g = decodeModel(bytes, source).graph;
  const initialised = new Set((g?.initializer ?? []).map((t) => t.name));
  const info = (v: onnxProto.onnx.IValueInfoProto): GraphValue => ({
    name: v.name ?? '',
    shape: (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : d.dimParam || null)),
  });
  return { inputs: (g?.input ?? []).filter((i) => !initialised.has(i.name ?? '')).map(info), outputs: (g?.output ?? []).map(info) };
}
