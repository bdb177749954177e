import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli } from './helpers/cli.js';
import { cosine } from '../src/node/index.js';
import { readFileSync } from 'node:fs';
import { DET_500M, GOLDEN_DIR, MOBILEFACENET, golden, imagePath, assertParity } from './fixtures.js';



test('faceprint analyze --json: one line per image, golden faces, errors inline, exit 1 at the end', async () => {
  const g = golden.images.find((x) => x.id === 'dev_25')!; // t1.jpg, 6 faces
  const lfw = golden.images[0];
  const { code, stdout } = await cli(['analyze', '--json', '--detector', DET_500M, '--recognizer', MOBILEFACENET, imagePath(g), 'missing.jpg', imagePath(lfw)]);
  assert.equal(code, 1);
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  assert.deepEqual(Object.keys(lines[0]), ['image', 'width', 'height', 'faces']);
  assert.equal(lines[0].width, 1280);
  assert.equal(lines[0].faces.length, g.num_faces);
  const face = lines[0].faces[0];
  assert.deepEqual(Object.keys(face), ['bbox', 'kps', 'score', 'embedding', 'embeddingNorm']);
  assert.equal(face.kps.length, 5);
  assert.equal(face.embedding.length, 128);
  await assertParity(face.bbox, g.faces[0].bbox, 1e-3, 'bbox');
  assert.ok(cosine(face.embedding, g.faces[0].normed_embedding) > 0.99999);
  assert.deepEqual(lines[1], { image: 'missing.jpg', error: { code: 'IMAGE_NOT_FOUND', message: 'missing.jpg: no such file' } });
  assert.equal(lines[2].faces.length, 1);
});

test('faceprint analyze prints a readable table and exits 0: InsightFace 1.0\'s face by default, 0.7.3\'s with --det-size 640', async () => {
  const g = golden.images[0];
  const auto = JSON.parse(readFileSync(join(GOLDEN_DIR, 'auto_insightface_1_0_1.json'), 'utf8')).images[0];
  assert.equal(auto.id, g.id);
  const row = (f: { det_score: number; bbox: number[] }) => `#1  score ${f.det_score.toFixed(3)}  box [${f.bbox.map((v) => v.toFixed(1)).join(', ')}]`;
  const byDefault = await cli(['analyze', '--detector', DET_500M, '--recognizer', MOBILEFACENET, imagePath(g)]);
  assert.equal(byDefault.code, 0);
  assert.match(byDefault.stdout, /250×250 {2}1 face\n/);
  assert.ok(byDefault.stdout.includes(row(auto.faces[0])), byDefault.stdout);
  const single = await cli(['analyze', '--detector', DET_500M, '--recognizer', MOBILEFACENET, '--det-size', '640', imagePath(g)]);
  assert.ok(single.stdout.includes(row(g.faces[0])), single.stdout);
  assert.ok(single.stdout.includes('#1  score 0.787  box [86.4, 59.6, 180.8, 181.7]'));
});

test('faceprint analyze without models or with bad options fails clearly', async () => {
  const none = await cli(['analyze', 'x.jpg']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /MODEL_MISSING/);
  const bad = await cli(['analyze', '--det-size', 'big', '--detector', DET_500M, 'x.jpg']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /not an integer: big/);
});
