import type { HeadName } from '../../core/heads/head.js';

/**
 * The model packs InsightFace publishes, as FaceAnalysis(name=…) fetches them. Sizes are pinned where known;
 * hashes are not published upstream, so each is recorded in the lock file on first download and checked after.
 */
export interface PackFile {
  name: string;
  /** The per-face head this file is (absent for the detector and recognizer): pulls can skip heads not wanted. */
  head?: HeadName;
  /** Exact size in bytes where known. */
  size?: number;
  sha256?: string;
}

export interface PackSpec {
  name: string;
  description: string;
  files: PackFile[];
  zipSha256?: string;
}

export const OFFICIAL_BASE_URL = 'https://github.com/deepinsight/insightface/releases/download/v0.7';

export const INSIGHTFACE_LICENCE =
  'InsightFace model packs are released for non-commercial research purposes only ' +
  '(see the InsightFace repository\'s model licence). Commercial use needs a licence from InsightFace.';

const common: PackFile[] = [
  { name: '2d106det.onnx', size: 5_030_888, head: 'landmark2d106' },
  { name: '1k3d68.onnx', size: 143_607_619, head: 'landmark3d68' },
  { name: 'genderage.onnx', size: 1_322_532, head: 'genderage' },
];

export const KNOWN_PACKS: Record<string, PackSpec> = {
  buffalo_l: {
    name: 'buffalo_l',
    description: 'SCRFD-10GF detector + ArcFace R50 (WebFace600K), landmarks, gender/age',
    files: [{ name: 'det_10g.onnx', size: 16_923_827 }, { name: 'w600k_r50.onnx', size: 174_383_860 }, ...common],
  },
  buffalo_m: {
    name: 'buffalo_m',
    description: 'SCRFD-2.5GF detector + ArcFace R50 (WebFace600K), landmarks, gender/age',
    files: [{ name: 'det_2.5g.onnx' }, { name: 'w600k_r50.onnx', size: 174_383_860 }, ...common],
  },
  buffalo_s: {
    name: 'buffalo_s',
    description: 'SCRFD-500MF detector + MobileFaceNet (WebFace600K), landmarks, gender/age',
    files: [{ name: 'det_500m.onnx', size: 2_524_817 }, { name: 'w600k_mbf.onnx' }, ...common],
  },
  buffalo_sc: {
    name: 'buffalo_sc',
    description: 'SCRFD-500MF detector + MobileFaceNet (WebFace600K) only',
    files: [{ name: 'det_500m.onnx', size: 2_524_817 }, { name: 'w600k_mbf.onnx' }],
  },
  antelopev2: {
    name: 'antelopev2',
    description: 'SCRFD-10GF (bnkps) detector + ArcFace R100 (Glint360K), landmarks, gender/age',
    files: [{ name: 'scrfd_10g_bnkps.onnx' }, { name: 'glintr100.onnx' }, ...common],
  },
};

/** Where a pack's zip is fetched from: the official release, or a mirror laid out the same way. */
export function packUrl(name: string, mirror?: string): string {
  const base = (mirror ?? OFFICIAL_BASE_URL).replace(/\/+$/, '');
  return `${base}/${name}.zip`;
}
