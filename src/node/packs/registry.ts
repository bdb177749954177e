import type { HeadName } from '../../core/heads/head.js';

/**
 * The model packs InsightFace publishes, as FaceAnalysis(name=…) fetches them. The sha256 of buffalo_l's zip and of
 * its five files (and of det_500m and w600k_r50 where other packs ship the same file) are pinned; a download that
 * differs is refused. Files without a pinned hash are recorded in the lock file on first download and checked after.
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
  /** The zip's exact size where published: a download is cut off past it. */
  zipSize?: number;
}

/** Caps for what is not published: a pack's zip, one extracted file. The largest real ones are 344 MB and 261 MB. */
export const MAX_PACK_ZIP_BYTES = 1024 * 2 ** 20;
export const MAX_PACK_FILE_BYTES = 512 * 2 ** 20;

const OFFICIAL_BASE_URL = 'https://github.com/deepinsight/insightface/releases/download/v0.7';

export const INSIGHTFACE_LICENCE =
  'InsightFace model packs are released for non-commercial research purposes only ' +
  '(see the InsightFace repository\'s model licence). Commercial use needs a licence from InsightFace.';

const common: PackFile[] = [
  { name: '2d106det.onnx', size: 5_030_888, head: 'landmark2d106' },
  { name: '1k3d68.onnx', size: 143_607_619, head: 'landmark3d68' },
  { name: 'genderage.onnx', size: 1_322_532, head: 'genderage' },
];

/** Published sha256 of files that appear in several packs. */
const W600K_R50: PackFile = { name: 'w600k_r50.onnx', size: 174_383_860, sha256: '4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43' };
const DET_500M: PackFile = { name: 'det_500m.onnx', size: 2_524_817, sha256: '5e4447f50245bbd7966bd6c0fa52938c61474a04ec7def48753668a9d8b4ea3a' };
const BUFFALO_L_HEADS: Record<string, string> = {
  '2d106det.onnx': 'f001b856447c413801ef5c42091ed0cd516fcd21f2d6b79635b1e733a7109dbf',
  '1k3d68.onnx': 'df5c06b8a0c12e422b2ed8947b8869faa4105387f199c477af038aa01f9a45cc',
  'genderage.onnx': '4fde69b1c810857b88c64a335084f1c3fe8f01246c9a191b48c7bb756d6652fb',
};

export const KNOWN_PACKS: Record<string, PackSpec> = {
  buffalo_l: {
    name: 'buffalo_l',
    description: 'SCRFD-10GF detector + ArcFace R50 (WebFace600K), landmarks, gender/age',
    files: [
      { name: 'det_10g.onnx', size: 16_923_827, sha256: '5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91' },
      W600K_R50,
      ...common.map((f) => ({ ...f, sha256: BUFFALO_L_HEADS[f.name] })),
    ],
    zipSha256: '80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f',
    zipSize: 288_621_354,
  },
  buffalo_m: {
    name: 'buffalo_m',
    description: 'SCRFD-2.5GF detector + ArcFace R50 (WebFace600K), landmarks, gender/age',
    files: [{ name: 'det_2.5g.onnx' }, W600K_R50, ...common],
  },
  buffalo_s: {
    name: 'buffalo_s',
    description: 'SCRFD-500MF detector + MobileFaceNet (WebFace600K), landmarks, gender/age',
    files: [DET_500M, { name: 'w600k_mbf.onnx' }, ...common],
  },
  buffalo_sc: {
    name: 'buffalo_sc',
    description: 'SCRFD-500MF detector + MobileFaceNet (WebFace600K) only',
    files: [DET_500M, { name: 'w600k_mbf.onnx' }],
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
