/**
 * Recognizers whose verification threshold is known, by the sha256 of the model file: a gallery bound to one of
 * them decides without a calibration step. Each threshold says where it comes from; add a model only with a
 * threshold that can be sourced or measured.
 */
export interface KnownRecognizer {
  /** The file and where it ships. */
  name: string;
  sha256: string;
  /** Cosine at or above which two faces are the same person. */
  threshold: number;
  /** Where the threshold comes from. */
  source: string;
  /**
   * Thresholds measured under other detections, by size list ("128,640"): the faces found, hence the crops and
   * the best threshold, depend on the detector's sizes. Absent: `threshold` applies to every detection.
   */
  byDetection?: Record<string, { threshold: number; source: string }>;
}

export const KNOWN_RECOGNIZERS: readonly KnownRecognizer[] = [
  {
    name: 'w600k_r50.onnx (InsightFace buffalo_l, buffalo_m)',
    sha256: '4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43',
    threshold: 0.4,
    source: "InsightFace's own default",
  },
  {
    name: 'mobilefacenet.onnx (the test fixture: foamliu MobileFaceNet, 128-d)',
    sha256: '0c9ad2a83969fc82155706f7020e6926b4a1a90a5476fff4a5588dfe207f64a4',
    threshold: 0.29,
    source: 'LFW 10-fold, measured here: every fold chose cosine 0.29 (99.20%)',
    byDetection: {
      '128,640': { threshold: 0.27, source: "LFW 10-fold under InsightFace 1.0's Auto detection, measured here: every fold chose cosine 0.27 (99.40%)" },
    },
  },
];

/** The known entry of a recognizer, its threshold and source those measured under these detector sizes if any. */
export function knownRecognizer(sha256: string, detSizes?: readonly number[]): KnownRecognizer | null {
  const known = KNOWN_RECOGNIZERS.find((k) => k.sha256 === sha256);
  if (!known) return null;
  const measured = detSizes && known.byDetection?.[detSizes.join(',')];
  return measured ? { ...known, ...measured } : known;
}
