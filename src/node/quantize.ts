import * as ort from 'onnxruntime-node';
import { readFile, readdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { normCrop } from '../core/alignment/norm-crop.js';
import { letterbox, letterboxBlob, normalisationLut } from '../core/detection/letterbox.js';
import { FaceprintError } from '../core/errors.js';
import { padImage } from '../core/image.js';
import { recognizerNormalisation, ArcFaceRecognizer } from '../core/embedding/arcface.js';
import { onnxFirstNodeNames } from '../core/models/graph-info.js';
import { calibrationTensors, int8ReadyGraph, quantizeFp16, quantizeStaticInt8, quantizeWeightsInt8, type ActivationRange } from '../core/models/quantize.js';
import { cosine } from '../core/matching/cosine.js';
import { routeModel } from '../core/models/router.js';
import { createOrtNodeSession } from '../runtime/ort-node.js';
import { FaceAnalyzer, decodeImage } from './index.js';

export type QuantizeMode = 'fp16' | 'int8' | 'int8-weights';

export interface QuantizeOptions {
  mode: QuantizeMode;
  /** Folder of images for int8 activation ranges (faces for a recognizer, any photos for a detector). */
  calibrate?: string;
  /** Detector used to align calibration faces for a recognizer. */
  detector?: string;
  method?: 'minmax' | 'percentile';
  /** Upper quantile kept by the percentile method (the lower one mirrors it). Default 0.9999. */
  percentile?: number;
  /** Most calibration images used. Default 200. */
  maxImages?: number;
  /**
   * Recognizer activations left in float32: 'auto' (default) measures, on calibration faces, what quantizing each
   * activation alone costs in embedding cosine and keeps float the few costliest that carry half of the total;
   * a number keeps that many of the costliest; 0 skips the measurement (it builds and runs one model per activation).
   */
  keepFloat?: number | 'auto';
  /**
   * Static int8 weights in 7 bits (default: the same integers on every x86 CPU) or 8 (a little closer on CPUs with
   * VNNI; on AVX2 without it onnxruntime's kernel saturates and accuracy drops: docs/models.md).
   */
  weightBits?: 7 | 8;
}

export interface QuantizeResult {
  bytesIn: number;
  bytesOut: number;
  calibrationImages?: number;
  /** Activations left float by the sensitivity measurement, with their cost (1 − mean cosine, quantized alone). */
  keptFloat?: { name: string; loss: number }[];
}

type ModelInput = { name: string; data: Float32Array; dims: number[] };

/**
 * Model inputs for calibration — aligned crops for a recognizer, letterboxed photos for a detector — tagged with
 * the kind of model they are for.
 */
async function calibrationBlobs(modelPath: string, bytes: Uint8Array, opts: QuantizeOptions): Promise<ModelInput[] & { kind: 'recognizer' | 'detector' }> {
  if (!opts.calibrate) throw new FaceprintError('INVALID_INPUT', 'int8 static quantization needs --calibrate DIR (images to measure activation ranges on)');
  const files = (await listImages(opts.calibrate)).slice(0, opts.maxImages ?? 200);
  const session = await createOrtNodeSession(bytes, modelPath);
  const kind = routeModel(modelPath, session.inputs, session.outputs);
  const inputName = session.inputs[0].name;
  await session.close();
  const blobs: ModelInput[] = [];
  if (kind === 'recognizer') {
    if (!opts.detector) throw new FaceprintError('INVALID_INPUT', 'calibrating a recognizer needs --detector FILE to align the faces');
    // calibration crops from one 640 pass, as the published INT8 figures (docs/models.md) were calibrated
    const fa = await FaceAnalyzer.create({ detector: opts.detector, detSize: 640 });
    const size = Number(session.inputs[0].shape[2]);
    const norm = recognizerNormalisation(onnxFirstNodeNames(bytes, modelPath));
    const shaper = new ArcFaceRecognizer({ ...session, source: modelPath }, norm);
    try {
      for (const f of files) {
        const img = await decodeImage(f).catch(() => null);
        if (!img) continue;
        let dets = await fa.core.detect(img, { maxFaces: 1 });
        let src = img;
        if (!dets.length) {
          src = padImage(img, Math.round(Math.max(img.width, img.height) / 2));
          dets = await fa.core.detect(src, { maxFaces: 1 });
        }
        if (!dets[0]?.kps) continue;
        blobs.push({ name: inputName, data: shaper.blob([normCrop(src, dets[0].kps, size).crop]), dims: [1, 3, size, size] });
      }
    } finally {
      await fa.close();
    }
  } else if (kind === 'detector') {
    const lut = normalisationLut(127.5, 128);
    const shape = session.inputs[0].shape;
    const [h, w] = [typeof shape[2] === 'number' ? shape[2] : 640, typeof shape[3] === 'number' ? shape[3] : 640];
    for (const f of files) {
      const img = await decodeImage(f).catch(() => null);
      if (img) blobs.push({ name: inputName, data: letterboxBlob(letterbox(img, w, h), lut), dims: [1, 3, h, w] });
    }
  } else {
    throw new FaceprintError('MODEL_UNRECOGNISED', `${modelPath}: int8 calibration supports detectors and recognizers, not ${kind}`);
  }
  if (!blobs.length) throw new FaceprintError('INVALID_INPUT', `${opts.calibrate}: no usable calibration image`);
  return Object.assign(blobs, { kind: kind as 'recognizer' | 'detector' });
}

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (/\.(jpe?g|png|webp|bmp|tiff?|gif)$/i.test(e.name)) out.push(join(d, e.name));
    }
  };
  await walk(dir).catch(() => { throw new FaceprintError('INVALID_INPUT', `${dir}: not a readable directory`); });
  return out;
}

