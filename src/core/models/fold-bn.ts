/**
 * Exact BatchNormalization folding before quantization. A BN that stays in the graph is a float op between
 * int8 ones; onnxruntime then leaves the NHWC int8 path around it (two Transposes, a Dequantize and a Quantize
 * per BN: half the int8 speed-up of an IResNet was lost there). Every rewrite here keeps the float model's output
 * equal up to rounding (checked against the original in test/quantize.test.ts).
 */
import { DT, consumersOf, onnx, dims, floatAttr, floatData, floatTensor, intAttr, intsAttr, pruneInitializers, type Model, type Node, type Tensor } from './onnx-graph.js';

interface Affine { a: Float32Array; b: Float32Array }

class Initializers {
  private readonly byName: Map<string, Tensor>;
  private serial = 0;
  constructor(private readonly model: Model) {
    this.byName = new Map((model.graph!.initializer ?? []).map((t) => [t.name!, t]));
  }
  get(name: string | undefined): Tensor | undefined {
    return name === undefined ? undefined : this.byName.get(name);
  }
  floats(name: string | undefined): Float32Array | undefined {
    const t = this.get(name);
    return t && t.dataType === DT.FLOAT ? floatData(t) : undefined;
  }
  /** A new initializer (never mutating one another node may share) set as `node.input[index]`. */
  set(node: Node, index: number, d: number[], data: Float32Array): void {
    let name = `${node.name || node.output![0]}__fold${this.serial++}`;
    while (this.byName.has(name)) name = `${node.name || node.output![0]}__fold${this.serial++}`;
    const t = floatTensor(name, d, data);
    this.model.graph!.initializer!.push(t);
    this.byName.set(name, t);
    const inputs = [...(node.input ?? [])];
    while (inputs.length < index) inputs.push('');
    inputs[index] = name;
    node.input = inputs;
  }
}

/** What every rewrite here reads: the graph, its initializers, the readers of each tensor, the graph outputs. */
function graphOf(model: Model): { g: NonNullable<Model['graph']>; inits: Initializers; consumers: Map<string, Node[]>; outputs: Set<string | null | undefined> } {
  const g = model.graph!;
  return { g, inits: new Initializers(model), consumers: consumersOf(model), outputs: new Set((g.output ?? []).map((o) => o.name)) };
}

/** Removes nodes a rewrite made redundant, and the initializers only they read. */
function dropNodes(model: Model, drop: Set<Node>): void {
  model.graph!.node = (model.graph!.node ?? []).filter((n) => !drop.has(n));
  pruneInitializers(model);
}

/** y = a·x + b per channel, or null when the BN's parameters are not plain float initializers. */
function bnAffine(bn: Node, inits: Initializers): Affine | null {
  const [s, beta, mean, variance] = bn.input!.slice(1, 5).map((n) => inits.floats(n));
  if (!s || !beta || !mean || !variance) return null;
  const eps = floatAttr(bn, 'epsilon', 1e-5);
  const a = new Float32Array(s.length);
  const b = new Float32Array(s.length);
  for (let c = 0; c < s.length; c++) {
    a[c] = s[c] / Math.sqrt(variance[c] + eps);
    b[c] = beta[c] - mean[c] * a[c];
  }
  return { a, b };
}

/** BN(x) = a·(x + b/a) needs every a clear of zero: a (near-)zero scale would need an infinite offset. */
function invertible(ab: Affine): boolean {
  const big = ab.a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return ab.a.every((v) => Math.abs(v) > 1e-3 * big);
}

/** Gemm with plain alpha/beta whose weight is a 2-D float initializer: [out, in] (transB) or [in, out]. */
function gemmLayout(n: Node, inits: Initializers): { w: Float32Array; out: number; inner: number; transB: boolean } | null {
  if (n.opType !== 'Gemm' || floatAttr(n, 'alpha', 1) !== 1 || floatAttr(n, 'beta', 1) !== 1 || intAttr(n, 'transA', 0) !== 0) return null;
  const t = inits.get(n.input![1]);
  const w = inits.floats(n.input![1]);
  if (!t || !w || dims(t).length !== 2) return null;
  const transB = intAttr(n, 'transB', 0) === 1;
  const [d0, d1] = dims(t);
  return { w, out: transB ? d0 : d1, inner: transB ? d1 : d0, transB };
}

