import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Gallery } from '../src/core/gallery/gallery.js';
import type { ModelBinding } from '../src/core/gallery/types.js';
import { UsearchAccelerator } from '../src/node/gallery/usearch-accelerator.js';
import { SqliteGalleryStore } from '../src/storage/sqlite.js';
import { gaussian } from './helpers/vectors.js';

const tmp = mkdtempSync(join(tmpdir(), 'faceprint-usearch-'));
const binding: ModelBinding = { recognizerSha256: 'd'.repeat(64), dim: 128, recognizerName: 'test.onnx' };
const vec = (i: number) => gaussian(128, 77_000 + i);
const face = (i: number) => ({ embedding: vec(i), imageSha256: `img${i}`, bbox: [0, 0, 1, 1] as [number, number, number, number], score: 1, quality: 1 });
const nearby = (i: number) => {
  const n = gaussian(128, 99_000 + i);
  return vec(i).map((x, d) => x + 0.7 * n[d]);
};

test('usearch accelerator: candidates rescored exactly; its cache file is caught up from the change feed, or rebuilt when damaged', async () => {
  const path = join(tmp, 'g.db');
  const cachePath = join(tmp, 'g.usearch');
  const store = SqliteGalleryStore.open(path);
  await store.bind(binding);
  await store.importSubjects(Array.from({ length: 3000 }, (_, i) => ({ name: `s${i}`, faces: [face(i)] })));
  await store.close();

  const g1 = await Gallery.open(SqliteGalleryStore.open(path), binding);
  const first = await UsearchAccelerator.attach(g1, { cachePath });
  assert.equal(first.source, 'rebuilt');
  assert.equal(first.accelerator.size, 3000);
  for (let i = 0; i < 3000; i += 97) {
    const r = await g1.identify(nearby(i), { threshold: 0, k: 3 });
    assert.equal(r.candidates[0].name, `s${i}`);
    // the score is the exact float32 cosine, not the f16 graph's distance
    const exact = await g1.verify(nearby(i), vec(i), { threshold: 0 });
    assert.ok(Math.abs(r.candidates[0].score - exact.score) < 1e-6);
  }
  await g1.close();

  // another process changes the records while no accelerator is attached
  const other = await Gallery.open(SqliteGalleryStore.open(path), binding);
  for (let i = 3000; i < 3010; i++) await other.enroll(`s${i}`, [{ imageSha256: `img${i}`, faces: [{ bbox: [0, 0, 100, 100], kps: [], score: 0.9, embedding: vec(i) }] }], { minSize: 0 });
  for (let i = 0; i < 5; i++) await other.deleteSubject(`s${i}`);
  await other.close();

  const g2 = await Gallery.open(SqliteGalleryStore.open(path), binding);
  const second = await UsearchAccelerator.attach(g2, { cachePath });
  assert.equal(second.source, 'cache');
  assert.equal(second.caughtUp, 15);
  assert.equal(second.accelerator.size, 3005);
  assert.equal((await g2.identify(nearby(3004), { threshold: 0 })).candidates[0].name, 's3004');
  assert.notEqual((await g2.identify(vec(2), { threshold: 0 })).candidates[0].name, 's2');
  // changes made through this gallery reach the accelerator too
  await g2.enroll('late', [{ imageSha256: 'late', faces: [{ bbox: [0, 0, 100, 100], kps: [], score: 0.9, embedding: vec(5000) }] }], { minSize: 0 });
  assert.equal((await g2.identify(nearby(5000), { threshold: 0 })).candidates[0].name, 'late');
  await second.accelerator.save(g2);
  await g2.close();

  // damage the index file the map names
  writeFileSync(join(tmp, JSON.parse(readFileSync(`${cachePath}.json`, 'utf8')).indexFile), 'damaged');
  const g3 = await Gallery.open(SqliteGalleryStore.open(path), binding);
  const third = await UsearchAccelerator.attach(g3, { cachePath });
  assert.equal(third.source, 'rebuilt');
  assert.equal(third.accelerator.size, 3006);
  await g3.close();
});
