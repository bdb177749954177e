import { FaceprintError } from '../errors.js';
import type { RgbImage } from '../image.js';
import { normalisationLut } from '../detection/letterbox.js';
import type { ModelSession } from '../runtime.js';

export interface Embedding {
  /** L2-normalised, what cosine similarity is computed on. */
  embedding: Float32Array;
  /** The model's output as is. */
  rawEmbedding: Float32Array;
  /** ‖rawEmbedding‖₂ (a rough quality signal: blurry or non-face crops give small norms). */
  embeddingNorm: number;
}

export interface RecognizerNormalisation {
  mean: number;
  std: number;
}

/**
 * InsightFace's rule (ArcFaceONNX): a graph whose first 8 nodes include one named Sub…/_minus… and one named
 * Mul…/_mul… normalises inside the model, so feed 0–255 (mean 0, std 1); otherwise feed (x − 127.5) / 127.5.
 * It looks at node names, not op types, exactly as InsightFace does.
 */
export function recognizerNormalisation(firstNodeNames: readonly string[]): RecognizerNormalisation {
  let sub = false;
  let mul = false;
  for (const name of firstNodeNames.slice(0, 8)) {
    if (name.startsWith('Sub') || name.startsWith('_minus')) sub = true;
    if (name.startsWith('Mul') || name.startsWith('_mul')) mul = true;
  }
  return sub && mul ? { mean: 0, std: 1 } : { mean: 127.5, std: 127.5 };
}

/** An ArcFace-style recognizer: an aligned square RGB crop in, one embedding out. */
export class ArcFaceRecognizer {
  readonly session: ModelSession;
  readonly inputSize: number;
  readonly normalisation: RecognizerNormalisation;
  /** Fixed batch size of the model, or 0 when the batch dimension is dynamic. */
  readonly fixedBatch: number;
  /** Largest batch sent in one run when the batch is dynamic. */
  readonly maxBatch: number;
  private readonly lut: Float32Array;
  private dim: number;

  constructor(session: ModelSession, normalisation: RecognizerNormalisation, options: { maxBatch?: number } = {}) {
    const shape = session.inputs[0]?.shape ?? [];
    const [b, c, h, w] = shape;
    if (shape.length !== 4 || c !== 3 || typeof h !== 'number' || h !== w || h < 112 || h % 16 !== 0) {
      throw new FaceprintError('MODEL_UNRECOGNISED', `${session.source}: a recognizer takes [N,3,S,S] with S ≥ 112 and S % 16 = 0; got [${shape.join(',')}]`);
    }
    this.session = session;
    this.inputSize = h;
    this.normalisation = normalisation;
    this.fixedBatch = typeof b === 'number' && b > 0 ? b : 0;
    this.maxBatch = Math.max(1, options.maxBatch ?? 32);
    this.lut = normalisationLut(normalisation.mean, normalisation.std);
    const outDim = session.outputs[0]?.shape?.[1];
    this.dim = typeof outDim === 'number' && outDim > 0 ? outDim : 0;
  }

  /** Embedding size, read from the model (0 until known when the model leaves it symbolic). */
  get embeddingSize(): number {
    return this.dim;
  }

  /** Float32 NCHW RGB blob of crops, normalised as the model expects. */
  blob(crops: readonly RgbImage[]): Float32Array {
    const s = this.inputSize;
    const plane = s * s;
    const out = new Float32Array(crops.length * 3 * plane);
    const lut = this.lut;
    crops.forEach((crop, n) => {
      if (crop.width !== s || crop.height !== s) {
        throw new FaceprintError('INVALID_INPUT', `recognizer needs ${s}×${s} crops, got ${crop.width}×${crop.height}`);
      }
      const base = n * 3 * plane;
      const d = crop.data;
      for (let i = 0, p = 0; i < plane; i++, p += 3) {
        out[base + i] = lut[d[p]];
        out[base + plane + i] = lut[d[p + 1]];
        out[base + 2 * plane + i] = lut[d[p + 2]];
      }
    });
    return out;
  }

  /** Raw model outputs for the crops, batched as the model allows. */
  async embedRaw(crops: readonly RgbImage[]): Promise<Float32Array[]> {
    const result: Float32Array[] = [];
    const step = this.fixedBatch || this.maxBatch;
    for (let start = 0; start < crops.length; start += step) {
      const chunk = crops.slice(start, start + step);
      let batch = chunk;
      // A fixed-batch model needs exactly its batch: pad with copies of the first crop, discard their outputs.
      if (this.fixedBatch && chunk.length < this.fixedBatch) {
        batch = [...chunk, ...Array.from({ length: this.fixedBatch - chunk.length }, () => chunk[0])];
      }
      const [out] = await this.session.run({
        [this.session.inputs[0].name]: { data: this.blob(batch), dims: [batch.length, 3, this.inputSize, this.inputSize] },
      });
      const dim = out.data.length / batch.length;
      if (!Number.isInteger(dim) || dim < 1) {
        throw new FaceprintError('INFERENCE_FAILED', `${this.session.source}: output of ${out.data.length} values for a batch of ${batch.length}`);
      }
      this.dim = dim;
      for (let i = 0; i < chunk.length; i++) result.push(out.data.slice(i * dim, (i + 1) * dim));
    }
    return result;
  }

  async embed(crops: readonly RgbImage[]): Promise<Embedding[]> {
    return (await this.embedRaw(crops)).map(normaliseEmbedding);
  }
}

export function normaliseEmbedding(raw: Float32Array): Embedding {
  let ss = 0;
  for (let i = 0; i < raw.length; i++) ss += raw[i] * raw[i];
  const norm = Math.sqrt(ss);
  const embedding = new Float32Array(raw.length);
  if (norm > 0) for (let i = 0; i < raw.length; i++) embedding[i] = raw[i] / norm;
  return { embedding, rawEmbedding: raw, embeddingNorm: Math.fround(norm) };
}