const biasOf = (n: Node, inits: Initializers, channels: number): Float32Array | null => {
  if (!n.input![2]) return new Float32Array(channels);
  const b = inits.floats(n.input![2]);
  return b && b.length === channels ? Float32Array.from(b) : null;
};

/** Conv → BN and Gemm → BN (the Conv/Gemm feeding nothing else): the BN's scale and shift go into its weights. */
function foldBnIntoProducer(model: Model): void {
  const { g, inits, consumers, outputs } = graphOf(model);
  const drop = new Set<Node>();
  for (const n of g.node ?? []) {
    if (n.opType !== 'Conv' && n.opType !== 'Gemm') continue;
    const users = consumers.get(n.output![0]) ?? [];
    const bn = users[0];
    if (users.length !== 1 || bn.opType !== 'BatchNormalization' || outputs.has(n.output![0])) continue;
    const ab = bnAffine(bn, inits);
    if (!ab) continue;
    const cout = ab.a.length;
    if (n.opType === 'Conv') {
      const wt = inits.get(n.input![1]);
      const W = inits.floats(n.input![1]);
      const bias = biasOf(n, inits, cout);
      if (!wt || !W || !bias || dims(wt)[0] !== cout) continue;
      const per = W.length / cout;
      const newW = new Float32Array(W.length);
      for (let c = 0; c < cout; c++) for (let i = 0; i < per; i++) newW[c * per + i] = W[c * per + i] * ab.a[c];
      inits.set(n, 1, dims(wt), newW);
      inits.set(n, 2, [cout], bias.map((v, c) => v * ab.a[c] + ab.b[c]));
    } else {
      const gl = gemmLayout(n, inits);
      const bias = gl && biasOf(n, inits, gl.out);
      if (!gl || !bias || gl.out !== cout) continue;
      const newW = new Float32Array(gl.w.length);
      for (let o = 0; o < gl.out; o++) for (let i = 0; i < gl.inner; i++) {
        const k = gl.transB ? o * gl.inner + i : i * gl.out + o;
        newW[k] = gl.w[k] * ab.a[o];
      }
      inits.set(n, 1, dims(inits.get(n.input![1])!), newW);
      inits.set(n, 2, [cout], bias.map((v, c) => v * ab.a[c] + ab.b[c]));
    }
    n.output = [bn.output![0]];
    drop.add(bn);
  }
  dropNodes(model, drop);
}


/** Conv weights with input channel c scaled by k[c] (any group count): exact whatever the padding. */
function scaleConvInputs(conv: Node, inits: Initializers, k: Float32Array): boolean {
  const wt = inits.get(conv.input![1]);
  const W = inits.floats(conv.input![1]);
  if (!wt || !W || dims(wt).length < 3) return false;
  const [cout, cinPerGroup] = dims(wt);
  const group = intAttr(conv, 'group', 1);
  if (cinPerGroup * group !== k.length || cout % group !== 0) return false;
  const per = W.length / (cout * cinPerGroup);
  const coutPerGroup = cout / group;
  const newW = new Float32Array(W.length);
  for (let o = 0; o < cout; o++) {
    const first = Math.floor(o / coutPerGroup) * cinPerGroup;
    for (let ci = 0; ci < cinPerGroup; ci++) for (let i = 0; i < per; i++) {
      const idx = (o * cinPerGroup + ci) * per + i;
      newW[idx] = W[idx] * k[first + ci];
    }
  }
  inits.set(conv, 1, dims(wt), newW);
  return true;
}

const isResidualAdd = (n: Node, inits: Initializers): boolean =>
  n.opType === 'Add' && n.input?.length === 2 && n.input.every((i) => !inits.get(i));

const zeroPads = (n: Node): boolean => (intsAttr(n, 'pads') ?? [0]).every((p) => p === 0) && (n.attribute?.find((a) => a.name === 'auto_pad')?.s?.length ?? 0) === 0;

