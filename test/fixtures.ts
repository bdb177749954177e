import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared beside the checkout: read in place, never copied into the project. */
export const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures');
export const MODELS = join(SHARED, 'models');
export const DET_500M = join(MODELS, 'det_500m.onnx');
export const MOBILEFACENET = join(MODELS, 'mobilefacenet.onnx');
export const YUNET = join(MODELS, 'yunet_2023mar.onnx');
export const GOLDEN_DIR = join(SHARED, 'golden/dev');
/** Embedding cache shared by the test files of one run (LFW images embedded once for accuracy and gallery). */
export const TEST_EMBED_CACHE = join(tmpdir(), `faceprint-test-embeddings-${process.env.FACEPRINT_TEST_RUN ?? 'local'}`);

export interface GoldenFace {
  bbox: number[];
  kps: number[][];
  det_score: number;
  align_M: number[][];
  crop: { png: string; sha256_rgb: string };
  embedding: number[];
  embedding_norm: number;
  normed_embedding: number[];
}
export interface GoldenImage {
  id: string;
  category: string;
  path: string;
  decoded: { h: number; w: number; sha256_rgb: string; png: string };
  det_input: { det_scale: number; resized_wh: [number, number]; sha256_bgr: string; png: string };
  raw_det?: string;
  num_faces: number;
  primary_face: number | null;
  faces: GoldenFace[];
}

export const golden: { images: GoldenImage[]; pairs: unknown[] } = JSON.parse(readFileSync(join(GOLDEN_DIR, 'golden.json'), 'utf8'));
export const imagePath = (g: GoldenImage): string => join(SHARED, g.path);
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** Pairs each golden face with the produced face of highest IoU (≥ 0.5), or null. */
export function matchByIou<T extends { bbox: readonly number[] }>(goldenFaces: GoldenFace[], faces: T[]): (T | null)[] {
  return goldenFaces.map((g) => {
    let best: T | null = null;
    let bestIou = 0.5;
    for (const f of faces) {
      const v = iou(g.bbox, f.bbox);
      if (v >= bestIou) { best = f; bestIou = v; }
    }
    return best;
  });
}

/**
 * Whether onnxruntime here computes as it did on the machine that made the goldens: det_500m's nine raw outputs for
 * dev_00 equal the saved ones bit for bit. onnxruntime picks its convolution kernels by CPU (AVX-512, AVX2, …) and
 * they round differently (on an AVX2-only CPU, 78% of those outputs differ, by at most 1.9e-6). Where they are the
 * reference's, the parity tests hold the goldens bit for bit; elsewhere they hold the bounds docs/parity.md gives
 * for other kernels, and the stages that do not run a model stay bit-exact on every CPU.
 */
export function onReferenceKernels(): Promise<boolean> {
  referenceKernels ??= (async () => {
    const { FaceAnalyzer, decodeImage } = await import('../src/node/index.js');
    const manifest: Record<string, { file: string }[]> = JSON.parse(readFileSync(join(GOLDEN_DIR, 'raw_det/manifest.json'), 'utf8'));
    const g = golden.images.find((x) => x.id === 'dev_00')!;
    const fa = await FaceAnalyzer.create({ detector: DET_500M, detSize: 640 });
    try {
      const img = await decodeImage(imagePath(g));
      const raw = await fa.core.detectorsFor(img)[0].forward(img);
      let differ = 0;
      let total = 0;
      let worst = 0;
      manifest.dev_00.forEach((o, k) => {
        const b = readFileSync(join(GOLDEN_DIR, 'raw_det', o.file));
        const ref = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
        const mine = raw.outputs[k].data;
        total += ref.length;
        if (mine.length !== ref.length) differ += ref.length;
        else for (let i = 0; i < ref.length; i++) if (!Object.is(ref[i], mine[i])) { differ++; worst = Math.max(worst, Math.abs(ref[i] - mine[i])); }
      });
      if (differ) console.log(`# onnxruntime here: ${differ} of det_500m's ${total} raw outputs for dev_00 differ from the reference's, by at most ${worst}`);
      return differ === 0;
    } finally {
      await fa.close();
    }
  })();
  return referenceKernels;
}
let referenceKernels: Promise<boolean> | undefined;

/** The largest difference between two numbers or nested arrays of numbers (Infinity when their shapes differ). */
export function largestDifference(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return Math.max(0, ...a.map((v, i) => largestDifference(v, b[i])));
  return Infinity;
}

/**
 * A model's numbers against the reference's: bit for bit where onnxruntime's kernels are the reference machine's,
 * within `bound` (docs/parity.md's bounds for other kernels) elsewhere. Returns the largest difference.
 */
export async function assertParity(actual: unknown, expected: unknown, bound: number, label: string): Promise<number> {
  if (await onReferenceKernels()) {
    assert.deepEqual(actual, expected, label);
    return 0;
  }
  const off = largestDifference(actual, expected);
  assert.ok(off <= bound, `${label}: off by ${off} (bound ${bound} on other onnxruntime kernels)`);
  return off;
}
