import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { after, before } from 'node:test';
import { ScrfdDetector, loadModel, type ModelSession } from '../src/node/index.js';
import { DET_500M, GOLDEN_DIR, golden } from './fixtures.js';

const manifest: Record<string, { file: string; shape: number[] }[]> = JSON.parse(
  readFileSync(join(GOLDEN_DIR, 'raw_det/manifest.json'), 'utf8'),
);

// The real det_500m session gives the detector its layout; decoding then runs on the saved reference outputs.
let layoutOnly: ModelSession;
before(async () => {
  layoutOnly = (await loadModel(DET_500M)).session;
});
after(() => layoutOnly.close());

test('SCRFD decode + NMS from saved raw outputs reproduces golden boxes, landmarks and scores exactly', () => {
  const det = new ScrfdDetector(layoutOnly);
  const ids = Object.keys(manifest);
  assert.ok(ids.length >= 5);
  for (const id of ids) {
    const g = golden.images.find((x) => x.id === id)!;
    const outputs = manifest[id].map((o) => {
      const buf = readFileSync(join(GOLDEN_DIR, 'raw_det', o.file));
      return { data: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)), dims: o.shape };
    });
    const faces = det.decode({ outputs, inputWidth: 640, inputHeight: 640, scale: g.det_input.det_scale }, g.decoded.w, g.decoded.h);
    assert.equal(faces.length, g.num_faces, id);
    faces.forEach((f, i) => {
      assert.deepEqual(f.bbox, g.faces[i].bbox, `${id} face ${i} bbox`);
      assert.deepEqual(f.kps, g.faces[i].kps, `${id} face ${i} kps`);
      assert.equal(f.score, g.faces[i].det_score, `${id} face ${i} score`);
    });
  }
});

test('maxFaces keeps InsightFace\'s primary face (largest and most central)', () => {
  const det = new ScrfdDetector(layoutOnly);
  const id = 'dev_25';
  const g = golden.images.find((x) => x.id === id)!;
  const outputs = manifest[id].map((o) => {
    const buf = readFileSync(join(GOLDEN_DIR, 'raw_det', o.file));
    return { data: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)), dims: o.shape };
  });
  const [primary] = det.decode({ outputs, inputWidth: 640, inputHeight: 640, scale: g.det_input.det_scale }, g.decoded.w, g.decoded.h, { maxFaces: 1 });
  assert.deepEqual(primary.bbox, g.faces[g.primary_face!].bbox);
});

test('SCRFD rejects output layouts it does not know', () => {
  const twelve = { ...layoutOnly, source: 'yunet-like.onnx', outputs: Array.from({ length: 12 }, (_, i) => ({ name: `o${i}`, shape: [1, null, 1] })) };
  assert.throws(() => new ScrfdDetector(twelve), (e: any) => e.code === 'MODEL_UNRECOGNISED' && /yunet-like\.onnx/.test(e.message));
});
