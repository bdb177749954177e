import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { normCrop } from '../core/alignment/norm-crop.js';
import { letterboxCanvas } from '../core/detection/letterbox.js';
import { normaliseEmbedding } from '../core/embedding/arcface.js';
import type { RgbImage } from '../core/image.js';
import { FaceAnalyzer, decodeImage } from './index.js';

const { onnx } = onnxProto;

export interface Timing { min: number; median: number; p90: number; n: number }
const stats = (xs: number[]): Timing => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], p90: s[Math.min(s.length - 1, Math.floor(s.length * 0.9))], n: s.length };
};

/** Runs `f` `warmup` times, then times `iters` runs (ms). */
export async function time(iters: number, warmup: number, f: () => unknown): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await f();
  const xs: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t = performance.now();
    await f();
    xs.push(performance.now() - t);
  }
  return stats(xs);
}

/** A MatMul-only ONNX graph: the FP32 peak probe (onnxruntime's MLAS sgemm on this CPU). */
function sgemmModel(n: number): Uint8Array {
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: n }, { dimValue: n }] } } } });
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'sgemm', node: [{ opType: 'MatMul', input: ['a', 'b'], output: ['c'], name: 'mm' }], input: [vi('a'), vi('b')], output: [vi('c')] },
  })).finish();
}

/** Measured FP32 GFLOPS of a 2048³ sgemm (best of `iters`), per intra-op thread count. */
async function sgemmPeak(threads: number, iters = 6): Promise<number> {
  const n = 2048;
  const s = await ort.InferenceSession.create(sgemmModel(n), { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  const a = new ort.Tensor('float32', Float32Array.from({ length: n * n }, (_, i) => (i % 97) / 97), [n, n]);
  const t = await time(iters, 2, () => s.run({ a, b: a }));
  await s.release();
  return (2 * n ** 3) / (t.min / 1000) / 1e9;
}

export interface BenchReport {
  image: string;
  faces: number;
  stages: Record<string, Timing>;
  recognizer: { file: string; macsPerFace: number | null; sweep: { threads: number; batch: number; msPerFace: number; gflops: number | null; ofPeak: number | null }[] };
  peakGflops: Record<string, number>;
  /** pipeline ÷ (detector run + recognizer run), medians: what the pipeline adds around the two models. */
  pipelineOverhead: number | null;
}

/**
 * Per-stage timings of the pipeline on one image, then the recognizer alone over batch sizes and thread counts,
 * with achieved GFLOPS (2·MACs per face) next to the sgemm peak of this machine.
 */
export async function runBench(opts: { detector: string; recognizer: string; image: string; iters: number; macsPerFace?: number | null; batches?: number[]; threads?: number[] }): Promise<BenchReport> {
  const iters = opts.iters;
  const fa = await FaceAnalyzer.create({ detector: opts.detector, recognizer: opts.recognizer });
  const stages: Record<string, Timing> = {};
  let image!: RgbImage;
  stages.decode = await time(iters, 2, async () => { image = await decodeImage(opts.image); });
  const det = fa.core.detector;
  const rec = fa.core.recognizer!;
  let canvas!: Uint8Array;
  let scale = 1;
  stages.letterbox = await time(iters, 2, () => ({ canvas, scale } = letterboxCanvas(image, det.inputWidth, det.inputHeight)));
  const feeds = { [det.session.inputs[0].name]: { data: canvas, dims: [1, det.inputHeight, det.inputWidth, 3] } };
  let outputs!: Awaited<ReturnType<typeof det.session.run>>;
  stages.detectorRun = await time(iters, 2, async () => { outputs = await det.session.run(feeds); });
  let faces = det.decode({ outputs, inputWidth: det.inputWidth, inputHeight: det.inputHeight, scale }, image.width, image.height);
  stages.decodeNms = await time(iters, 2, () => { faces = det.decode({ outputs, inputWidth: det.inputWidth, inputHeight: det.inputHeight, scale }, image.width, image.height); });
  let crops: RgbImage[] = [];
  stages.align = await time(iters, 2, () => { crops = faces.filter((f) => f.kps).map((f) => normCrop(image, f.kps!, rec.inputSize).crop); });
  let raws: Float32Array[] = [];
  if (crops.length) {
    stages.embedRun = await time(iters, 2, async () => { raws = await rec.embedRaw(crops); });
    stages.normalise = await time(iters, 2, () => raws.map(normaliseEmbedding));
  }
  stages.pipeline = await time(iters, 2, () => fa.analyze(image));
  await fa.close();

  const threadsList = opts.threads ?? [1, 2];
  const peakGflops: Record<string, number> = {};
  for (const t of threadsList) peakGflops[String(t)] = await sgemmPeak(t);
  const sweep: BenchReport['recognizer']['sweep'] = [];
  const size = rec.inputSize;
  for (const threads of threadsList) {
    const s = await ort.InferenceSession.create(opts.recognizer, { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
    for (const batch of opts.batches ?? [1, 8, 32]) {
      const x = new ort.Tensor('float32', Float32Array.from({ length: batch * 3 * size * size }, (_, i) => ((i * 31) % 255) / 127.5 - 1), [batch, 3, size, size]);
      const t = await time(Math.max(3, Math.ceil(iters / batch)), 1, () => s.run({ [s.inputNames[0]]: x }));
      const msPerFace = t.median / batch;
      const gflops = opts.macsPerFace ? (2 * opts.macsPerFace) / (msPerFace / 1000) / 1e9 : null;
      sweep.push({ threads, batch, msPerFace, gflops, ofPeak: gflops ? gflops / peakGflops[String(threads)] : null });
    }
    await s.release();
  }
  const bare = stages.detectorRun.median + (stages.embedRun?.median ?? 0);
  return { image: opts.image, faces: faces.length, stages, recognizer: { file: opts.recognizer, macsPerFace: opts.macsPerFace ?? null, sweep }, peakGflops, pipelineOverhead: stages.pipeline.median / bare };
}
