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