/**
 * The pre-activation BN of each residual block (IResNet: stream → BN → Conv3×3 with zero padding) cannot be
 * folded into the Conv after it: the Conv pads BN(x) with zeros, which are not BN of anything. It can be folded
 * exactly by carrying a per-channel offset c = b/a in the residual stream itself: then BN(x) = a·(x + c), the
 * padding of a·(x + c) is zero, and a goes into the Conv's input channels. The offset is put into the stream by the
 * bias of the Conv closing the block before (the branch feeding the residual Add), and taken out wherever else
 * the stream is read: a 1×1 downsample Conv without padding (its bias), a following BN (its mean), or the next
 * block's residual Add (its branch bias, together with that block's own offset).
 */
function shiftResidualStreams(model: Model): number {
  const { g, inits, consumers, outputs } = graphOf(model);
  const producers = new Map<string, Node>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) producers.set(o, n);
  const offsets = new Map<string, Float32Array>();
  const drop = new Set<Node>();

  /** The Conv of an Add's branch whose output only that Add reads: where an offset can be put in. */
  const branchConv = (add: Node): Node | undefined =>
    add.input!.map((i) => producers.get(i)).find((p) => p?.opType === 'Conv' && (consumers.get(p.output![0]) ?? []).length === 1 && inits.get(p.input![1]) && biasOf(p, inits, dims(inits.get(p.input![1])!)[0]) && !outputs.has(p.output![0]));
  const leadingBn = (users: Node[]): { bn: Node; conv: Node; ab: Affine } | null => {
    for (const bn of users) {
      if (bn.opType !== 'BatchNormalization' || outputs.has(bn.output![0])) continue;
      const next = consumers.get(bn.output![0]) ?? [];
      const conv = next[0];
      if (next.length !== 1 || conv.opType !== 'Conv' || intAttr(conv, 'group', 1) !== 1 || conv.input![0] !== bn.output![0]) continue;
      const ab = bnAffine(bn, inits);
      if (ab && invertible(ab) && inits.floats(conv.input![1])) return { bn, conv, ab };
    }
    return null;
  };
  /** Every reader of a stream tensor other than the folded BN must be able to take the offset out exactly. */
  const readersTakeOffset = (users: Node[], skip: Node): boolean => users.every((u) => u === skip
    || (isResidualAdd(u, inits) && branchConv(u) !== undefined)
    || (u.opType === 'Conv' && intAttr(u, 'group', 1) === 1 && zeroPads(u) && u.input![0] !== u.input![1] && inits.get(u.input![1]) !== undefined)
    || (u.opType === 'BatchNormalization' && bnAffine(u, inits) !== null));

  let folded = 0;
  for (const add of [...(g.node ?? [])]) {
    if (!isResidualAdd(add, inits)) continue;
    const branch = branchConv(add);
    if (!branch) continue;
    const out = add.output![0];
    const users = consumers.get(out) ?? [];
    const lead = outputs.has(out) ? null : leadingBn(users);
    const channels = dims(inits.get(branch.input![1])!)[0];
    const incoming = new Float32Array(channels);
    for (const i of add.input!) offsets.get(i)?.forEach((v, c) => { incoming[c] += v; });
    const wanted = lead && lead.ab.a.length === channels && readersTakeOffset(users, lead.bn) ? lead.ab.b.map((b, c) => b / lead.ab.a[c]) : new Float32Array(channels);
    const delta = wanted.map((v, c) => v - incoming[c]);
    if (delta.some((v) => v !== 0)) {
      const bias = biasOf(branch, inits, channels)!;
      inits.set(branch, 2, [channels], bias.map((v, c) => v + delta[c]));
    }
    if (!wanted.some((v) => v !== 0)) continue;
    offsets.set(out, wanted);
    for (const u of users) {
      if (u === lead!.bn) {
        // BN(x) = a·(x + c): scale the Conv's input channels by a; its zero padding stays exact.
        const conv = lead!.conv;
        scaleConvInputs(conv, inits, lead!.ab.a);
        conv.input![0] = out;
        drop.add(lead!.bn);
      } else if (u.opType === 'Conv') {
        // Without padding every output reads x + c in full: subtract W·c from the bias.
        const wt = inits.get(u.input![1])!;
        const W = inits.floats(u.input![1])!;
        const [cout, cin] = dims(wt);
        const per = W.length / (cout * cin);
        const bias = biasOf(u, inits, cout)!;
        for (let o = 0; o < cout; o++) {
          let s = 0;
          for (let ci = 0; ci < cin; ci++) for (let k = 0; k < per; k++) s += W[(o * cin + ci) * per + k] * wanted[ci];
          bias[o] -= s;
        }
        inits.set(u, 2, [cout], bias);
      } else if (u.opType === 'BatchNormalization') {
        const mean = inits.floats(u.input![3])!;
        inits.set(u, 3, [mean.length], mean.map((m, c) => m + wanted[c]));
      }
      // A residual Add reader gets the offset through `offsets` and takes it out with its own branch bias.
    }
    folded++;
  }
  dropNodes(model, drop);
  return folded;
}

