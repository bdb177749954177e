import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { evaluateIdentification, type IdentificationResult } from '../../core/eval/identification.js';
import { rocSvg } from '../../core/eval/roc-plot.js';
import {
  areaUnderCurve, bestGlobalThreshold, equalErrorRate, kFoldAccuracy, rocCurve, tarAtFar,
  type FoldResult, type TarAtFar,
} from '../../core/eval/verification.js';
import type { Calibration } from '../../core/gallery/types.js';
import { FaceprintError } from '../../core/errors.js';
import { dot } from '../../core/matching/cosine.js';
import type { FaceAnalyzer } from '../index.js';
import { modelSha256 } from '../gallery/index.js';
import type { LabelledPair } from './datasets.js';
import { embedImageSet, type EmbedSetOptions } from './embed-set.js';

/** `faceprint eval lfw|pairs --json`: a stable shape (README, "Evaluation output"). */
export interface VerificationReport {
  kind: 'verification';
  pairs: number;
  evaluatedPairs: number;
  images: number;
  folds: FoldResult[];
  accuracy: { mean: number; std: number };
  auc: number;
  eer: number;
  tarAtFar: TarAtFar[];
  bestThreshold: { cosine: number; accuracy: number };
  /** Images without a detection (aligned with the mean landmarks when that fallback is on). */
  misses: string[];
  errors: { path: string; code: string; message: string }[];
  models: { detector: string; recognizer: string | null };
  /** The detector sizes the faces were found with ([128, 640]: InsightFace 1.0's Auto; [640]: 0.7.3's). */
  detSizes: number[];
  /** Thresholds for a gallery (`faceprint calibrate --report`): FAR → cosine on this set's impostor pairs. */
  calibration: Omit<Calibration, 'recognizerSha256'> & { recognizerSha256: string | null };
  seconds: number;
}

/** FARs a calibration records (those the impostor count supports). */
const CALIBRATION_FARS = [0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001];

export async function evaluatePairs(fa: FaceAnalyzer, pairs: LabelledPair[], options: EmbedSetOptions & { folds?: number; label?: string }): Promise<{ report: VerificationReport; scores: number[]; same: boolean[] }> {
  const t0 = performance.now();
  const paths = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const embedded = await embedImageSet(fa, paths, options);
  const byPath = new Map(embedded.map((e) => [e.path, e]));
  const scores: number[] = [];
  const same: boolean[] = [];
  for (const p of pairs) {
    const a = byPath.get(p.a)?.embedding;
    const b = byPath.get(p.b)?.embedding;
    if (!a || !b) continue; // unreadable image: the pair cannot be scored
    scores.push(dot(a, b));
    same.push(p.same);
  }
  const kfold = kFoldAccuracy(scores, same, options.folds ?? 10);
  const roc = rocCurve(scores, same);
  const impostors = same.filter((x) => !x).length;
  const report: VerificationReport = {
    kind: 'verification',
    pairs: pairs.length,
    evaluatedPairs: scores.length,
    images: paths.length,
    folds: kfold.folds,
    accuracy: { mean: kfold.mean, std: kfold.std },
    auc: areaUnderCurve(roc),
    eer: equalErrorRate(roc).eer,
    tarAtFar: tarAtFar(roc, [1e-1, 1e-2, 1e-3, 1e-4], impostors),
    bestThreshold: (({ threshold, accuracy }) => ({ cosine: threshold, accuracy }))(bestGlobalThreshold(scores, same)),
    misses: embedded.filter((e) => e.source === 'fallback').map((e) => e.path),
    errors: embedded.filter((e) => e.source === 'error').map((e) => ({ path: e.path, code: e.error!.code, message: e.error!.message })),
    models: { detector: fa.detectorPath, recognizer: fa.recognizerPath },
    detSizes: fa.core.detSizesFor(),
    calibration: await pairCalibration(fa, scores, same, options.label ?? 'pairs', roc),
    seconds: (performance.now() - t0) / 1000,
  };
  return { report, scores, same };
}

/** A gallery calibration from scored pairs: the best-accuracy cosine, and FAR → cosine on the impostor pairs. */
async function pairCalibration(fa: FaceAnalyzer, scores: number[], same: boolean[], source: string, roc = rocCurve(scores, same)): Promise<VerificationReport['calibration']> {
  const impostors = same.filter((x) => !x).length;
  return {
    source,
    recognizerSha256: fa.recognizerPath ? await modelSha256(fa.recognizerPath) : null,
    bestThreshold: bestGlobalThreshold(scores, same).threshold,
    points: tarAtFar(roc, CALIBRATION_FARS, impostors)
      .filter((t) => t.supported && t.threshold !== null)
      .map((t) => ({ far: t.far, threshold: t.threshold! })),
  };
}

