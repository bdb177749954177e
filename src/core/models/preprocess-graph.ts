import onnxProto from 'onnx-proto';
import { FaceprintError } from '../errors.js';

const { onnx } = onnxProto;

/** Name of the uint8 NHWC input that withUint8Input adds. */
export const U8_INPUT = 'faceprint_rgb_u8';

/**
 * Rewrites a model whose first input is float32 NCHW so that it takes the uint8 RGB image as is:
 * uint8 [N, H, W, 3] → Transpose(0, 3, 1, 2) → (x − mean) · float32(1/std) → the old input.
 * The arithmetic is the reference blob's, exactly, but it runs in onnxruntime's vectorised kernels instead of
 * a JavaScript loop over millions of floats (the largest cost of the pipeline around the model).
 */
export function withUint8Input(modelBytes: Uint8Array, source: string, mean: number, std: number): Uint8Array {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(modelBytes);
  } catch (e) {
    throw new FaceprintError('MODEL_INVALID', `${source}: not a readable ONNX model (${(e as Error).message})`, { cause: e });
  }
  const graph = model.graph;
  const first = graph?.input?.[0];
  const dims = first?.type?.tensorType?.shape?.dim;
  if (!graph || !first?.name || !dims || dims.length !== 4 || first.type?.tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT) {
    throw new FaceprintError('MODEL_UNRECOGNISED', `${source}: first input is not a float32 NCHW tensor`);
  }
  const target = first.name;
  const [n, c, h, w] = dims;
  const newInput = onnx.ValueInfoProto.create({
    name: U8_INPUT,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.UINT8, shape: { dim: [n, h, w, c] } } },
  });
  const scalar = (name: string, v: number) =>
    onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.FLOAT, dims: [], floatData: [v] });
  const attrInt = (name: string, i: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
  const attrInts = (name: string, ints: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints });
  const opset = Math.max(0, ...(model.opsetImport ?? []).filter((o) => !o.domain).map((o) => Number(o.version ?? 0)));
  const zeroPoint = Math.round(mean);
  const useDequantize = opset >= 10 && zeroPoint >= 0 && zeroPoint <= 255 && Math.fround(mean - zeroPoint) === mean - zeroPoint;
  // Transpose the bytes first (4× less memory to move), then one fused integer→float op where the opset has it:
  // DequantizeLinear gives (x − zp)·scale exactly, and adding −(mean − zp)·scale is exact for these constants.
  const pre = [
    onnx.NodeProto.create({ name: 'faceprint_nchw', opType: 'Transpose', input: [U8_INPUT], output: ['faceprint_u8_nchw'], attribute: [attrInts('perm', [0, 3, 1, 2])] }),
    ...(useDequantize
      ? [
          onnx.NodeProto.create({ name: 'faceprint_dequant', opType: 'DequantizeLinear', input: ['faceprint_u8_nchw', 'faceprint_scale', 'faceprint_zero'], output: ['faceprint_shifted'] }),
          onnx.NodeProto.create({ name: 'faceprint_offset', opType: 'Add', input: ['faceprint_shifted', 'faceprint_offset_value'], output: [target] }),
        ]
      : [
          onnx.NodeProto.create({ name: 'faceprint_cast', opType: 'Cast', input: ['faceprint_u8_nchw'], output: ['faceprint_f32'], attribute: [attrInt('to', onnx.TensorProto.DataType.FLOAT)] }),
          onnx.NodeProto.create({ name: 'faceprint_sub', opType: 'Sub', input: ['faceprint_f32', 'faceprint_mean'], output: ['faceprint_centred'] }),
          onnx.NodeProto.create({ name: 'faceprint_mul', opType: 'Mul', input: ['faceprint_centred', 'faceprint_scale'], output: [target] }),
        ]),
  ];
  graph.node = [...pre, ...(graph.node ?? [])];
  const scale = Math.fround(1 / std);
  graph.initializer = [
    ...(graph.initializer ?? []),
    scalar('faceprint_scale', scale),
    ...(useDequantize
      ? [
          onnx.TensorProto.create({ name: 'faceprint_zero', dataType: onnx.TensorProto.DataType.UINT8, dims: [], rawData: new Uint8Array([zeroPoint]) }),
          scalar('faceprint_offset_value', Math.fround(-(mean - zeroPoint) * scale)),
        ]
      : [scalar('faceprint_mean', Math.fround(mean))]),
  ];
  graph.input = [newInput, ...graph.input!.slice(1)];
  return onnx.ModelProto.encode(model).finish();
}
