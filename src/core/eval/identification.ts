import { dot } from '../matching/cosine.js';

/**
 * 1:N identification metrics over a labelled set of embeddings (one per image), by leave-one-out search:
 * each image is the probe, every other image the gallery, a subject scoring by its best-matching image.
 */
export interface IdentificationResult {
  /** Probes whose subject has another image in the gallery. */
  matedProbes: number;
  rank1: number;
  rank5: number;
  /** Open-set: the threshold from non-mated searches (probe's subject removed) at each FAR, and the DIR. */
  openSet: { far: number; threshold: number | null; dir: number | null; supported: boolean }[];
  nonMatedSearches: number;
}

/**
 * `inGallery[j]` false keeps image j out of every gallery (it is still a probe): what an enrolment gate that
 * refuses it does to search.
 */
export function evaluateIdentification(embeddings: Float32Array[], labels: string[], fars: number[] = [1e-2, 1e-3], inGallery?: readonly boolean[]): IdentificationResult {
  const n = embeddings.length;
  const count = new Map<string, number>();
  labels.forEach((l, j) => {
    if (!inGallery || inGallery[j]) count.set(l, (count.get(l) ?? 0) + 1);
  });
  const sims = Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => (i === j ? -Infinity : dot(embeddings[i], embeddings[j]))));
  let mated = 0;
  let hit1 = 0;
  let hit5 = 0;
  const matedTop: { score: number; correct: boolean }[] = [];
  const nonMatedTop: number[] = [];
  for (let i = 0; i < n; i++) {
    const best = new Map<string, number>();
    for (let j = 0; j < n; j++) {
      if (j === i || (inGallery && !inGallery[j])) continue;
      const l = labels[j];
      if ((best.get(l) ?? -Infinity) < sims[i][j]) best.set(l, sims[i][j]);
    }
    const ranked = [...best.entries()].sort((a, b) => b[1] - a[1]);
    // Non-mated search: the probe's own subject left out of the gallery.
    const others = ranked.filter(([l]) => l !== labels[i]);
    if (others.length) nonMatedTop.push(others[0][1]);
    // mated when another image of the probe's subject is in the gallery
    if ((count.get(labels[i]) ?? 0) - (!inGallery || inGallery[i] ? 1 : 0) < 1) continue;
    mated++;
    const rank = ranked.findIndex(([l]) => l === labels[i]);
    if (rank === 0) hit1++;
    if (rank >= 0 && rank < 5) hit5++;
    matedTop.push({ score: ranked[0][1], correct: rank === 0 });
  }
  const sortedNon = [...nonMatedTop].sort((a, b) => b - a);
  const openSet = fars.map((far) => {
    const allowed = Math.floor(far * sortedNon.length);
    if (sortedNon.length * far < 1) return { far, threshold: null, dir: null, supported: false };
    // Accept above the (allowed+1)-th highest non-mated score: at most `allowed` false alarms.
    const threshold = sortedNon[allowed];
    const dir = matedTop.filter((m) => m.correct && m.score > threshold).length / Math.max(1, mated);
    return { far, threshold, dir, supported: true };
  });
  return { matedProbes: mated, rank1: mated ? hit1 / mated : 0, rank5: mated ? hit5 / mated : 0, openSet, nonMatedSearches: nonMatedTop.length };
}
