import { FaceprintError } from '../errors.js';
import { decomposePRelu, foldBatchNorms } from './fold-bn.js';
import { DT, decodeModel as decode, dims, encodeModel as encode, floatData, floatTensor, onnx, pruneInitializers, type Model, type Node, type Tensor } from './onnx-graph.js';

/** float32 → IEEE half bits, round to nearest even (with overflow to ±inf and subnormals). */
export function float16Bits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/**
 * FP16 weights: every float32 initializer stored as float16 and cast back at load (onnxruntime folds the casts,
 * so compute and the model's float32 inputs and outputs are unchanged). Halves the file.
 */
export function quantizeFp16(bytes: Uint8Array, source = 'model'): Uint8Array {
  const model = decode(bytes, source);
  const g = model.graph!;
  const casts: Node[] = [];
  g.initializer = (g.initializer ?? []).map((t) => {
    if (t.dataType !== DT.FLOAT || dims(t).reduce((a, b) => a * b, 1) < 16) return t;
    const data = floatData(t);
    const half = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) half[i] = float16Bits(data[i]);
    const name = `${t.name}__fp16`;
    casts.push(onnx.NodeProto.create({ name: `${t.name}__cast`, opType: 'Cast', input: [name], output: [t.name!], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DT.FLOAT }] }));
    return onnx.TensorProto.create({ name, dims: t.dims, dataType: DT.FLOAT16, rawData: new Uint8Array(half.buffer) });
  });
  g.node = [...casts, ...(g.node ?? [])];
  return encode(model);
}

/** Raises a model to opset 13 (per-channel DequantizeLinear needs it), moving Squeeze/Unsqueeze axes to inputs. */
function ensureOpset13(model: Model, source: string): void {
  const main = (model.opsetImport ?? []).find((o) => !o.domain);
  const version = Number(main?.version ?? 0);
  if (version >= 13) return;
  const g = model.graph!;
  for (const n of g.node ?? []) {
    if (n.opType === 'Squeeze' || n.opType === 'Unsqueeze') {
      const axes = n.attribute?.find((a) => a.name === 'axes');
      if (axes) {
        const name = `${n.name || n.output![0]}__axes`;
        g.initializer!.push(onnx.TensorProto.create({ name, dims: [axes.ints!.length], dataType: DT.INT64, int64Data: axes.ints }));
        n.input = [...n.input!, name];
        n.attribute = n.attribute!.filter((a) => a !== axes);
      }
    } else if (['Split', 'ReduceSum', 'Softmax', 'LogSoftmax', 'Hardmax'].includes(n.opType!)) {
      throw new FaceprintError('MODEL_UNRECOGNISED', `${source}: op ${n.opType} changes meaning between opset ${version} and 13; cannot quantize per channel`);
    }
  }
  main!.version = 13;
}

interface Target { node: Node; weight: Tensor; axis: number }

function quantTargets(model: Model): Target[] {
  const g = model.graph!;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name!, t]));
  const out: Target[] = [];
  for (const n of g.node ?? []) {
    const w = inits.get(n.input?.[1] ?? '');
    if (!w || w.dataType !== DT.FLOAT) continue;
    // Depthwise convolutions stay float: per-channel ranges vary too much for one activation scale, and
    // they are a small share of the compute (measured on MobileFaceNet: cosine to FP32 0.92 → see README).
    const group = Number(n.attribute?.find((a) => a.name === 'group')?.i ?? 1);
    if (n.opType === 'Conv' && group === 1) out.push({ node: n, weight: w, axis: 0 });
    else if (n.opType === 'Gemm' && dims(w).length === 2) {
      const transB = n.attribute?.find((a) => a.name === 'transB')?.i ?? 0;
      out.push({ node: n, weight: w, axis: Number(transB) === 1 ? 0 : 1 });
    }
  }
  return out;
}

/** Per-channel symmetric int8 weights behind a DequantizeLinear (axis = output channel), in ±`qmax`. */
function quantizeWeight(model: Model, t: Target, qmax = 127): string {
  const g = model.graph!;
  const d = dims(t.weight);
  const W = floatData(t.weight);
  const channels = d[t.axis];
  const scales = new Float32Array(channels);
  const inner = t.axis === 0 ? W.length / channels : 1;
  const stride = t.axis === 0 ? 1 : channels;
  const index = (c: number, i: number): number => (t.axis === 0 ? c * inner + i : i * stride + c);
  const count = W.length / channels;
  for (let c = 0; c < channels; c++) {
    let m = 0;
    for (let i = 0; i < count; i++) m = Math.max(m, Math.abs(W[index(c, i)]));
    scales[c] = m > 0 ? m / qmax : 1;
  }
  const q = new Int8Array(W.length);
  for (let c = 0; c < channels; c++) for (let i = 0; i < count; i++) {
    const k = index(c, i);
    q[k] = Math.max(-qmax, Math.min(qmax, Math.round(W[k] / scales[c])));
  }
  const base = t.weight.name!;
  g.initializer!.push(
    onnx.TensorProto.create({ name: `${base}__q`, dims: d, dataType: DT.INT8, rawData: new Uint8Array(q.buffer) }),
    floatTensor(`${base}__scale`, [channels], scales),
    onnx.TensorProto.create({ name: `${base}__zp`, dims: [channels], dataType: DT.INT8, rawData: new Uint8Array(channels) }),
  );
  const out = `${base}__dq`;
  g.node!.push(onnx.NodeProto.create({ name: out, opType: 'DequantizeLinear', input: [`${base}__q`, `${base}__scale`, `${base}__zp`], output: [out], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: t.axis }] }));
  return out;
}

