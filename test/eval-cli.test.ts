import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { FaceAnalyzer } from '../src/node/index.js';
import { readPairsCsv } from '../src/node/eval/datasets.js';
import { evaluatePairs } from '../src/node/eval/report.js';
import { DET_500M, MOBILEFACENET, SHARED, golden, imagePath, onReferenceKernels } from './fixtures.js';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'faceprint-eval-'));
const models = ['--detector', DET_500M, '--recognizer', MOBILEFACENET];

// The golden LFW pairs among the dev images, as a CSV (paths absolute, labels 1/0).
const csv = join(tmp, 'pairs.csv');
const byId = new Map(golden.images.map((g) => [g.id, g]));
const goldenPairs = (golden.pairs as { a: string; b: string; same: boolean; cos_primary: number }[]);
writeFileSync(csv, 'path_a,path_b,same\n' + goldenPairs.map((p) => `${imagePath(byId.get(p.a)!)},${imagePath(byId.get(p.b)!)},${p.same ? 1 : 0}`).join('\n') + '\n');

let fa: FaceAnalyzer;
before(async () => { fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET, detSize: 640 }); });
after(() => fa.close());

test('pair scores equal the reference pipeline\'s primary-face cosines', async () => {
  const pairs = await readPairsCsv(csv);
  assert.equal(pairs.length, goldenPairs.length);
  const { scores, report } = await evaluatePairs(fa, pairs, { cacheDir: null, fallbackToMeanLandmarks: true, folds: 2 });
  const worst = Math.max(...scores.map((s, i) => Math.abs(s - goldenPairs[i].cos_primary)));
  // on other onnxruntime kernels than the reference machine's, embeddings move by cosine ≤ 1e-6 (docs/parity.md)
  const bound = (await onReferenceKernels()) ? 1e-5 : 5e-4;
  assert.ok(worst < bound, `a pair's score is off by ${worst}`);
  console.log(`# pair scores: worst difference ${worst}`);
  assert.equal(report.misses.length, 0);
});

test('faceprint eval pairs --json: report shape, ROC files, and the cache makes a re-run identical', async () => {
  const cache = join(tmp, 'cache');
  const plot = join(tmp, 'roc');
  const args = ['eval', 'pairs', '--pairs', csv, ...models, '--cache', cache, '--json', '--plot', plot];
  const first = JSON.parse((await run('node', [join(ROOT, 'bin/faceprint.js'), ...args])).stdout);
  for (const k of ['kind', 'pairs', 'evaluatedPairs', 'images', 'folds', 'accuracy', 'auc', 'eer', 'tarAtFar', 'bestThreshold', 'misses', 'errors', 'models', 'seconds']) {
    assert.ok(k in first, `report has ${k}`);
  }
  assert.equal(first.kind, 'verification');
  assert.equal(first.pairs, goldenPairs.length);
  assert.equal(first.folds.length, 10);
  assert.ok(first.auc > 0.9);
  assert.equal(readdirSync(cache).length, 1);
  assert.ok(existsSync(plot + '.svg'));
  const meta = await sharp(plot + '.png').metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 640);
  const second = JSON.parse((await run('node', [join(ROOT, 'bin/faceprint.js'), ...args])).stdout);
  assert.deepEqual({ ...second, seconds: 0 }, { ...first, seconds: 0 });
});

test('faceprint eval identify on the identities fixture: tight crops found on a padded canvas, rank-1 = 1', async () => {
  const { stdout } = await run('node', [join(ROOT, 'bin/faceprint.js'), 'eval', 'identify', '--dir', join(SHARED, 'faces/identities/bbt'), ...models, '--no-cache', '--json']);
  const r = JSON.parse(stdout);
  assert.equal(r.kind, 'identification');
  assert.equal(r.images, 40);
  assert.equal(r.subjects, 8);
  assert.equal(r.misses.length, 0);
  assert.equal(r.rank1, 1);
  assert.equal(r.openSet[0].supported, false); // 40 non-mated searches cannot measure FAR 1e-2
});

test('eval pairs with a malformed CSV fails with a clear error', async () => {
  const bad = join(tmp, 'bad.csv');
  writeFileSync(bad, 'a.jpg,b.jpg,1\nc.jpg,d.jpg,maybe\n');
  await assert.rejects(run('node', [join(ROOT, 'bin/faceprint.js'), 'eval', 'pairs', '--pairs', bad, ...models]), (e: any) => /INVALID_INPUT: .*bad\.csv:2/.test(e.stderr));
});

test('calibrating an unknown recognizer is one command: eval identify --json → calibrate --report, then decisions use it', async () => {
  const { quantizeModelFile } = await import('../src/node/quantize.js');
  const fp16 = join(tmp, 'mfn.fp16.onnx'); // another file, another sha256: not in the known-model table
  await quantizeModelFile(MOBILEFACENET, fp16, { mode: 'fp16' });
  const other = ['--detector', DET_500M, '--recognizer', fp16];
  const store = ['--store', join(tmp, 'calibrated.db')];
  const BBT = join(SHARED, 'faces/identities/bbt');
  const refused = await run('node', [join(ROOT, 'bin/faceprint.js'), 'verify', join(BBT, 'amy/amy1.png'), join(BBT, 'amy/amy2.png'), ...other, ...store]).catch((e) => e);
  assert.equal(refused.code, 2);
  const report = join(tmp, 'identify.json');
  writeFileSync(report, (await run('node', [join(ROOT, 'bin/faceprint.js'), 'eval', 'identify', '--dir', BBT, ...other, '--no-cache', '--json'])).stdout);
  const cal = await run('node', [join(ROOT, 'bin/faceprint.js'), 'calibrate', '--report', report, ...store]);
  assert.match(cal.stdout, /^calibration from identities in 40 images: default threshold 0\.\d+; FAR 0\.3 → /);
  const ok = await run('node', [join(ROOT, 'bin/faceprint.js'), 'verify', join(BBT, 'amy/amy1.png'), join(BBT, 'amy/amy2.png'), ...other, ...store, '--json']);
  assert.equal(JSON.parse(ok.stdout).thresholdSource, 'calibration');
});

test('eval pairs retries tight crops on a padded canvas by default; an eval where most images have no face says so and exits 1', async () => {
  const BBT = join(SHARED, 'faces/identities/bbt');
  const tight = join(tmp, 'tight.csv');
  writeFileSync(tight, 'path_a,path_b,same\n' + ['amy', 'penny', 'raj'].flatMap((p) => [`${BBT}/${p}/${p}1.png,${BBT}/${p}/${p}2.png,1`, `${BBT}/${p}/${p}1.png,${BBT}/howard/howard1.png,0`]).join('\n') + '\n');
  const r = JSON.parse((await run('node', [join(ROOT, 'bin/faceprint.js'), 'eval', 'pairs', '--pairs', tight, ...models, '--no-cache', '--json'])).stdout);
  assert.deepEqual([r.evaluatedPairs, r.misses.length], [6, 0]);
  // one 640 pass (0.7.3) misses these tight crops without the retry; Auto's 128 pass sees them whole
  const bare = await run('node', [join(ROOT, 'bin/faceprint.js'), 'eval', 'pairs', '--pairs', tight, ...models, '--det-size', '640', '--no-cache', '--no-pad-retry']).catch((e) => e);
  assert.equal(bare.code, 1);
  assert.match(bare.stderr, /faceprint: \d+ of 7 images gave no face .*these figures mean nothing\. Tight face crops need the padded retry/);
});
