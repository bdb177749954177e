import onnxProto from 'onnx-proto';
import { FaceprintError } from '../errors.js';

const { onnx } = onnxProto;

/** Stage depths of InsightFace's IResNets (arcface_torch iresnet.py). */
export const IRESNET_LAYERS = { iresnet50: [3, 4, 14, 3], iresnet100: [3, 13, 30, 3] } as const;
export type IResNetArch = keyof typeof IRESNET_LAYERS;

export interface ReplicaStats { params: number; macsPerFace: number; nodes: number }

/** mulberry32 → Box–Muller: a small seeded normal generator, so a replica is reproducible from its seed. */
function normalSource(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * An ONNX model with exactly the graph of InsightFace's IResNet recognizers (w600k_r50 for iresnet50,
 * antelopev2's glintr100 for iresnet100) and seeded random weights: input `input.1` [N,3,112,112]; stem
 * conv3×3(64) + BN + PReLU; IBasicBlocks (BN → conv3×3 → BN → PReLU → conv3×3(stride) → BN, plus a 1×1
 * stride-2 conv + BN shortcut on each stage's first block) in stages of 64/128/256/512 planes; BN, flatten,
 * FC 25088→512, BN1d. Speed does not depend on weight values, so this measures what the real file would;
 * weights are He-scaled so activations stay finite (denormals or NaNs would distort timings).
 */
export function buildIResNetReplica(arch: IResNetArch, seed = 1, options: { weights?: boolean } = {}): { bytes: Uint8Array; stats: ReplicaStats } {
  // weights: false counts parameters and MACs without allocating (and writes an empty-weight graph).
  const withWeights = options.weights !== false;
  const layers = IRESNET_LAYERS[arch];
  if (!layers) throw new FaceprintError('INVALID_INPUT', `unknown architecture ${arch}; known: ${Object.keys(IRESNET_LAYERS).join(', ')}`);
  const normal = normalSource(seed);
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const inits: InstanceType<typeof onnx.TensorProto>[] = [];
  let params = 0;
  let macs = 0;
  let counter = 0;
  const name = (p: string): string => `${p}_${counter++}`;
  const tensor = (n: string, dims: number[], fill: (i: number) => number, count = true): string => {
    const size = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(withWeights ? size : 0);
    for (let i = 0; i < data.length; i++) data[i] = fill(i);
    inits.push(onnx.TensorProto.create({ name: n, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) }));
    if (count) params += size;
    return n;
  };
  const attr = {
    ints: (n: string, v: number[]) => onnx.AttributeProto.create({ name: n, type: onnx.AttributeProto.AttributeType.INTS, ints: v }),
    int: (n: string, v: number) => onnx.AttributeProto.create({ name: n, type: onnx.AttributeProto.AttributeType.INT, i: v }),
    float: (n: string, v: number) => onnx.AttributeProto.create({ name: n, type: onnx.AttributeProto.AttributeType.FLOAT, f: v }),
  };
  /** A conv on a square input of side `inSize`; returns its output and the output side. */
  const conv = (x: string, inSize: number, cin: number, cout: number, k: number, stride: number): [string, number] => {
    const w = tensor(name('conv_w'), [cout, cin, k, k], () => normal() * Math.sqrt(2 / (cin * k * k)));
    const out = name('conv');
    const pad = (k - 1) / 2;
    nodes.push(onnx.NodeProto.create({ name: out, opType: 'Conv', input: [x, w], output: [out], attribute: [attr.ints('kernel_shape', [k, k]), attr.ints('strides', [stride, stride]), attr.ints('pads', [pad, pad, pad, pad]), attr.ints('dilations', [1, 1]), attr.int('group', 1)] }));
    const outSize = Math.floor((inSize + 2 * pad - k) / stride) + 1;
    macs += cout * cin * k * k * outSize * outSize;
    return [out, outSize];
  };
  const bn = (x: string, c: number, eps = 1e-5): string => {
    // Trained-looking statistics (not the identity), so that folding them is exercised for real.
    const scale = tensor(name('bn_scale'), [c], () => 1 + 0.1 * normal());
    const bias = tensor(name('bn_bias'), [c], () => 0.1 * normal());
    const mean = tensor(name('bn_mean'), [c], () => 0.1 * normal(), false);
    const variance = tensor(name('bn_var'), [c], () => 1 + 0.2 * Math.abs(normal()), false);
    const out = name('bn');
    nodes.push(onnx.NodeProto.create({ name: out, opType: 'BatchNormalization', input: [x, scale, bias, mean, variance], output: [out], attribute: [attr.float('epsilon', eps), attr.float('momentum', 0.9)] }));
    return out;
  };
  const prelu = (x: string, c: number): string => {
    const slope = tensor(name('prelu_slope'), [c, 1, 1], () => 0.25 + 0.05 * normal());
    const out = name('prelu');
    nodes.push(onnx.NodeProto.create({ name: out, opType: 'PRelu', input: [x, slope], output: [out] }));
    return out;
  };
  const add = (a: string, b: string): string => {
    const out = name('add');
    nodes.push(onnx.NodeProto.create({ name: out, opType: 'Add', input: [a, b], output: [out] }));
    return out;
  };

  const [stem, stemSize] = conv('input.1', 112, 3, 64, 3, 1);
  let x = prelu(bn(stem, 64), 64);
  let size = stemSize;
  let inplanes = 64;
  [64, 128, 256, 512].forEach((planes, stage) => {
    for (let b = 0; b < layers[stage]; b++) {
      const stride = b === 0 ? 2 : 1;
      const [c1] = conv(bn(x, inplanes), size, inplanes, planes, 3, 1);
      const [c2, outSize] = conv(prelu(bn(c1, planes), planes), size, planes, planes, 3, stride);
      const shortcut = b === 0 ? bn(conv(x, size, inplanes, planes, 1, 2)[0], planes) : x;
      x = add(bn(c2, planes), shortcut);
      size = outSize;
      inplanes = planes;
    }
  });
  x = bn(x, 512, 1e-5);
  const flat = name('flatten');
  nodes.push(onnx.NodeProto.create({ name: flat, opType: 'Flatten', input: [x], output: [flat], attribute: [attr.int('axis', 1)] }));
  const fcW = tensor(name('fc_w'), [512, 512 * 7 * 7], () => normal() * Math.sqrt(1 / (512 * 49)));
  const fcB = tensor(name('fc_b'), [512], () => 0);
  const fc = name('fc');
  nodes.push(onnx.NodeProto.create({ name: fc, opType: 'Gemm', input: [flat, fcW, fcB], output: [fc], attribute: [attr.float('alpha', 1), attr.float('beta', 1), attr.int('transB', 1)] }));
  macs += 512 * 512 * 49;
  const features = bn(fc, 512, 1e-5);
  nodes.push(onnx.NodeProto.create({ name: 'output', opType: 'Identity', input: [features], output: ['embedding'] }));

  const valueInfo = (n: string, dims: (number | string)[]) => ({
    name: n,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 6,
    producerName: 'faceprint models replica',
    opsetImport: [{ domain: '', version: 11 }],
    graph: { name: `${arch}_replica_seed${seed}`, node: nodes, initializer: inits, input: [valueInfo('input.1', ['None', 3, 112, 112])], output: [valueInfo('embedding', ['None', 512])] },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), stats: { params, macsPerFace: macs, nodes: nodes.length } };
}
