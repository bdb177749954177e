import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import { FaceAnalyzer, FaceprintError, loadModel, loadPackDir, onnxFirstNodeNames, recognizerNormalisation } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, YUNET } from './fixtures.js';

const { onnx } = onnxProto;
const tmp = mkdtempSync(join(tmpdir(), 'faceprint-models-'));

/** A real, loadable ONNX graph (Identity) with the given input/output shape. */
function identityModel(dims: number[]): Uint8Array {
  const valueInfo = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'g', node: [{ opType: 'Identity', input: ['x'], output: ['y'], name: 'id' }], input: [valueInfo('x')], output: [valueInfo('y')] },
  });
  return onnx.ModelProto.encode(model).finish();
}

function isError(code: string, file: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof FaceprintError, String(e));
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.includes(file), `message names ${file}: ${e.message}`);
    return true;
  };
}

test('models are routed by their shapes, as InsightFace\'s ModelRouter', async () => {
  const det = await loadModel(DET_500M);
  const rec = await loadModel(MOBILEFACENET);
  const yunet = await loadModel(YUNET);
  try {
    assert.equal(det.kind, 'detector');
    assert.equal(rec.kind, 'recognizer');
    assert.equal(yunet.kind, 'detector'); // 12 outputs: the router says detector; SCRFD refuses it below
  } finally {
    await Promise.all([det, rec, yunet].map((m) => m.session.close()));
  }
});

test('recognizer normalisation follows the node-name rule; mobilefacenet gets 127.5/127.5 and 128-d', async () => {
  assert.deepEqual(recognizerNormalisation(['Sub_0', 'Mul_1', 'Conv_2']), { mean: 0, std: 1 });
  assert.deepEqual(recognizerNormalisation(['_minus0', '_mul0']), { mean: 0, std: 1 });
  assert.deepEqual(recognizerNormalisation(['Sub_0', 'Conv_1']), { mean: 127.5, std: 127.5 });
  assert.deepEqual(recognizerNormalisation(['Conv', 'Conv', 'Conv', 'Conv', 'Conv', 'Conv', 'Conv', 'Conv', 'Sub', 'Mul']), { mean: 127.5, std: 127.5 });
  assert.equal(onnxFirstNodeNames(readFileSync(MOBILEFACENET), MOBILEFACENET).length, 8);
  const fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
  try {
    assert.deepEqual(fa.core.recognizer!.normalisation, { mean: 127.5, std: 127.5 });
    assert.equal(fa.embeddingSize, 128);
    assert.equal(fa.core.recognizer!.fixedBatch, 0);
  } finally {
    await fa.close();
  }
});

test('a missing model file → MODEL_NOT_FOUND naming the file', async () => {
  const p = join(tmp, 'missing.onnx');
  await assert.rejects(FaceAnalyzer.create({ detector: p }), isError('MODEL_NOT_FOUND', p));
});

test('a truncated ONNX → MODEL_INVALID naming the file', async () => {
  const p = join(tmp, 'truncated.onnx');
  const bytes = readFileSync(DET_500M);
  writeFileSync(p, bytes.subarray(0, Math.floor(bytes.length / 3)));
  await assert.rejects(FaceAnalyzer.create({ detector: p }), isError('MODEL_INVALID', p));
  const junk = join(tmp, 'junk.onnx');
  writeFileSync(junk, 'not a model');
  await assert.rejects(loadModel(junk), isError('MODEL_INVALID', junk));
});

test('an ONNX of unrecognised shapes → MODEL_UNRECOGNISED naming the file and its shapes', async () => {
  const p = join(tmp, 'odd.onnx');
  writeFileSync(p, identityModel([1, 3, 50, 50]));
  await assert.rejects(loadModel(p), (e: unknown) => isError('MODEL_UNRECOGNISED', p)(e) && /\[1,3,50,50\]/.test((e as Error).message));
  // A recognizer-shaped file passed as the detector is refused too.
  await assert.rejects(FaceAnalyzer.create({ detector: MOBILEFACENET }), isError('MODEL_UNRECOGNISED', MOBILEFACENET));
  // YuNet's 12-output layout is not SCRFD's.
  await assert.rejects(FaceAnalyzer.create({ detector: YUNET }), isError('MODEL_UNRECOGNISED', YUNET));
});

test('a pack directory is read as InsightFace reads one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-pack-'));
  symlinkSync(DET_500M, join(dir, 'det_500m.onnx'));
  symlinkSync(MOBILEFACENET, join(dir, 'w600k_mbf.onnx'));
  writeFileSync(join(dir, 'zz_other.onnx'), identityModel([1, 3, 50, 50]));
  writeFileSync(join(dir, 'readme.txt'), 'ignored');
  const pack = await loadPackDir(dir);
  assert.equal(pack.detector.kind, 'detector');
  assert.equal(pack.recognizer?.kind, 'recognizer');
  await pack.detector.session.close();
  await pack.recognizer?.session.close();
  const fa = await FaceAnalyzer.create({ pack: dir });
  try {
    assert.equal((await fa.analyze(join(dir, '..', 'nope.jpg')).catch((e) => e.code)), 'IMAGE_NOT_FOUND');
  } finally {
    await fa.close();
  }
  await assert.rejects(loadPackDir(join(tmp, 'no-such-pack')), { code: 'MODEL_NOT_FOUND' });
  const empty = mkdtempSync(join(tmpdir(), 'faceprint-empty-'));
  await assert.rejects(loadPackDir(empty), { code: 'MODEL_MISSING' });
});

test('a closed analyzer refuses work with CLOSED', async () => {
  const fa = await FaceAnalyzer.create({ detector: DET_500M });
  await fa.close();
  await assert.rejects(fa.analyze(new Uint8Array(10)), { code: 'CLOSED' });
});
