import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateIdentification } from '../src/core/eval/identification.js';
import { rocSvg } from '../src/core/eval/roc-plot.js';
import { areaUnderCurve, bestGlobalThreshold, equalErrorRate, kFoldAccuracy, rocCurve, tarAtFar } from '../src/core/eval/verification.js';

test('k-fold accuracy: thresholds come from the other folds, on the squared-L2 grid', () => {
  // 10 folds of 10 pairs: genuine pairs at cosine 0.6, impostors at 0.1, one genuine outlier at 0.0 in fold 3.
  const scores: number[] = [];
  const same: boolean[] = [];
  for (let f = 0; f < 10; f++) {
    for (let i = 0; i < 5; i++) { scores.push(f === 2 && i === 0 ? 0.0 : 0.6); same.push(true); }
    for (let i = 0; i < 5; i++) { scores.push(0.1); same.push(false); }
  }
  const r = kFoldAccuracy(scores, same, 10);
  assert.equal(r.folds.length, 10);
  assert.equal(r.folds[2].accuracy, 0.9);
  for (const f of r.folds.filter((x) => x.fold !== 3)) assert.equal(f.accuracy, 1);
  // First best threshold on the grid: d² just above 2 − 2·0.6 = 0.8, i.e. 0.81 → cosine 0.595.
  assert.equal(r.folds[0].thresholdL2, 0.81);
  assert.equal(r.folds[0].thresholdCosine, 0.595);
  assert.ok(Math.abs(r.mean - 0.99) < 1e-12);
  assert.ok(Math.abs(r.std - Math.sqrt((0.09 ** 2 + 9 * 0.01 ** 2) / 10)) < 1e-12);
});

test('ROC, AUC, EER and TAR@FAR on a hand-checked example', () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
  const same = [true, true, false, true, false, true, false, false];
  const roc = rocCurve(scores, same);
  assert.deepEqual(roc.map((p) => [p.far, p.tar]), [[0, 0], [0, 0.25], [0, 0.5], [0.25, 0.5], [0.25, 0.75], [0.5, 0.75], [0.5, 1], [0.75, 1], [1, 1]]);
  assert.equal(areaUnderCurve(roc), 0.8125);
  assert.equal(equalErrorRate(roc).eer, 0.25);
  const t = tarAtFar(roc, [0.25, 0.5, 0.1], 4);
  assert.deepEqual(t[0], { far: 0.25, tar: 0.75, threshold: 0.6, supported: true });
  assert.equal(t[1].tar, 1);
  assert.equal(t[2].supported, false); // 4 impostors cannot measure FAR 0.1
  const best = bestGlobalThreshold(scores, same);
  assert.equal(best.accuracy, 0.75);
});

test('identification: leave-one-out rank-k and open-set DIR', () => {
  const unit = (v: number[]) => { const n = Math.hypot(...v); return Float32Array.from(v.map((x) => x / n)); };
  const embeddings = [unit([1, 0.1, 0]), unit([1, -0.1, 0]), unit([0, 1, 0.1]), unit([0, 1, -0.1]), unit([0.7, 0.7, 0])];
  const labels = ['a', 'a', 'b', 'b', 'c'];
  const r = evaluateIdentification(embeddings, labels, [0.5, 1e-3]);
  assert.equal(r.matedProbes, 4); // c has one image: not a mated probe
  assert.equal(r.rank1, 1);
  assert.equal(r.rank5, 1);
  assert.equal(r.nonMatedSearches, 5);
  assert.equal(r.openSet[0].supported, true);
  assert.equal(r.openSet[1].supported, false);
});

test('the ROC plot is a standalone SVG with one path per curve', () => {
  const roc = rocCurve([0.9, 0.1, 0.5], [true, false, true]);
  const svg = rocSvg([{ label: 'a <b>', roc }, { label: 'c', roc }], 'ROC');
  assert.match(svg, /^<\?xml/);
  assert.equal((svg.match(/<path /g) ?? []).length, 2);
  assert.match(svg, /a &lt;b&gt;/);
});
