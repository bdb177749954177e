import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EmbeddingBatcher, FaceAnalyzer, cosine, decodeImage, type RgbImage } from '../src/node/index.js';
import { DET_500M, GOLDEN_DIR, MOBILEFACENET, golden } from './fixtures.js';

let fa: FaceAnalyzer;
let crops: RgbImage[];
before(async () => {
  fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
  crops = [];
  for (const g of golden.images) for (const f of g.faces) crops.push(await decodeImage(join(GOLDEN_DIR, f.crop.png)));
});
after(() => fa.close());

test('concurrent callers get their own embeddings, in fewer runs, never split, each run ≤ maxBatch', async () => {
  const rec = fa.core.recognizer!;
  const alone = await Promise.all(crops.map((c) => rec.embedRaw([c])));
  const runs: number[] = [];
  const batcher = new EmbeddingBatcher(rec, { maxBatch: 8, maxWaitMs: 20, onBatch: (n) => runs.push(n) });
  // callers of 1, 2 and 3 crops at once, as concurrent requests would be
  const groups: RgbImage[][] = [];
  for (let i = 0, size = 1; i < crops.length; i += size, size = (size % 3) + 1) groups.push(crops.slice(i, i + size));
  const out = await Promise.all(groups.map((g) => batcher.embedRaw(g)));
  let at = 0;
  out.forEach((embs, gi) => {
    assert.equal(embs.length, groups[gi].length);
    for (const e of embs) assert.ok(cosine(e, alone[at++][0]) > 0.99999, `crop ${at - 1} got another crop's embedding`);
  });
  assert.equal(runs.reduce((a, b) => a + b, 0), crops.length);
  assert.ok(runs.length < groups.length, `${groups.length} callers in ${runs.length} runs`);
  assert.ok(runs.every((n) => n <= 8));
  await batcher.drain();
  assert.equal(batcher.pending, 0);
});

test('a caller with a bad crop fails alone; the callers that shared its run get their embeddings', async () => {
  const batcher = new EmbeddingBatcher(fa.core.recognizer!, { maxBatch: 16, maxWaitMs: 20 });
  const bad: RgbImage = { width: 50, height: 50, data: new Uint8Array(50 * 50 * 3) };
  const [a, b, c] = await Promise.allSettled([batcher.embedRaw(crops.slice(0, 2)), batcher.embedRaw([bad]), batcher.embedRaw(crops.slice(2, 3))]);
  assert.equal(a.status, 'fulfilled');
  assert.equal(c.status, 'fulfilled');
  assert.equal(b.status, 'rejected');
  assert.equal((b as PromiseRejectedResult).reason.code, 'INVALID_INPUT');
});
