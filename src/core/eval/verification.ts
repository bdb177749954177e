/**
 * 1:1 verification metrics on labelled pairs. Scores are cosine similarities of L2-normalised embeddings;
 * InsightFace's LFW protocol thresholds the squared L2 distance d² = 2 − 2·cos instead, on the grid 0…4 step
 * 0.01, so the fold accuracy reproduces verification.py and every threshold is also reported as a cosine.
 */

export interface FoldResult {
  fold: number;
  accuracy: number;
  /** Chosen on the other folds: squared L2 distance and the same as a cosine. */
  thresholdL2: number;
  thresholdCosine: number;
}

export interface KFoldResult {
  folds: FoldResult[];
  mean: number;
  std: number;
}

const l2Grid = (): number[] => Array.from({ length: 400 }, (_, i) => i * 0.01);

function accuracyAt(dist: Float64Array, same: Uint8Array, idx: number[], threshold: number): number {
  let correct = 0;
  for (const i of idx) if ((dist[i] < threshold) === (same[i] === 1)) correct++;
  return idx.length ? correct / idx.length : 0;
}

/**
 * K-fold accuracy as InsightFace's verification.py (KFold without shuffling: consecutive blocks): for each fold,
 * the threshold with the best accuracy on the other folds (first best on ties), applied to the fold.
 */
export function kFoldAccuracy(cosines: ArrayLike<number>, same: ArrayLike<boolean | number>, nFolds = 10): KFoldResult {
  const n = cosines.length;
  const dist = Float64Array.from({ length: n }, (_, i) => 2 - 2 * cosines[i]);
  const labels = Uint8Array.from({ length: n }, (_, i) => (same[i] ? 1 : 0));
  const grid = l2Grid();
  // sklearn KFold: the first n % k folds get one extra element.
  const sizes = Array.from({ length: nFolds }, (_, k) => Math.floor(n / nFolds) + (k < n % nFolds ? 1 : 0));
  const folds: FoldResult[] = [];
  let start = 0;
  for (let k = 0; k < nFolds; k++) {
    const test: number[] = [];
    const train: number[] = [];
    for (let i = 0; i < n; i++) (i >= start && i < start + sizes[k] ? test : train).push(i);
    start += sizes[k];
    let best = -1;
    let bestT = 0;
    for (const t of grid) {
      const a = accuracyAt(dist, labels, train, t);
      if (a > best) { best = a; bestT = t; }
    }
    folds.push({ fold: k + 1, accuracy: accuracyAt(dist, labels, test, bestT), thresholdL2: round2(bestT), thresholdCosine: round4(1 - bestT / 2) });
  }
  const accs = folds.map((f) => f.accuracy);
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const std = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / accs.length);
  return { folds, mean, std };
}

export interface RocPoint { far: number; tar: number; threshold: number }

/** The ROC curve over all pairs: one point per distinct score, from the strictest threshold down. */
export function rocCurve(scores: ArrayLike<number>, same: ArrayLike<boolean | number>): RocPoint[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const pos = idx.filter((i) => same[i]).length;
  const neg = idx.length - pos;
  const points: RocPoint[] = [{ far: 0, tar: 0, threshold: Infinity }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    if (same[i]) tp++;
    else fp++;
    if (k + 1 < idx.length && scores[idx[k + 1]] === scores[i]) continue;
    points.push({ far: neg ? fp / neg : 0, tar: pos ? tp / pos : 0, threshold: scores[i] });
  }
  return points;
}

export function areaUnderCurve(roc: RocPoint[]): number {
  let area = 0;
  for (let i = 1; i < roc.length; i++) area += ((roc[i].far - roc[i - 1].far) * (roc[i].tar + roc[i - 1].tar)) / 2;
  return area;
}

/** Equal error rate: where the false accept rate meets the false reject rate (interpolated). */
export function equalErrorRate(roc: RocPoint[]): { eer: number; threshold: number } {
  for (let i = 1; i < roc.length; i++) {
    const d0 = roc[i - 1].far - (1 - roc[i - 1].tar);
    const d1 = roc[i].far - (1 - roc[i].tar);
    if (d0 <= 0 && d1 >= 0) {
      const t = d1 === d0 ? 0 : -d0 / (d1 - d0);
      return { eer: roc[i - 1].far + t * (roc[i].far - roc[i - 1].far), threshold: roc[i].threshold };
    }
  }
  return { eer: NaN, threshold: NaN };
}

export interface TarAtFar { far: number; tar: number | null; threshold: number | null; supported: boolean }

/**
 * TAR at a target FAR: the highest TAR whose FAR does not exceed the target. Reported as unsupported (null)
 * when there are fewer than 1/FAR impostor pairs, where the figure would be noise.
 */
export function tarAtFar(roc: RocPoint[], targets: number[], impostorCount: number): TarAtFar[] {
  return targets.map((far) => {
    if (impostorCount * far < 1) return { far, tar: null, threshold: null, supported: false };
    let best: RocPoint | null = null;
    for (const p of roc) if (p.far <= far + 1e-12 && (!best || p.tar > best.tar)) best = p;
    return { far, tar: best ? best.tar : 0, threshold: best && Number.isFinite(best.threshold) ? best.threshold : null, supported: true };
  });
}

/** The single cosine threshold with the best accuracy over all pairs (a deployable default). */
export function bestGlobalThreshold(scores: ArrayLike<number>, same: ArrayLike<boolean | number>): { threshold: number; accuracy: number } {
  const roc = rocCurve(scores, same);
  const pos = Array.from(same as ArrayLike<boolean | number>).filter(Boolean).length;
  const neg = scores.length - pos;
  let best = { threshold: 0, accuracy: 0 };
  for (let i = 1; i < roc.length; i++) {
    const acc = (roc[i].tar * pos + (1 - roc[i].far) * neg) / scores.length;
    if (acc > best.accuracy) {
      // Midway to the next lower score: the decision boundary, not a sample.
      const next = i + 1 < roc.length ? roc[i + 1].threshold : roc[i].threshold - 1e-3;
      best = { threshold: round4((roc[i].threshold + next) / 2), accuracy: acc };
    }
  }
  return best;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;
