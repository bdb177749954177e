import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ExactIndex } from '../src/core/matching/exact-index.js';
import { ScanWorkers } from '../src/node/gallery/scan-workers.js';
import { assembleScanModules, scanModuleSource } from '../scripts/build-wasm.js';
import { gaussian } from './helpers/vectors.js';

function bruteForce(data: Map<string, Float32Array>, q: Float32Array, k: number, filter?: (id: string) => boolean): { id: string; score: number }[] {
  const qn = Math.hypot(...q);
  const all: { id: string; score: number }[] = [];
  for (const [id, v] of data) {
    if (filter && !filter(id)) continue;
    let dot = 0;
    for (let i = 0; i < q.length; i++) dot += q[i] * v[i];
    all.push({ id, score: dot / (qn * Math.hypot(...v)) });
  }
  return all.sort((a, b) => b.score - a.score).slice(0, k);
}

test('the committed WASM module is what scan.wat assembles to', async () => {
  const committed = readFileSync(new URL('../src/core/matching/wasm/scan-module.ts', import.meta.url), 'utf8');
  assert.equal(committed, scanModuleSource(await assembleScanModules()), 'run: node --import tsx scripts/build-wasm.ts');
});

for (const dim of [512, 128, 100]) {
  test(`exact index (${dim}-d): int8 scan + bounded rerank returns exactly the brute-force top-k, through inserts, replaces and deletes`, async () => {
    const index = await ExactIndex.create({ dim });
    const data = new Map<string, Float32Array>();
    const n = 3000;
    const all = gaussian(n * dim, dim);
    for (let i = 0; i < n; i++) {
      const v = all.slice(i * dim, (i + 1) * dim);
      index.upsert(`v${i}`, v);
      data.set(`v${i}`, v);
    }
    // deletes move the last row into the hole; replaces rewrite in place
    for (let i = 0; i < n; i += 7) {
      assert.equal(index.remove(`v${i}`), true);
      data.delete(`v${i}`);
    }
    for (let i = 1; i < n; i += 11) {
      const v = gaussian(dim, 10_000 + i);
      index.upsert(`v${i}`, v);
      data.set(`v${i}`, v);
    }
    assert.equal(index.size, data.size);
    assert.equal(index.remove('nope'), false);
    const ids = [...data.keys()];
    for (let qi = 0; qi < 40; qi++) {
      // half random queries (needles in noise), half near-duplicates of stored vectors (the real use)
      const q = qi % 2 ? gaussian(dim, 50_000 + qi) : (() => { const noise = gaussian(dim, qi); return data.get(ids[qi * 13])!.map((x, i) => x + 0.3 * noise[i]); })();
      const k = 1 + (qi % 10);
      const got = await index.search(q, k);
      const want = bruteForce(data, q, k);
      assert.deepEqual(got.map((h) => h.id), want.map((h) => h.id), `query ${qi}`);
      got.forEach((h, i) => assert.ok(Math.abs(h.score - want[i].score) < 1e-5));
      const filter = (id: string) => Number(id.slice(1)) % 3 === 0;
      assert.deepEqual((await index.search(q, k, { filter })).map((h) => h.id), bruteForce(data, q, k, filter).map((h) => h.id));
    }
    await assert.rejects(index.search(new Float32Array(dim + 1), 1), /values/);
  });
}

test('worker-thread scan (2 threads, shared memory) gives the same results as the in-thread scan', async () => {
  const dim = 512;
  const n = 20_000;
  const plain = await ExactIndex.create({ dim });
  const shared = await ExactIndex.create({ dim, shared: true });
  const all = gaussian(n * dim, 7);
  for (let i = 0; i < n; i++) {
    plain.upsert(`v${i}`, all.subarray(i * dim, (i + 1) * dim));
    shared.upsert(`v${i}`, all.subarray(i * dim, (i + 1) * dim));
  }
  const workers = await ScanWorkers.start(shared, 2);
  try {
    for (let qi = 0; qi < 10; qi++) {
      const q = gaussian(dim, 900 + qi);
      assert.deepEqual(await shared.search(q, 5), await plain.search(q, 5));
    }
    // growth relocates the codes; the workers must follow
    for (let i = 0; i < 5000; i++) shared.upsert(`w${i}`, gaussian(dim, 70_000 + i));
    for (let i = 0; i < 5000; i++) plain.upsert(`w${i}`, gaussian(dim, 70_000 + i));
    const q = gaussian(dim, 4242);
    assert.deepEqual(await shared.search(q, 3), await plain.search(q, 3));
  } finally {
    await workers.close();
  }
});
