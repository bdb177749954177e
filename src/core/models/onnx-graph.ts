import onnxProto from 'onnx-proto';
import { FaceprintError } from '../errors.js';

export const { onnx } = onnxProto;
export type Model = InstanceType<typeof onnx.ModelProto>;
export type Tensor = onnxProto.onnx.ITensorProto;
export type Node = onnxProto.onnx.INodeProto;
export const DT = onnx.TensorProto.DataType;

export function decodeModel(bytes: Uint8Array, source: string): Model {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new FaceprintError('MODEL_INVALID', `${source}: not a readable ONNX model (${(e as Error).message})`, { cause: e });
  }
}
export const encodeModel = (m: Model): Uint8Array => onnx.ModelProto.encode(m).finish();

export function floatData(t: Tensor): Float32Array {
  if (t.rawData && t.rawData.length) {
    const copy = new Uint8Array(t.rawData); // aligned copy
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}
export const dims = (t: Tensor): number[] => (t.dims ?? []).map(Number);
export const floatTensor = (name: string, d: number[], data: Float32Array): Tensor =>
  onnx.TensorProto.create({ name, dims: d, dataType: DT.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });

export const intAttr = (n: Node, name: string, def: number): number => Number(n.attribute?.find((a) => a.name === name)?.i ?? def);
export const intsAttr = (n: Node, name: string): number[] | undefined => n.attribute?.find((a) => a.name === name)?.ints?.map(Number);
export const floatAttr = (n: Node, name: string, def: number): number => n.attribute?.find((a) => a.name === name)?.f ?? def;

/** Nodes reading each tensor. */
export function consumersOf(model: Model): Map<string, Node[]> {
  const consumers = new Map<string, Node[]>();
  for (const n of model.graph?.node ?? []) for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  return consumers;
}

/** Drops initializers no node reads any more. */
export function pruneInitializers(model: Model): void {
  const g = model.graph!;
  const used = new Set<string>();
  for (const n of g.node ?? []) for (const i of n.input ?? []) used.add(i);
  for (const o of g.output ?? []) used.add(o.name!);
  g.initializer = (g.initializer ?? []).filter((t) => used.has(t.name!));
}
