import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FaceAnalyzer, FaceGallery, KNOWN_RECOGNIZERS, MemoryGalleryStore } from '../src/node/index.js';
import { quantizeModelFile } from '../src/node/quantize.js';
import { DET_500M, MOBILEFACENET, SHARED, sha256 } from './fixtures.js';
import { readFileSync } from 'node:fs';

const BBT = join(SHARED, 'faces/identities/bbt');
const photo = (person: string, n: number) => join(BBT, person, `${person}${n}.png`);

let fa: FaceAnalyzer;
before(async () => {
  fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
});
after(() => fa?.close());

test('the known-model table holds the fixture MobileFaceNet (LFW-measured 0.29) and InsightFace\'s w600k_r50 (0.40), by sha256', () => {
  const byThreshold = Object.fromEntries(KNOWN_RECOGNIZERS.map((k) => [k.threshold, k.sha256]));
  assert.equal(byThreshold[0.29], sha256(readFileSync(MOBILEFACENET)));
  assert.equal(byThreshold[0.4], '4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43');
});

test('clustering the same photos twice adds each photo once', async () => {
  const g = await FaceGallery.open({ analyzer: fa, store: new MemoryGalleryStore() });
  try {
    const photos = [photo('raj', 1), photo('raj', 2), photo('raj', 3)];
    await g.cluster(photos, { minFaces: 2 });
    const again = await g.cluster(photos, { minFaces: 2 });
    assert.equal((await g.gallery.store.unassignedFaces()).length, 3);
    assert.deepEqual(again.clusters.map((c) => c.faces.map((f) => f.source?.split('/').pop()).sort()), [['raj1.png', 'raj2.png', 'raj3.png']]);
  } finally {
    await g.close();
  }
});

test('a clustering that cannot run (unknown recognizer, no calibration) stores none of its faces', async () => {
  const fp16 = join(mkdtempSync(join(tmpdir(), 'faceprint-first-hour-')), 'mfn.fp16.onnx');
  await quantizeModelFile(MOBILEFACENET, fp16, { mode: 'fp16' });
  const other = await FaceAnalyzer.create({ detector: DET_500M, recognizer: fp16 });
  const g = await FaceGallery.open({ analyzer: other, store: new MemoryGalleryStore() });
  try {
    assert.equal(g.gallery.knownModel, null);
    await assert.rejects(g.cluster([photo('amy', 1), photo('amy', 2)]), (e: any) => e.code === 'NO_THRESHOLD');
    assert.deepEqual(await g.gallery.store.unassignedFaces(), []);
    // with a distance given it runs
    assert.equal((await g.cluster([photo('amy', 1), photo('amy', 2)], { maxDistance: 0.7, minFaces: 2 })).clusters.length, 1);
  } finally {
    await g.close();
    await other.close();
  }
});
