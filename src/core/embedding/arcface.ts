import { FaceprintError } from '../errors.js';
import type { RgbImage } from '../image.js';
import { normalisationLut } from '../detection/letterbox.js';
import type { ModelSession } from '../runtime.js';
import { fixedBatchOf, nchwBlob, runInBatches } from '../models/batched-run.js';

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
 * Whether a graph normalises its input itself, by InsightFace's node-name test: among the first 8 nodes one named
 * Sub…/_minus… and one named Mul…/_mul… (node names, not op types, exactly as InsightFace looks), or — for the
 * Landmark/Attribute heads only — a node named `bn_data` among the first 3.
 */
export function normalisesInGraph(firstNodeNames: readonly string[], bnDataCounts = false): boolean {
  let sub = false;
  let mul = false;
  firstNodeNames.slice(0, 8).forEach((name, i) => {
    if (name.startsWith('Sub') || name.startsWith('_minus')) sub = true;
    if (name.startsWith('Mul') || name.startsWith('_mul')) mul = true;
    if (bnDataCounts && i < 3 && name === 'bn_data') sub = mul = true;
  });
  return sub && mul;
}

/** InsightFace's rule (ArcFaceONNX): 0–255 as is when the graph normalises itself, else (x − 127.5) / 127.5. */
export function recognizerNormalisation(firstNodeNames: readonly string[]): RecognizerNormalisation {
  return normalisesInGraph(firstNodeNames) ? { mean: 0, std: 1 } : { mean: 127.5, std: 127.5 };
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
    const [, c, h, w] = shape;
    if (shape.length !== 4 || c !== 3 || typeof h !== 'number' || h !== w || h < 112 || h % 16 !== 0) {
      throw new FaceprintError('MODEL_UNRECOGNISED', `${session.source}: a recognizer takes [N,3,S,S] with S ≥ 112 and S % 16 = 0; got [${shape.join(',')}]`);
    }
    this.session = session;
    this.inputSize = h;
    this.normalisation = normalisation;
    this.fixedBatch = fixedBatchOf(session);
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
    return nchwBlob(crops, this.inputSize, this.lut);
  }

  /** Raw model outputs for the crops, batched as the model allows. */
  async embedRaw(crops: readonly RgbImage[]): Promise<Float32Array[]> {
    const rows = await runInBatches(this.session, crops, this.inputSize, this.lut, { fixed: this.fixedBatch, max: this.maxBatch });
    if (rows.length) this.dim = rows[0].length;
    return rows;
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