/**
 * A constant as uint8 with one scale, zero point 128, behind a DequantizeLinear: QLinearMul takes one scale per
 * input, and onnxruntime fuses it only when both inputs have the activations' type.
 */
function quantizeConstant(model: Model, name: string): string {
  const g = model.graph!;
  const t = g.initializer!.find((i) => i.name === name)!;
  const v = floatData(t);
  const m = v.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
  const scale = m > 0 ? m / 127 : 1;
  const q = Uint8Array.from(v, (x) => 128 + Math.max(-127, Math.min(127, Math.round(x / scale))));
  g.initializer!.push(
    onnx.TensorProto.create({ name: `${name}__q`, dims: t.dims, dataType: DT.UINT8, rawData: q }),
    floatTensor(`${name}__scale`, [], Float32Array.of(scale)),
    onnx.TensorProto.create({ name: `${name}__zp`, dims: [], dataType: DT.UINT8, rawData: Uint8Array.of(128) }),
  );
  g.node!.push(onnx.NodeProto.create({ name: `${name}__dq`, opType: 'DequantizeLinear', input: [`${name}__q`, `${name}__scale`, `${name}__zp`], output: [`${name}__dq`] }));
  return `${name}__dq`;
}

/** Weight-only INT8: weights stored as per-channel int8 and dequantised at load. About a quarter of the size. */
export function quantizeWeightsInt8(bytes: Uint8Array, source = 'model'): Uint8Array {
  const model = decode(bytes, source);
  ensureOpset13(model, source);
  foldBatchNorms(model);
  const g = model.graph!;
  const body = [...(g.node ?? [])];
  g.node = [];
  for (const t of quantTargets({ graph: { ...g, node: body } } as unknown as Model)) t.node.input![1] = quantizeWeight(model, t);
  g.node = [...g.node, ...body];
  pruneInitializers(model);
  return encode(model);
}

/** The activations static quantization needs ranges for: inputs and outputs of every Conv/Gemm. */
export function calibrationTensors(bytes: Uint8Array, source = 'model'): { model: Uint8Array; tensors: string[] } {
  const model = decode(bytes, source);
  prepareForInt8(model, source);
  const names = new Set<string>();
  for (const t of quantTargets(model)) {
    names.add(t.node.input![0]);
    names.add(t.node.output![0]);
  }
  for (const n of residualAdds(model)) for (const name of [...n.input!, n.output![0]]) names.add(name);
  for (const n of int8Elementwise(model)) names.add(n.input![0]).add(n.output![0]);
  const g = model.graph!;
  const existing = new Set((g.output ?? []).map((o) => o.name));
  for (const n of names) if (!existing.has(n)) g.output!.push(onnx.ValueInfoProto.create({ name: n }));
  return { model: encode(model), tensors: [...names] };
}

export interface ActivationRange { min: number; max: number }

/** The float graph both calibration and quantization start from: BNs folded, PRelus rewritten (idempotent). */
function prepareForInt8(model: Model, source: string): void {
  ensureOpset13(model, source);
  foldBatchNorms(model);
  decomposePRelu(model);
}

/** The same, serialised: a graph to quantize many times over (each time then prepares nothing again). */
export function int8ReadyGraph(bytes: Uint8Array, source = 'model'): Uint8Array {
  const model = decode(bytes, source);
  prepareForInt8(model, source);
  return encode(model);
}

/** LeakyRelu, and Mul or Add of an activation and a constant: onnxruntime has int8 kernels for these. */
function int8Elementwise(model: Model): Node[] {
  const constants = new Set((model.graph!.initializer ?? []).map((t) => t.name));
  return (model.graph!.node ?? []).filter((n) => n.opType === 'LeakyRelu' || ((n.opType === 'Mul' || n.opType === 'Add') && n.input?.length === 2 && !constants.has(n.input[0]) && constants.has(n.input[1])));
}

/** Add nodes of two activations (residual connections), not of a constant. */
function residualAdds(model: Model): Node[] {
  const g = model.graph!;
  const constants = new Set((g.initializer ?? []).map((t) => t.name));
  return (g.node ?? []).filter((n) => n.opType === 'Add' && n.input?.length === 2 && n.input.every((i) => !constants.has(i)));
}