/** Min/max (or the 0.01 % / 99.99 % quantiles of a sample) of every activation a Conv/Gemm reads or writes. */
async function calibrate(bytes: Uint8Array, blobs: ModelInput[], method: 'minmax' | 'percentile', percentile = 0.9999): Promise<Map<string, ActivationRange>> {
  const { model, tensors } = calibrationTensors(bytes);
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'basic' });
  const ranges = new Map<string, ActivationRange>();
  const samples = new Map<string, number[]>();
  for (const b of blobs) {
    const out = await session.run({ [b.name]: new ort.Tensor('float32', b.data, b.dims) }, tensors);
    for (const t of tensors) {
      const data = out[t].data as Float32Array;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < data.length; i++) { const v = data[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
      const r = ranges.get(t);
      ranges.set(t, { min: Math.min(lo, r?.min ?? Infinity), max: Math.max(hi, r?.max ?? -Infinity) });
      if (method === 'percentile') {
        const s = samples.get(t) ?? [];
        const step = Math.max(1, Math.floor(data.length / 4096));
        for (let i = 0; i < data.length; i += step) s.push(data[i]);
        samples.set(t, s);
      }
    }
  }
  await session.release();
  if (method === 'percentile') {
    for (const [t, s] of samples) {
      s.sort((a, b) => a - b);
      const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))];
      ranges.set(t, { min: q(1 - percentile), max: q(percentile) });
    }
  }
  return ranges;
}

/** Mean embedding cosine of a model to reference outputs, one face at a time (batch sizes may be fixed). */
async function embeddingAgreement(model: Uint8Array, faces: ModelInput[], reference: Float32Array[] | null): Promise<{ cosine: number; outputs: Float32Array[] }> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2 });
  try {
    const outputs: Float32Array[] = [];
    for (const f of faces) outputs.push((await session.run({ [f.name]: new ort.Tensor('float32', f.data, f.dims) }))[session.outputNames[0]].data as Float32Array);
    if (!reference) return { cosine: 1, outputs };
    return { cosine: outputs.reduce((sum, o, i) => sum + cosine(o, reference[i]), 0) / outputs.length, outputs };
  } finally {
    await session.release();
  }
}

/**
 * Which activations to leave float in a recognizer: each is quantized alone (all weights int8) and its cost is
 * the embedding cosine lost beyond what int8 weights alone lose. A few layers usually cost far more than the rest
 * (MobileFaceNet: the last 1×1 conv's output alone took the golden-crop cosine from 0.999 to 0.980).
 */
async function sensitiveActivations(bytes: Uint8Array, ranges: Map<string, ActivationRange>, faces: ModelInput[], keep: number | 'auto', source: string, weightBits: 7 | 8): Promise<{ name: string; loss: number }[]> {
  const sample = faces.slice(0, 16);
  const reference = (await embeddingAgreement(bytes, sample, null)).outputs;
  // Folded and rewritten once, not once per activation (quantizing a prepared graph prepares nothing again).
  const prepared = int8ReadyGraph(bytes, source);
  const weightsOnly = 1 - (await embeddingAgreement(quantizeStaticInt8(prepared, new Map(), source, weightBits), sample, reference)).cosine;
  const costs: { name: string; loss: number }[] = [];
  for (const [name, range] of ranges) {
    const alone = await embeddingAgreement(quantizeStaticInt8(prepared, new Map([[name, range]]), source, weightBits), sample, reference);
    costs.push({ name, loss: Math.max(0, 1 - alone.cosine - weightsOnly) });
  }
  costs.sort((a, b) => b.loss - a.loss);
  if (keep !== 'auto') return costs.slice(0, keep);
  // The few costliest that together carry half of the total cost, at most four: a model whose cost is spread
  // evenly keeps little float (each kept layer breaks the int8 path and costs speed).
  const total = costs.reduce((a, c) => a + c.loss, 0);
  const kept: { name: string; loss: number }[] = [];
  let carried = 0;
  for (const c of costs) {
    if (carried >= total / 2 || kept.length === 4 || c.loss <= 1e-4) break;
    kept.push(c);
    carried += c.loss;
  }
  return kept;
}

export async function quantizeModelFile(input: string, output: string, opts: QuantizeOptions): Promise<QuantizeResult> {
  const bytes = await readFile(input).catch((e) => {
    throw new FaceprintError('MODEL_NOT_FOUND', `${input}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such model file' : (e as Error).message}`);
  });
  let result: Uint8Array;
  let calibrationImages: number | undefined;
  let keptFloat: { name: string; loss: number }[] | undefined;
  if (opts.mode === 'fp16') result = quantizeFp16(bytes, input);
  else if (opts.mode === 'int8-weights') result = quantizeWeightsInt8(bytes, input);
  else if (opts.mode === 'int8') {
    const blobs = await calibrationBlobs(input, bytes, opts);
    calibrationImages = blobs.length;
    const ranges = await calibrate(bytes, blobs, opts.method ?? 'percentile', opts.percentile);
    const keep = opts.keepFloat ?? 'auto';
    if (blobs.kind === 'recognizer' && keep !== 0) {
      keptFloat = await sensitiveActivations(bytes, ranges, blobs, keep, input, opts.weightBits ?? 7);
      for (const k of keptFloat) ranges.delete(k.name);
    }
    result = quantizeStaticInt8(bytes, ranges, input, opts.weightBits ?? 7);
  } else throw new FaceprintError('INVALID_INPUT', `unknown mode ${opts.mode as string}: fp16, int8 or int8-weights`);
  // The result must load before it is written.
  const check = await createOrtNodeSession(result, output);
  await check.close();
  await writeFile(`${output}.tmp`, result);
  await rename(`${output}.tmp`, output);
  return { bytesIn: bytes.length, bytesOut: result.length, calibrationImages, keptFloat };
}
