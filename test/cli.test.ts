import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli } from './helpers/cli.js';
import { cosine } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, golden, imagePath } from './fixtures.js';



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
  assert.deepEqual(face.bbox, g.faces[0].bbox);
  assert.ok(cosine(face.embedding, g.faces[0].normed_embedding) > 0.99999);
  assert.deepEqual(lines[1], { image: 'missing.jpg', error: { code: 'IMAGE_NOT_FOUND', message: 'missing.jpg: no such file' } });
  assert.equal(lines[2].faces.length, 1);
});

test('faceprint analyze prints a readable table and exits 0', async () => {
  const g = golden.images[0];
  const { code, stdout } = await cli(['analyze', '--detector', DET_500M, '--recognizer', MOBILEFACENET, imagePath(g)]);
  assert.equal(code, 0);
  assert.match(stdout, /250×250 {2}1 face\n/);
  assert.match(stdout, /#0 {2}score 0\.787 {2}box \[86\.4, 59\.6, 180\.8, 181\.7\]/);
});

test('faceprint analyze without models or with bad options fails clearly', async () => {
  const none = await cli(['analyze', 'x.jpg']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /MODEL_MISSING/);
  const bad = await cli(['analyze', '--det-size', 'big', '--detector', DET_500M, 'x.jpg']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /not an integer: big/);
});