/**
 * Static INT8 in QDQ form: per-channel symmetric int8 weights; uint8 activations with scale and zero point from
 * calibrated ranges, as QuantizeLinear → DequantizeLinear around every Conv/Gemm input and output, the pattern
 * onnxruntime fuses into QLinearConv (VNNI kernels on CPUs that have them). Inputs and outputs stay float32.
 *
 * Weights take 7 bits (±63) unless `weightBits` is 8: onnxruntime's uint8 × int8 kernel on CPUs without VNNI (AVX2)
 * adds pairs of products in 16 bits, and 255·127·2 overflows them (saturates), where 255·63·2 does not. With 7 bits
 * no kernel saturates and every x86 CPU computes the same integer sums (MobileFaceNet on an AVX2 machine: golden-crop cosine min
 * 0.951 with 7 bits, 0.890 with 8; docs/models.md); 8 bits gain a little on VNNI machines only.
 */
export function quantizeStaticInt8(bytes: Uint8Array, ranges: Map<string, ActivationRange>, source = 'model', weightBits: 7 | 8 = 7): Uint8Array {
  const model = decode(bytes, source);
  prepareForInt8(model, source);
  const g = model.graph!;
  const body = [...(g.node ?? [])];
  const pre: Node[] = [];
  g.node = pre;
  const qdq = new Map<string, string>();
  const qdqOf = (name: string): string | null => {
    if (qdq.has(name)) return qdq.get(name)!;
    const r = ranges.get(name);
    if (!r) return null;
    const lo = Math.min(0, r.min);
    const hi = Math.max(0, r.max);
    const scale = hi > lo ? (hi - lo) / 255 : 1;
    const zp = Math.max(0, Math.min(255, Math.round(-lo / scale)));
    g.initializer!.push(
      floatTensor(`${name}__a_scale`, [], Float32Array.of(scale)),
      onnx.TensorProto.create({ name: `${name}__a_zp`, dims: [], dataType: DT.UINT8, rawData: Uint8Array.of(zp) }),
    );
    const dq = `${name}__dq`;
    qdq.set(name, dq);
    return dq;
  };
  const targetList = quantTargets({ graph: { ...g, node: body } } as unknown as Model);
  const targets = new Set(targetList.map((t) => t.node));
  for (const t of targetList) t.node.input![1] = quantizeWeight(model, t, weightBits === 8 ? 127 : 63);
  // Quantize each activation right after the node that produces it (or at the top for graph inputs).
  const producers = new Map<string, number>();
  body.forEach((n, i) => n.output?.forEach((o) => producers.set(o, i)));
  const inserts = new Map<number, Node[]>();
  const rewired = new Map<string, string>();
  // The last layer's output is the embedding (or detector head) itself: 8 bits there cost accuracy for nothing.
  const lastTarget = [...body].reverse().find((n) => targets.has(n));
  // Residual Adds between quantized tensors are quantized too (onnxruntime fuses them into QLinearAdd), so the
  // int8 path does not drop to float and back at every block.
  const adds = new Set(residualAdds({ graph: { ...g, node: body } } as unknown as Model));
  const elementwise = new Set(int8Elementwise({ graph: { ...g, node: body } } as unknown as Model));
  for (const n of elementwise) if (n.opType !== 'LeakyRelu') n.input![1] = quantizeConstant(model, n.input![1]);
  for (const n of body) {
    if (!targets.has(n) && !adds.has(n) && !elementwise.has(n)) continue;
    const tensors = adds.has(n) ? [...n.input!, n.output![0]] : n === lastTarget ? [n.input![0]] : [n.input![0], n.output![0]];
    for (const name of tensors) {
      if (rewired.has(name)) continue;
      const before = qdq.size;
      const dq = qdqOf(name);
      if (!dq || qdq.size === before) continue;
      const at = producers.get(name) ?? -1;
      const nodes = [
        onnx.NodeProto.create({ name: `${name}__q`, opType: 'QuantizeLinear', input: [name, `${name}__a_scale`, `${name}__a_zp`], output: [`${name}__q`] }),
        onnx.NodeProto.create({ name: `${name}__dq`, opType: 'DequantizeLinear', input: [`${name}__q`, `${name}__a_scale`, `${name}__a_zp`], output: [dq] }),
      ];
      inserts.set(at, [...(inserts.get(at) ?? []), ...nodes]);
      rewired.set(name, dq);
    }
  }
  // Consumers of a quantized tensor read its dequantized copy (graph outputs keep the float original).
  for (const n of body) n.input = (n.input ?? []).map((i) => rewired.get(i) ?? i);
  const ordered: Node[] = [...pre, ...(inserts.get(-1) ?? [])];
  body.forEach((n, i) => { ordered.push(n); ordered.push(...(inserts.get(i) ?? [])); });
  g.node = ordered;
  pruneInitializers(model);
  return encode(model);
}
