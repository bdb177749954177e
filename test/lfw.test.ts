import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FaceAnalyzer } from '../src/node/index.js';
import { readLfwPairs } from '../src/node/eval/datasets.js';
import { evaluatePairs } from '../src/node/eval/report.js';
import { DET_500M, MOBILEFACENET, SHARED, TEST_EMBED_CACHE } from './fixtures.js';

// The whole LFW protocol (7701 images, ~2.5 min each on 2 cores) under both references' detection: the accuracy
// targets of the fixture models. The cache is this run's own (FACEPRINT_TEST_RUN, set by `npm test`), shared with
// the gallery's LFW identification test (default detection).
const lfw = join(SHARED, 'lfw');

async function lfwReport(options: { detSize?: number }) {
  const pairs = await readLfwPairs(join(lfw, 'pairs.txt'), join(lfw, 'images'));
  assert.equal(pairs.length, 6000);
  const fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET, ...options });
  try {
    return (await evaluatePairs(fa, pairs, { cacheDir: TEST_EMBED_CACHE, fallbackToMeanLandmarks: true })).report;
  } finally {
    await fa.close();
  }
}

test('LFW 10-fold, default detection (InsightFace 1.0\'s Auto): 99.40% ± 0.27%, a face in every image, cosine threshold 0.27', async () => {
  const report = await lfwReport({});
  assert.deepEqual(report.detSizes, [128, 640]);
  assert.equal(report.evaluatedPairs, 6000);
  // the reference's own figures (golden README: insightface 1.0.1 on the same pairs)
  assert.ok(Math.abs(report.accuracy.mean - 0.994) <= 0.0005, `accuracy ${report.accuracy.mean}`);
  assert.ok(Math.abs(report.accuracy.std - 0.0027) <= 0.0005, `std ${report.accuracy.std}`);
  assert.equal(report.misses.length, 0);
  assert.deepEqual(new Set(report.folds.map((f) => f.thresholdCosine.toFixed(2))), new Set(['0.27']));
  assert.equal(report.errors.length, 0);
});

test('LFW 10-fold, --det-size 640 (InsightFace 0.7.3): 99.20% ± 0.32%, 19 images without a face, cosine threshold 0.29', async () => {
  const report = await lfwReport({ detSize: 640 });
  assert.deepEqual(report.detSizes, [640]);
  assert.equal(report.evaluatedPairs, 6000);
  assert.ok(Math.abs(report.accuracy.mean - 0.992) <= 0.0005, `accuracy ${report.accuracy.mean}`);
  assert.ok(Math.abs(report.accuracy.std - 0.0032) <= 0.0005, `std ${report.accuracy.std}`);
  assert.equal(report.misses.length, 19);
  assert.deepEqual(new Set(report.folds.map((f) => f.thresholdCosine.toFixed(2))), new Set(['0.29']));
  assert.equal(report.errors.length, 0);
});
