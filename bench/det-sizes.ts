/**
 * What the detector's input size costs in faces: with the detector sized to each image (detInput 'image') at most
 * N px, how many of the 63 reference faces of the 40 golden dev images it finds (box IoU > 0.5), how many extra,
 * and which it misses (with their width in the image). LFW accuracy for the same settings comes from
 * `faceprint eval lfw … --det-input image --det-size N` (docs/browser.md).
 *
 *   node --import tsx bench/det-sizes.ts [--sizes 640,320,256,192,160,128]
 */
import { parseArgs } from 'node:util';
import { FaceAnalyzer } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, golden } from '../test/fixtures.js';
import { countGoldenFaces } from '../test/helpers/golden-faces.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '640,320,256,192,160,128' } } });
for (const size of values.sizes.split(',').map(Number)) {
  const fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET, detInput: 'image', detSize: size });
  const { matched, extra, missed } = await countGoldenFaces(fa);
  const total = golden.images.reduce((n, g) => n + g.faces.length, 0);
  console.log(`at most ${size} px: ${matched} of ${total} faces, ${extra} extra${missed.length ? `; missed ${missed.map((m) => `${m.image} (${m.width} px wide)`).join(', ')}` : ''}`);
  await fa.close();
}
