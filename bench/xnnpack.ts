/**
 * Is onnxruntime-web's WASM the ceiling? The recognizer (MobileFaceNet) run on the other WASM kernel library a
 * browser page can use — XNNPACK, through @tensorflow/tfjs-backend-wasm, the peers' backend — against
 * onnxruntime-web on the same input, batch and thread count (both in Node: the same V8 and WASM SIMD as Chromium).
 * The graph is rebuilt op by op from the ONNX file (Conv+Clip/Relu fused as tfjs fused convolutions, Add, the
 * final flatten); its output is checked against onnxruntime-web's (cosine) before anything is timed.
 *
 *   node --import tsx bench/xnnpack.ts [--batch 1,6] [--threads 1,2] [--runs 20]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as ortWeb from 'onnxruntime-web';
import { cosine } from '../src/core/matching/cosine.js';
import { decodeModel, floatData, type Node } from '../src/core/models/onnx-graph.js';
import { time } from '../src/node/bench.js';
import { MOBILEFACENET } from '../test/fixtures.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '1,6' }, threads: { type: 'string', default: '1,2' }, runs: { type: 'string', default: '20' } } });
const runs = Number(values.runs);
const bytes = readFileSync(MOBILEFACENET);
const g = decodeModel(bytes, MOBILEFACENET).graph!;
const inits = new Map((g.initializer ?? []).map((t) => [t.name!, t]));
const constants = new Map<string, Float32Array>();
for (const n of g.node ?? []) if (n.opType === 'Constant') constants.set(n.output![0], floatData(n.attribute![0].t!));
const readers = new Map<string, number>();
for (const n of g.node ?? []) for (const i of n.input ?? []) readers.set(i, (readers.get(i) ?? 0) + 1);
const ints = (n: Node, name: string): number[] => (n.attribute?.find((a) => a.name === name)?.ints ?? []).map(Number);

/** The graph as tfjs steps on NHWC tensors: each reads and writes named values. */
type Step = (values: Map<string, tf.Tensor>) => void;
function tfjsSteps(): Step[] {
  const steps: Step[] = [];
  const nodes = (g.node ?? []).filter((n) => n.opType !== 'Constant');
  for (let k = 0; k < nodes.length; k++) {
    const n = nodes[k];
    const [input] = n.input!;
    if (n.opType === 'Conv') {
      const w = inits.get(n.input![1])!;
      const [o, i, kh, kw] = (w.dims ?? []).map(Number);
      const weights = tf.tensor4d(floatData(w), [o, i, kh, kw]);
      const bias = n.input![2] ? tf.tensor1d(floatData(inits.get(n.input![2])!)) : undefined;
      const [s, p] = [ints(n, 'strides'), ints(n, 'pads')];
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p[0], p[2]], [p[1], p[3]], [0, 0]];
      // the activation that alone reads the conv's output is fused into it, as onnxruntime fuses it
      let out = n.output![0];
      let activation: 'linear' | 'relu' | 'relu6' = 'linear';
      const next = nodes[k + 1];
      if (next && readers.get(out) === 1 && next.input![0] === out && (next.opType === 'Relu' || next.opType === 'Clip')) {
        if (next.opType === 'Clip' && !(constants.get(next.input![1])?.[0] === 0 && constants.get(next.input![2])?.[0] === 6)) throw new Error('only Clip(0, 6) is fused');
        activation = next.opType === 'Relu' ? 'relu' : 'relu6';
        out = next.output![0];
        k++;
      }
      const strides: [number, number] = [s[0], s[1]];
      if (i === 1 && o > 1) {
        // tfjs's depthwise convolution takes one padding for all sides
        if (!p.every((x) => x === p[0])) throw new Error('asymmetric depthwise padding');
        const filter = tf.transpose(weights, [2, 3, 0, 1]) as tf.Tensor4D;
        steps.push((v) => v.set(out, tf.fused.depthwiseConv2d({ x: v.get(input) as tf.Tensor4D, filter, strides, pad: p[0], bias, activation })));
      } else {
        const filter = tf.transpose(weights, [2, 3, 1, 0]) as tf.Tensor4D;
        steps.push((v) => v.set(out, tf.fused.conv2d({ x: v.get(input) as tf.Tensor4D, filter, strides, pad, bias, activation })));
      }
    } else if (n.opType === 'Add') {
      const [a, b] = n.input!;
      steps.push((v) => v.set(n.output![0], tf.add(v.get(a)!, v.get(b)!)));
    } else if (n.opType === 'Reshape') {
      // ONNX flattens NCHW: back to channel-major first
      steps.push((v) => { const x = v.get(input)!; v.set(n.output![0], tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], -1])); });
    } else if (!['Shape', 'Gather', 'Unsqueeze', 'Concat'].includes(n.opType!)) {
      throw new Error(`op ${n.opType} is not rebuilt here`);
    }
  }
  return steps;
}

setWasmPaths(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url).pathname);
// each library's thread count is fixed when it starts: this process starts one child per thread count
const only = process.env.XNNPACK_THREADS;
for (const threads of values.threads.split(',').map(Number)) {
  if (!only) {
    process.stdout.write(execFileSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env: { ...process.env, XNNPACK_THREADS: String(threads) }, encoding: 'utf8' }));
    continue;
  }
  if (Number(only) !== threads) continue;
  setThreadsCount(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  ortWeb.env.wasm.numThreads = threads;
  const session = await ortWeb.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', executionProviders: ['wasm'] });
  const steps = tfjsSteps();
  for (const batch of values.batch.split(',').map(Number)) {
    const shape = [batch, 3, 112, 112];
    const x = Float32Array.from({ length: batch * 3 * 112 * 112 }, (_, i) => Math.sin(i) * 0.5);
    const viaTfjs = async (): Promise<Float32Array> => {
      const y = tf.tidy(() => {
        const v = new Map<string, tf.Tensor>([[g.input![0].name!, tf.transpose(tf.tensor4d(x, [batch, 3, 112, 112]), [0, 2, 3, 1])]]);
        for (const step of steps) step(v);
        return v.get(g.output![0].name!)!;
      });
      const data = (await y.data()) as Float32Array;
      y.dispose();
      return data;
    };
    const viaOrt = async (): Promise<Float32Array> => (await session.run({ [session.inputNames[0]]: new ortWeb.Tensor('float32', x, shape) }))[session.outputNames[0]].data as Float32Array;
    const [a, b] = [await viaTfjs(), await viaOrt()];
    const dim = a.length / batch;
    const agreement = Math.min(...Array.from({ length: batch }, (_, i) => cosine(a.subarray(i * dim, (i + 1) * dim), b.subarray(i * dim, (i + 1) * dim))));
    if (agreement < 0.9999) throw new Error(`the rebuilt graph disagrees with onnxruntime: cosine ${agreement}`);
    // interleaved rounds: both libraries see the same machine noise
    const xnn: number[] = [];
    const ort: number[] = [];
    for (let round = 0; round < 3; round++) {
      xnn.push((await time(runs, 3, viaTfjs)).median);
      ort.push((await time(runs, 3, viaOrt)).median);
    }
    const best = (xs: number[]) => Math.min(...xs);
    console.log(`MobileFaceNet batch ${batch}, ${threads} thread(s): onnxruntime-web ${best(ort).toFixed(1)} ms, XNNPACK (tfjs-backend-wasm) ${best(xnn).toFixed(1)} ms — ${(best(ort) / best(xnn)).toFixed(2)}× (cosine ${agreement.toFixed(6)})`);
  }
  await session.release();
}
