import { FaceprintError } from '../errors.js';
import type { KnownRecognizer } from './known-models.js';
import type { Calibration } from './types.js';

/**
 * A subject's template: the mean of its normalised face embeddings, renormalised (null without faces).
 *   templateOf([Float32Array.of(1, 0), Float32Array.of(0, 2)]) → Float32Array [0.7071067690849304, 0.7071067690849304]
 */
export function templateOf(embeddings: readonly ArrayLike<number>[]): Float32Array | null {
  if (embeddings.length === 0) return null;
  const dim = embeddings[0].length;
  const sum = new Float64Array(dim);
  for (const e of embeddings) {
    let n = 0;
    for (let i = 0; i < dim; i++) n += e[i] * e[i];
    const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
    for (let i = 0; i < dim; i++) sum[i] += e[i] * inv;
  }
  let n = 0;
  for (let i = 0; i < dim; i++) n += sum[i] * sum[i];
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = sum[i] * inv;
  return out;
}

export interface ThresholdChoice {
  /** A raw cosine threshold; wins over `far`. */
  threshold?: number;
  /** A target false-accept rate, turned into a threshold by the gallery's calibration. */
  far?: number;
}

/** Where a decision's threshold came from: the caller, the collection's setting, its calibration, or the known-model table. */
export type ThresholdSource = 'given' | 'collection' | 'calibration' | 'known-model';

/** A decision threshold: the cosine, where it came from, and in words. */
export interface ResolvedThreshold {
  threshold: number;
  source: ThresholdSource;
  basis: string;
}

/**
 * The cosine threshold for a decision: a given one; else the gallery's calibration (at a FAR, or its best
 * accuracy); else the recognizer's known threshold; else NO_THRESHOLD with the one command that calibrates.
 */
export function resolveThreshold(choice: ThresholdChoice, calibration: Calibration | null, known: KnownRecognizer | null = null): ResolvedThreshold {
  if (choice.threshold !== undefined) {
    if (!Number.isFinite(choice.threshold) || choice.threshold < -1 || choice.threshold > 1) {
      throw new FaceprintError('INVALID_INPUT', `threshold must be a cosine in [-1, 1], got ${choice.threshold}`);
    }
    return { threshold: choice.threshold, source: 'given', basis: 'given' };
  }
  if (!calibration) {
    if (choice.far !== undefined) {
      throw new FaceprintError('NO_THRESHOLD', `a threshold at FAR ${choice.far} needs a calibration of this recognizer: \`faceprint eval identify --dir PEOPLE --json > report.json && faceprint calibrate --report report.json\``);
    }
    if (known) return { threshold: known.threshold, source: 'known-model', basis: `known model ${known.name}: ${known.source}` };
    throw new FaceprintError(
      'NO_THRESHOLD',
      'no threshold for this recognizer (not a known model, no calibration): pass a cosine threshold, or calibrate on a folder per person: ' +
        '`faceprint eval identify --dir PEOPLE --json > report.json && faceprint calibrate --report report.json`',
    );
  }
  if (choice.far === undefined) return { threshold: calibration.bestThreshold, source: 'calibration', basis: `best accuracy on ${calibration.source}` };
  const far = choice.far;
  const pts = [...calibration.points].sort((a, b) => b.far - a.far);
  if (!(far > 0 && far < 1)) throw new FaceprintError('INVALID_INPUT', `FAR must be in (0, 1), got ${far}`);
  if (pts.length === 0 || far < pts[pts.length - 1].far || far > pts[0].far) {
    const range = pts.length ? `${pts[pts.length - 1].far}..${pts[0].far}` : 'none';
    throw new FaceprintError('NO_THRESHOLD', `FAR ${far} is outside what the calibration (${calibration.source}) measured: ${range}`);
  }
  // log-linear interpolation between the two measured FARs around the target
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i];
    const b = pts[i + 1];
    if (far <= a.far && far >= b.far) {
      const t = a.far === b.far ? 0 : (Math.log(a.far) - Math.log(far)) / (Math.log(a.far) - Math.log(b.far));
      return { threshold: a.threshold + t * (b.threshold - a.threshold), source: 'calibration', basis: `FAR ${far} on ${calibration.source}` };
    }
  }
  return { threshold: pts[0].threshold, source: 'calibration', basis: `FAR ${pts[0].far} on ${calibration.source}` };
}
