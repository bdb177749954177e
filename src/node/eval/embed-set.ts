import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normCrop } from '../../core/alignment/norm-crop.js';
import { FaceprintError } from '../../core/errors.js';
import type { Pose } from '../../core/heads/head.js';
import { PIPELINE_VERSION } from '../../core/version.js';
import type { FaceAnalyzer } from '../index.js';

/** One image of an evaluation set: its primary face's embedding, or how it was obtained without one. */
export interface EmbeddedImage {
  path: string;
  /** L2-normalised; null when the image could not be read. */
  embedding: Float32Array | null;
  /** 'detected': InsightFace's primary face; 'fallback': no face, aligned with the mean landmarks; 'error'. */
  source: 'detected' | 'fallback' | 'error';
  kps: [number, number][] | null;
  /** The face's pose when the analyzer has the 3-D landmark head. */
  pose?: Pose | null;
  error?: { code: string; message: string };
}

export interface EmbedSetOptions {
  /** Directory for the embedding cache; null disables it. */
  cacheDir?: string | null;
  /** Align images without a detection using the mean landmarks of the detected ones (InsightFace's LFW eval). */
  fallbackToMeanLandmarks?: boolean;
  /**
   * Retry an image without a detection on a black border of half its size: SCRFD misses faces that fill the
   * whole frame (tight 150×150 crops), and finds them once they have context around them.
   */
  padRetry?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Images decoded and analysed together (their crops embedded in one batch). Default 16. */
  chunk?: number;
}

interface CacheRecord { kps: number[] | null; e: string | null; pose?: Pose | null }

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function fileHash(path: string): Promise<string> {
  return sha256(await readFile(path));
}

/** Cache identity: the pipeline's version, every model file's bytes and every setting that changes the result. */
async function embeddingCacheKey(fa: FaceAnalyzer, extra: Record<string, unknown> = {}): Promise<string> {
  const parts = [
    await fileHash(fa.detectorPath),
    fa.recognizerPath ? await fileHash(fa.recognizerPath) : 'none',
    ...(await Promise.all(fa.core.heads.map(async (h) => `${h.name}:${await fileHash(h.session.source)}`))),
    JSON.stringify({ det: [fa.core.detector.inputWidth, fa.core.detector.inputHeight], opts: fa.core.defaults, extra, pipeline: PIPELINE_VERSION }),
  ];
  return sha256(new TextEncoder().encode(parts.join('|'))).slice(0, 24);
}

/**
 * Embeds the primary face (largest and most central) of every image, as InsightFace's `get(img, max_num=1)`.
 * Results are cached on disk by image content hash under a key of the models and settings, so a re-run only
 * hashes the files.
 */
export async function embedImageSet(fa: FaceAnalyzer, paths: string[], options: EmbedSetOptions = {}): Promise<EmbeddedImage[]> {
  if (!fa.core.recognizer) throw new FaceprintError('MODEL_MISSING', 'evaluation needs a recognizer model');
  const chunk = options.chunk ?? 16;
  const key = options.cacheDir ? await embeddingCacheKey(fa, { padRetry: !!options.padRetry }) : null;
  const cacheFile = options.cacheDir && key ? join(options.cacheDir, `embeddings-${key}.json`) : null;
  const cache: Record<string, CacheRecord> = cacheFile ? await readFile(cacheFile, 'utf8').then((t) => JSON.parse(t), () => ({})) : {};
  let dirty = 0;
  const flush = async (): Promise<void> => {
    if (!cacheFile || !dirty) return;
    await mkdir(options.cacheDir!, { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(cache));
    await rename(tmp, cacheFile); // atomic: a reader never sees half a cache
    dirty = 0;
  };
  const results: EmbeddedImage[] = new Array(paths.length);
  let done = 0;
  for (let start = 0; start < paths.length; start += chunk) {
    const slice = paths.slice(start, start + chunk);
    const bytes = await Promise.all(slice.map((p) => readFile(p).catch((e: NodeJS.ErrnoException) => e)));
    const todo: { index: number; data: Uint8Array; hash: string }[] = [];
    slice.forEach((path, k) => {
      const b = bytes[k];
      const index = start + k;
      if (!(b instanceof Uint8Array)) {
        results[index] = { path, embedding: null, source: 'error', kps: null, error: { code: 'IMAGE_NOT_FOUND', message: `${path}: ${b.code ?? b.message}` } };
        return;
      }
      const hash = sha256(b);
      const hit = cache[hash];
      if (hit) results[index] = fromRecord(path, hit);
      else todo.push({ index, data: b, hash });
    });
    if (todo.length) {
      const decoded = await Promise.all(todo.map((t) => fa.decode(t.data).catch((e) => e as Error)));
      const ok = todo.filter((_, k) => !(decoded[k] instanceof Error));
      todo.forEach((t, k) => {
        const d = decoded[k];
        if (d instanceof Error) {
          const err = d instanceof FaceprintError ? d.toJSON() : { code: 'IMAGE_CORRUPT', message: d.message };
          results[t.index] = { path: paths[t.index], embedding: null, source: 'error', kps: null, error: err };
        }
      });
      const images = decoded.filter((d) => !(d instanceof Error)) as Awaited<ReturnType<FaceAnalyzer['decode']>>[];
      const faces = await fa.core.analyzeMany(images, { maxFaces: 1, padRetry: options.padRetry });
      ok.forEach((t, k) => {
        const face = faces[k][0];
        const record: CacheRecord = face?.embedding
          ? { kps: face.kps.flat(), e: Buffer.from(face.embedding.buffer, face.embedding.byteOffset, face.embedding.byteLength).toString('base64'), pose: face.pose ?? null }
          : { kps: null, e: null };
        cache[t.hash] = record;
        dirty++;
        results[t.index] = fromRecord(paths[t.index], record);
      });
    }
    done += slice.length;
    options.onProgress?.(done, paths.length);
    // Long runs keep what they computed if interrupted.
    if (dirty >= 1000) await flush();
  }
  await flush();
  if (options.fallbackToMeanLandmarks) await fillWithMeanLandmarks(fa, results);
  return results;
}

function fromRecord(path: string, r: CacheRecord): EmbeddedImage {
  if (!r.e) return { path, embedding: null, source: 'fallback', kps: null };
  const buf = Buffer.from(r.e, 'base64');
  // the cache keeps the points flat, as the first caches did
  const kps = r.kps ? Array.from({ length: r.kps.length / 2 }, (_, p): [number, number] => [r.kps![2 * p], r.kps![2 * p + 1]]) : null;
  return { path, embedding: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)), source: 'detected', kps, pose: r.pose ?? null };
}

/** InsightFace's LFW evaluation aligns a face-less image with the mean landmarks of the detected images. */
async function fillWithMeanLandmarks(fa: FaceAnalyzer, results: EmbeddedImage[]): Promise<void> {
  const detected = results.filter((r) => r.source === 'detected' && r.kps);
  const misses = results.filter((r) => r.source === 'fallback');
  if (!misses.length || !detected.length) return;
  const mean = Array.from({ length: 5 }, (): [number, number] => [0, 0]);
  for (const r of detected) r.kps!.forEach(([x, y], p) => { mean[p][0] += x; mean[p][1] += y; });
  for (const point of mean) { point[0] /= detected.length; point[1] /= detected.length; }
  const recognizer = fa.core.recognizer!;
  for (const r of misses) {
    const img = await fa.decode(r.path);
    const { crop } = normCrop(img, mean, recognizer.inputSize);
    r.embedding = (await recognizer.embed([crop]))[0].embedding;
    r.kps = mean;
  }
}