/** BN → (Flatten) → Gemm: the BN's scale goes into the Gemm's input columns and its shift into the bias. */
function foldBnIntoGemm(model: Model): void {
  const { g, inits, consumers, outputs } = graphOf(model);
  const drop = new Set<Node>();
  for (const bn of g.node ?? []) {
    if (bn.opType !== 'BatchNormalization' || outputs.has(bn.output![0])) continue;
    const users = consumers.get(bn.output![0]) ?? [];
    let gemm = users[0];
    const flatten = gemm?.opType === 'Flatten' && intAttr(gemm, 'axis', 1) === 1 ? gemm : undefined;
    if (users.length !== 1) continue;
    if (flatten) {
      const next = consumers.get(flatten.output![0]) ?? [];
      if (next.length !== 1 || outputs.has(flatten.output![0])) continue;
      gemm = next[0];
    }
    const ab = bnAffine(bn, inits);
    const gl = gemm && gemmLayout(gemm, inits);
    const bias = gl && biasOf(gemm, inits, gl.out);
    if (!ab || !gl || !bias || gl.inner % ab.a.length !== 0 || (!flatten && gl.inner !== ab.a.length)) continue;
    // Flatten of [N, C, H, W] puts channel c at columns c·HW … c·HW + HW − 1.
    const spatial = gl.inner / ab.a.length;
    const newW = new Float32Array(gl.w.length);
    for (let o = 0; o < gl.out; o++) {
      let s = 0;
      for (let i = 0; i < gl.inner; i++) {
        const c = Math.floor(i / spatial);
        const k = gl.transB ? o * gl.inner + i : i * gl.out + o;
        newW[k] = gl.w[k] * ab.a[c];
        s += gl.w[k] * ab.b[c];
      }
      bias[o] += s;
    }
    inits.set(gemm, 1, dims(inits.get(gemm.input![1])!), newW);
    inits.set(gemm, 2, [gl.out], bias);
    (flatten ?? gemm).input![0] = bn.input![0];
    drop.add(bn);
  }
  dropNodes(model, drop);
}

/** All four, in the order that lets each see the previous one's result. */
export function foldBatchNorms(model: Model): void {
  foldBnIntoProducer(model);
  shiftResidualStreams(model);
  foldBnIntoGemm(model);
  offsetLeadingBns(model);
}

/**
 * A pre-activation BN the stream cannot carry (its input comes from an activation, as after an IResNet's stem):
 * BN(x) = a·(x + c) becomes Add(x, c) feeding the Conv with a folded into its input channels. An Add of a
 * constant runs as int8 (QLinearAdd); the BN did not.
 */
