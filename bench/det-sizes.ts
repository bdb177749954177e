/**
 * What the detector's input size costs in faces: with the detector sized to each image (detInput 'image') at most
 * N px, how many of the 63 reference faces of the 40 golden dev images it finds (box IoU > 0.5), how many extra,
 * and which it misses (with their width in the image). LFW accuracy for the same settings comes from
 * `faceprint eval lfw … --det-input image --det-size N` (docs/browser.md).
 *
 *   node --import tsx bench/det-sizes.ts [--sizes 640,320,256,192,160,128]
 */
import { parseArgs } from 'node:util';
import { iou } from '../src/core/video/assignment.js';
import { FaceAnalyzer } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, golden, imagePath } from '../test/fixtures.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '640,320,256,192,160,128' } } });
for (const size of values.sizes.split(',').map(Number)) {
  const fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET, detInput: 'image', detSize: size });
  let matched = 0;
  let extra = 0;
  const missed: string[] = [];
  for (const g of golden.images) {
    const faces = await fa.core.analyze(await fa.decode(imagePath(g)));
    for (const ref of g.faces) {
      if (Math.max(0, ...faces.map((f) => iou(f.bbox, ref.bbox))) > 0.5) matched++;
      else missed.push(`${g.path.split('/').pop()} (${Math.round(ref.bbox[2] - ref.bbox[0])} px wide)`);
    }
    extra += Math.max(0, faces.length - g.faces.length);
  }
  console.log(`at most ${size} px: ${matched} of ${golden.images.reduce((n, g) => n + g.faces.length, 0)} faces, ${extra} extra${missed.length ? `; missed ${missed.join(', ')}` : ''}`);
  await fa.close();
}
