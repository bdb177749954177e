import { iou } from '../../src/core/video/assignment.js';
import type { FaceAnalyzer } from '../../src/node/index.js';
import { golden, imagePath } from '../fixtures.js';

export interface GoldenFaceCount {
  /** Reference faces with a found box of IoU > 0.5. */
  matched: number;
  /** Faces found beyond each image's reference count, summed. */
  extra: number;
  /** The lowest best IoU of any reference face. */
  worstIou: number;
  /** The images and widths (px) of the reference faces not found. */
  missed: { image: string; width: number }[];
}

/** How many of the 63 reference faces of the 40 golden dev images an analyzer finds. */
export async function countGoldenFaces(fa: FaceAnalyzer): Promise<GoldenFaceCount> {
  const count: GoldenFaceCount = { matched: 0, extra: 0, worstIou: 1, missed: [] };
  for (const g of golden.images) {
    const faces = await fa.core.analyze(await fa.decode(imagePath(g)));
    for (const ref of g.faces) {
      const best = Math.max(0, ...faces.map((f) => iou(f.bbox, ref.bbox)));
      if (best > 0.5) count.matched++;
      else count.missed.push({ image: g.path.split('/').pop()!, width: Math.round(ref.bbox[2] - ref.bbox[0]) });
      count.worstIou = Math.min(count.worstIou, best);
    }
    count.extra += Math.max(0, faces.length - g.faces.length);
  }
  return count;
}