/** Every pair of the embeddings (at most `cap` images, evenly spread): scores and whether the labels agree. */
function allPairs(embeddings: Float32Array[], labels: string[], cap = 3000): { scores: number[]; same: boolean[] } {
  const step = Math.max(1, embeddings.length / cap);
  const picked: number[] = [];
  for (let x = 0; x < embeddings.length; x += step) picked.push(Math.floor(x));
  const scores: number[] = [];
  const same: boolean[] = [];
  for (let i = 0; i < picked.length; i++) {
    const a = embeddings[picked[i]];
    for (let j = i + 1; j < picked.length; j++) {
      const b = embeddings[picked[j]];
      let s = 0;
      for (let d = 0; d < a.length; d++) s += a[d] * b[d];
      scores.push(s);
      same.push(labels[picked[i]] === labels[picked[j]]);
    }
  }
  return { scores, same };
}

/** Writes the ROC plot as both SVG and PNG next to `path` (its extension replaced). */
export async function writeRocPlot(path: string, curves: { label: string; scores: number[]; same: boolean[] }[], title: string): Promise<string[]> {
  const svg = rocSvg(curves.map((c) => ({ label: c.label, roc: rocCurve(c.scores, c.same) })), title);
  const base = path.replace(/\.(svg|png)$/i, '');
  await mkdir(dirname(base + '.svg'), { recursive: true });
  await writeFile(base + '.svg', svg);
  await sharp(Buffer.from(svg)).png().toFile(base + '.png');
  return [base + '.svg', base + '.png'];
}

export interface IdentificationReport extends IdentificationResult {
  kind: 'identification';
  images: number;
  subjects: number;
  /** Images without a detected face, left out of the search. */
  misses: string[];
  errors: { path: string; code: string; message: string }[];
  seconds: number;
  /**
   * With a pose gate: images whose face is turned past it are kept out of the galleries (as enrolment refuses
   * them) but still searched as probes; rank-1/rank-5 above are with the gate, these without it.
   */
  poseGate?: { maxYaw: number | null; maxPitch: number | null; refused: number; ungated: { rank1: number; rank5: number; matedProbes: number } };
  /** Thresholds for a gallery (`faceprint calibrate --report`), from every pair of the set's images. */
  calibration: VerificationReport['calibration'];
}

export async function evaluateIdentity(fa: FaceAnalyzer, items: { path: string; label: string }[], options: EmbedSetOptions & { maxYaw?: number; maxPitch?: number }): Promise<IdentificationReport> {
  const t0 = performance.now();
  const gated = options.maxYaw !== undefined || options.maxPitch !== undefined;
  if (gated && !fa.core.heads.some((h) => h.name === 'landmark3d68')) {
    throw new FaceprintError('MODEL_MISSING', 'a pose limit (--max-yaw, --max-pitch) needs the 3-D landmark head (1k3d68, head landmark3d68)');
  }
  const embedded = await embedImageSet(fa, items.map((i) => i.path), { padRetry: true, ...options, fallbackToMeanLandmarks: false });
  const usable = embedded.map((e, i) => ({ e, label: items[i].label })).filter((x) => x.e.embedding);
  const embeddings = usable.map((x) => x.e.embedding!);
  const labels = usable.map((x) => x.label);
  const within = usable.map(({ e }) => !e.pose || (Math.abs(e.pose.yaw) <= (options.maxYaw ?? 180) && Math.abs(e.pose.pitch) <= (options.maxPitch ?? 180)));
  const result = evaluateIdentification(embeddings, labels, undefined, gated ? within : undefined);
  let poseGate: IdentificationReport['poseGate'];
  if (gated) {
    const ungated = evaluateIdentification(embeddings, labels);
    poseGate = { maxYaw: options.maxYaw ?? null, maxPitch: options.maxPitch ?? null, refused: within.filter((w) => !w).length, ungated: { rank1: ungated.rank1, rank5: ungated.rank5, matedProbes: ungated.matedProbes } };
  }
  const pairs = allPairs(embeddings, labels);
  const calibration = await pairCalibration(fa, pairs.scores, pairs.same, `identities in ${items.length} images`);
  return {
    kind: 'identification',
    calibration,
    images: items.length,
    subjects: new Set(usable.map((x) => x.label)).size,
    misses: embedded.filter((e) => e.source === 'fallback').map((e) => e.path),
    errors: embedded.filter((e) => e.source === 'error').map((e) => ({ path: e.path, code: e.error!.code, message: e.error!.message })),
    ...result,
    seconds: (performance.now() - t0) / 1000,
    ...(poseGate ? { poseGate } : {}),
  };
}
