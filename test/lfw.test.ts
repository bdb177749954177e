import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FaceAnalyzer } from '../src/node/index.js';
import { readLfwPairs } from '../src/node/eval/datasets.js';
import { evaluatePairs } from '../src/node/eval/report.js';
import { DET_500M, MOBILEFACENET, SHARED, TEST_EMBED_CACHE } from './fixtures.js';

// The whole LFW protocol (7701 images, ~5 min on 2 cores): the accuracy target of the fixture models. The cache is
// this run's own (FACEPRINT_TEST_RUN, set by `npm test`), shared with the gallery's LFW identification test.
test('LFW 10-fold with det_500m + mobilefacenet: 99.20% ± 0.32%, 19 images without a face, cosine threshold 0.29', async () => {
  const lfw = join(SHARED, 'lfw');
  const pairs = await readLfwPairs(join(lfw, 'pairs.txt'), join(lfw, 'images'));
  assert.equal(pairs.length, 6000);
  const fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
  try {
    const { report } = await evaluatePairs(fa, pairs, { cacheDir: TEST_EMBED_CACHE, fallbackToMeanLandmarks: true });
    assert.equal(report.evaluatedPairs, 6000);
    assert.ok(Math.abs(report.accuracy.mean - 0.992) <= 0.0005, `accuracy ${report.accuracy.mean}`);
    assert.ok(Math.abs(report.accuracy.std - 0.0032) <= 0.0005, `std ${report.accuracy.std}`);
    assert.equal(report.misses.length, 19);
    assert.deepEqual(new Set(report.folds.map((f) => f.thresholdCosine.toFixed(2))), new Set(['0.29']));
    assert.equal(report.errors.length, 0);
  } finally {
    await fa.close();
  }
});