function offsetLeadingBns(model: Model): number {
  const { g, inits, consumers, outputs } = graphOf(model);
  const out: Node[] = [];
  let count = 0;
  for (const bn of g.node ?? []) {
    const users = bn.opType === 'BatchNormalization' && !outputs.has(bn.output![0]) ? consumers.get(bn.output![0]) ?? [] : [];
    const conv = users[0];
    const ab = users.length === 1 && conv.opType === 'Conv' && conv.input![0] === bn.output![0] ? bnAffine(bn, inits) : null;
    if (!ab || !invertible(ab) || !scaleConvInputs(conv, inits, ab.a)) { out.push(bn); continue; }
    const shifted = `${bn.name || bn.output![0]}__offset`;
    const add = onnx.NodeProto.create({ name: shifted, opType: 'Add', input: [bn.input![0], ''], output: [shifted] });
    inits.set(add, 1, [ab.a.length, 1, 1], ab.b.map((b, c) => b / ab.a[c]));
    conv.input![0] = shifted;
    out.push(add);
    count++;
  }
  g.node = out;
  pruneInitializers(model);
  return count;
}

/**
 * PRelu with per-channel slopes s has no int8 kernel in onnxruntime, and as a float op it costs more than the
 * int8 convolutions around it save (measured: a quarter of an INT8 IResNet's time). Rewritten exactly as
 * PRelu(x) = (1 − s)·(Relu(x) + t·x), t = s / (1 − s), with the outer (1 − s) folded into the input channels of
 * the Conv that reads it (zero padding commutes with the scaling); or, when a Conv is not its only reader, as
 * s·x + (1 − s)·Relu(x). LeakyRelu(α = 0), Mul by a constant and Add run as int8 in onnxruntime (QLinearLeakyRelu,
 * QLinearMul, QLinearAdd) inside the NHWC int8 path.
 */
export function decomposePRelu(model: Model): number {
  const { g, inits, consumers, outputs } = graphOf(model);
  const out: Node[] = [];
  let count = 0;
  const mul = (name: string, input: string, d: number[], k: Float32Array): Node => {
    const n = onnx.NodeProto.create({ name, opType: 'Mul', input: [input, ''], output: [name] });
    inits.set(n, 1, d, k);
    return n;
  };
  for (const n of g.node ?? []) {
    const slopeT = n.opType === 'PRelu' ? inits.get(n.input![1]) : undefined;
    const slope = inits.floats(n.input?.[1]);
    if (!slopeT || !slope) { out.push(n); continue; }
    const [x] = n.input!;
    const y = n.output![0];
    const base = n.name || y;
    const relu = onnx.NodeProto.create({ name: `${base}__relu`, opType: 'LeakyRelu', input: [x], output: [`${base}__relu`], attribute: [onnx.AttributeProto.create({ name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: 0 })] });
    const users = consumers.get(y) ?? [];
    const reader = users.length === 1 && users[0].opType === 'Conv' && users[0].input![0] === y && !outputs.has(y) ? users[0] : undefined;
    const d = dims(slopeT);
    if (reader && slope.every((s) => Math.abs(1 - s) > 1e-3) && slope.length > 0 && scaleConvInputs(reader, inits, expandChannels(slope.map((s) => 1 - s), reader, inits))) {
      const tx = mul(`${base}__tx`, x, d, slope.map((s) => s / (1 - s)));
      out.push(relu, tx, onnx.NodeProto.create({ name: base, opType: 'Add', input: [relu.output![0], tx.output![0]], output: [y] }));
    } else {
      const sx = mul(`${base}__sx`, x, d, Float32Array.from(slope));
      const rest = mul(`${base}__rest`, relu.output![0], d, slope.map((s) => 1 - s));
      out.push(relu, sx, rest, onnx.NodeProto.create({ name: base, opType: 'Add', input: [sx.output![0], rest.output![0]], output: [y] }));
    }
    count++;
  }
  g.node = out;
  pruneInitializers(model);
  return count;
}

/** A per-channel vector for the Conv's input channels (a single shared slope is repeated). */
function expandChannels(k: Float32Array, conv: Node, inits: Initializers): Float32Array {
  const wt = inits.get(conv.input![1]);
  const channels = wt ? dims(wt)[1] * intAttr(conv, 'group', 1) : k.length;
  return k.length === 1 ? new Float32Array(channels).fill(k[0]) : k;
}
