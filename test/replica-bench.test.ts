import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { buildIResNetReplica } from '../src/core/models/iresnet-replica.js';
import { FaceAnalyzer } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'faceprint-replica-'));

test('IResNet replicas have the published sizes: r50 43.6 M params / 6.31 GMAC, r100 65.2 M / 12.1 GMAC', () => {
  const r50 = buildIResNetReplica('iresnet50', 1, { weights: false }).stats;
  assert.equal((r50.params / 1e6).toFixed(1), '43.6');
  assert.equal((r50.macsPerFace / 1e9).toFixed(2), '6.31');
  const r100 = buildIResNetReplica('iresnet100', 1, { weights: false }).stats;
  assert.equal((r100.params / 1e6).toFixed(1), '65.2');
  assert.equal((r100.macsPerFace / 1e9).toFixed(1), '12.1');
});

test('faceprint models replica writes a loadable w600k_r50-shaped recognizer, reproducible from its seed', async () => {
  const out = join(tmp, 'r50.onnx');
  const { stdout } = await run('node', [join(ROOT, 'bin/faceprint.js'), 'models', 'replica', '--arch', 'iresnet50', '--out', out, '--seed', '7'], { maxBuffer: 1 << 20 });
  assert.match(stdout, /43\.59 M parameters, 6\.31 GMAC\/face/);
  const size = statSync(out).size;
  assert.ok(Math.abs(size - 174_383_860) / 174_383_860 < 0.01, `file size ${size} within 1% of w600k_r50.onnx`);
  // regression pin: the builder's own MAC count (the graph walk in the models-info test agrees independently)
  assert.equal(JSON.parse(readFileSync(out + '.json', 'utf8')).macsPerFace, 6309330944);
  const fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: out });
  try {
    assert.equal(fa.embeddingSize, 512);
    assert.deepEqual(fa.core.recognizer!.normalisation, { mean: 127.5, std: 127.5 });
    const faces = await fa.analyze(join(SHARED, 'lfw/images/Lindsay_Davenport/Lindsay_Davenport_0005.jpg'));
    assert.equal(faces[0].embedding!.length, 512);
    assert.ok(faces[0].embedding!.every(Number.isFinite));
  } finally {
    await fa.close();
  }
  // Same seed, same bytes.
  const again = buildIResNetReplica('iresnet50', 7).bytes;
  assert.ok(Buffer.compare(Buffer.from(again), readFileSync(out)) === 0);
});

test('faceprint bench reports every stage, the batch × thread sweep and the sgemm peak', async () => {
  const { stdout } = await run('node', [join(ROOT, 'bin/faceprint.js'), 'bench', '--detector', DET_500M, '--recognizer', MOBILEFACENET,
    '--image', join(SHARED, 'faces/groups/insightface/t1.jpg'), '--iters', '3', '--batches', '1,8', '--threads', '1', '--gmacs', '0.22', '--json'], { maxBuffer: 1 << 22 });
  const r = JSON.parse(stdout);
  assert.equal(r.faces, 6);
  for (const k of ['decode', 'letterbox', 'detectorRun', 'decodeNms', 'align', 'embedRun', 'normalise', 'pipeline']) {
    assert.ok(r.stages[k].median > 0 && r.stages[k].min <= r.stages[k].median && r.stages[k].median <= r.stages[k].p90, k);
  }
  assert.deepEqual(r.recognizer.sweep.map((s: any) => [s.threads, s.batch]), [[1, 1], [1, 8]]);
  assert.ok(r.recognizer.sweep.every((s: any) => s.msPerFace > 0 && s.gflops > 0));
  // each row's share of the peak is its GFLOP/s over the sgemm peak measured at its thread count
  for (const s of r.recognizer.sweep) assert.ok(Math.abs(s.ofPeak - s.gflops / r.peakGflops[String(s.threads)]) < 1e-9, JSON.stringify(s));
  // GFLOP/s = 2 · MACs per face / time per face, with the MACs given
  for (const s of r.recognizer.sweep) assert.ok(Math.abs(s.gflops - (2 * 0.22e9) / (s.msPerFace / 1000) / 1e9) < 1e-6 * s.gflops, JSON.stringify(s));
});

test('faceprint models info: routing, shapes, normalisation and MACs', async () => {
  const info = async (f: string) => JSON.parse((await run('node', [join(ROOT, 'bin/faceprint.js'), 'models', 'info', f, '--json'])).stdout);
  const det = await info(DET_500M);
  assert.equal(det.kind, 'detector');
  assert.equal(det.outputs.length, 9);
  assert.deepEqual(det.macs.inputHW, [640, 640]);
  assert.ok(det.macs.perImage > 0.5e9 && det.macs.perImage < 1e9);
  const rec = await info(MOBILEFACENET);
  assert.equal(rec.kind, 'recognizer');
  assert.deepEqual(rec.normalisation, { mean: 127.5, std: 127.5 });
  assert.deepEqual(rec.inputs[0].shape, ['batch', 3, 112, 112]);
  // Two independent counts agree: the graph walk over the ONNX nodes and the replica builder's layer arithmetic.
  const r50 = buildIResNetReplica('iresnet50', 3).bytes;
  const { estimateMacs } = await import('../src/core/models/graph-macs.js');
  assert.equal(estimateMacs(r50, [112, 112]).macs, 6_309_330_944);
});
