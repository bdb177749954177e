import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type Shape = number[]; // [C, H, W] for feature maps, [F] for vectors

/**
 * Multiply-accumulates per image of a CNN graph (Conv and Gemm/MatMul), by propagating [C, H, W] through the
 * ops such models use for a given input size. Ops it does not model pass their first input's shape on, so the
 * figure is exact for plain CNNs (IResNet, MobileFaceNet, SCRFD backbones) and an estimate otherwise.
 */
export function estimateMacs(bytes: Uint8Array, inputHW: [number, number]): { macs: number; unmodelled: string[] } {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const inits = new Map<string, number[]>();
  for (const t of graph.initializer ?? []) inits.set(t.name!, (t.dims ?? []).map(Number));
  const shapes = new Map<string, Shape>();
  const first = graph.input!.find((i) => !inits.has(i.name!))!;
  const c = Number(first.type?.tensorType?.shape?.dim?.[1]?.dimValue ?? 3);
  shapes.set(first.name!, [c, inputHW[0], inputHW[1]]);
  let macs = 0;
  const unmodelled = new Set<string>();
  const attr = (node: onnxProto.onnx.INodeProto, name: string): number[] | undefined => {
    const a = node.attribute?.find((x) => x.name === name);
    return a ? (a.ints?.length ? a.ints.map(Number) : [Number(a.i)]) : undefined;
  };
  for (const node of graph.node ?? []) {
    const x = shapes.get(node.input?.[0] ?? '');
    let out: Shape | undefined = x;
    switch (node.opType) {
      case 'Conv': {
        const w = inits.get(node.input![1]);
        if (!x || !w) { unmodelled.add('Conv (unknown input)'); break; }
        const k = attr(node, 'kernel_shape') ?? w.slice(2);
        const s = attr(node, 'strides') ?? [1, 1];
        const d = attr(node, 'dilations') ?? [1, 1];
        const p = attr(node, 'pads') ?? [0, 0, 0, 0];
        const h = Math.floor((x[1] + p[0] + p[2] - d[0] * (k[0] - 1) - 1) / s[0]) + 1;
        const wd = Math.floor((x[2] + p[1] + p[3] - d[1] * (k[1] - 1) - 1) / s[1]) + 1;
        macs += w[0] * w[1] * k[0] * k[1] * h * wd;
        out = [w[0], h, wd];
        break;
      }
      case 'MaxPool': case 'AveragePool': {
        if (!x) break;
        const k = attr(node, 'kernel_shape') ?? [1, 1];
        const s = attr(node, 'strides') ?? [1, 1];
        const p = attr(node, 'pads') ?? [0, 0, 0, 0];
        out = [x[0], Math.floor((x[1] + p[0] + p[2] - k[0]) / s[0]) + 1, Math.floor((x[2] + p[1] + p[3] - k[1]) / s[1]) + 1];
        break;
      }
      case 'GlobalAveragePool': out = x ? [x[0], 1, 1] : x; break;
      case 'Flatten': out = x ? [x.reduce((a, b) => a * b, 1)] : x; break;
      case 'Gemm': case 'MatMul': {
        const w = inits.get(node.input![1]);
        if (w && w.length === 2) {
          const transB = node.opType === 'Gemm' && (attr(node, 'transB')?.[0] ?? 0) === 1;
          const [inF, outF] = transB ? [w[1], w[0]] : [w[0], w[1]];
          macs += inF * outF;
          out = [outF];
        } else unmodelled.add(node.opType!);
        break;
      }
      case 'Concat': {
        const parts = (node.input ?? []).map((n) => shapes.get(n)).filter((v): v is Shape => !!v);
        out = parts.length && parts[0].length === 3 ? [parts.reduce((a, b) => a + b[0], 0), parts[0][1], parts[0][2]] : x;
        break;
      }
      case 'Resize': case 'Upsample': {
        // FPN upsampling ×2 (the common case); exact scales need runtime shape values.
        out = x ? [x[0], x[1] * 2, x[2] * 2] : x;
        break;
      }
      case 'Add': case 'Mul': case 'Sub': case 'Div': {
        const shapesIn = (node.input ?? []).map((n) => shapes.get(n)).filter((v): v is Shape => !!v);
        out = shapesIn.sort((a, b) => b.reduce((p, q) => p * q, 1) - a.reduce((p, q) => p * q, 1))[0] ?? x;
        break;
      }
      default:
        if (!x && !(node.input ?? []).every((n) => inits.has(n))) unmodelled.add(node.opType!);
    }
    if (out) for (const o of node.output ?? []) shapes.set(o, out);
  }
  return { macs, unmodelled: [...unmodelled] };
}
