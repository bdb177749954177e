import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ExactIndex } from '../src/core/matching/exact-index.js';
import { instantiateKernels, scanRows } from '../src/core/matching/scan-kernels.js';
import { SketchCodec } from '../src/core/matching/sketch.js';
import { ScanWorkers } from '../src/node/gallery/scan-workers.js';
import { assembleScanModules, scanModuleSource } from '../scripts/build-wasm.js';
import { gaussian } from './helpers/vectors.js';

/** ‖v‖ by a plain loop (Math.hypot(...v) spreads 512 arguments per call: minutes over 50k rows on Node 24). */
function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function bruteForce(data: Map<string, Float32Array>, q: Float32Array, k: number, filter?: (id: string) => boolean): { id: string; score: number }[] {
  const qn = norm(q);
  const all: { id: string; score: number }[] = [];
  for (const [id, v] of data) {
    if (filter && !filter(id)) continue;
    let dot = 0;
    for (let i = 0; i < q.length; i++) dot += q[i] * v[i];
    all.push({ id, score: dot / (qn * norm(v)) });
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

test('concurrent searches on worker threads each get their own exact answer', async () => {
  const dim = 512;
  const n = 20_000;
  const index = await ExactIndex.create({ dim, shared: true, sketch: true });
  const data = new Map<string, Float32Array>();
  const all = gaussian(n * dim, 8);
  for (let i = 0; i < n; i++) {
    index.upsert(`v${i}`, all.subarray(i * dim, (i + 1) * dim));
    data.set(`v${i}`, all.slice(i * dim, (i + 1) * dim));
  }
  const workers = await ScanWorkers.start(index, 2);
  try {
    // the searches share the index's query and output memory: started together, each must still get its own answer
    const queries = Array.from({ length: 12 }, (_, qi) => {
      const src = data.get(`v${qi * 997}`)!;
      const noise = gaussian(dim, 5000 + qi);
      return src.map((x, i) => x + noise[i]);
    });
    const got = await Promise.all(queries.map((q, qi) => index.search(q, 3, { approximate: qi % 2 === 0 })));
    got.forEach((hits, qi) => assert.deepEqual(hits.map((h) => h.id), bruteForce(data, queries[qi], 3).map((h) => h.id), `query ${qi}`));
  } finally {
    await workers.close();
  }
});

test('rows changed (and the index grown) while a scan is out: the search scans again and the answer is exact', async () => {
  const dim = 128;
  const n = 3000;
  for (const approximate of [false, true]) {
    const index = await ExactIndex.create({ dim, sketch: true });
    const data = new Map<string, Float32Array>();
    const all = gaussian(n * dim, 21);
    for (let i = 0; i < n; i++) {
      index.upsert(`v${i}`, all.subarray(i * dim, (i + 1) * dim));
      data.set(`v${i}`, all.slice(i * dim, (i + 1) * dim));
    }
    // a scanner that holds its first scan until the test releases it, as a worker thread's scan is out meanwhile
    const kernels = await instantiateKernels(index.layout().memory, false);
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const rowsAtScan: number[] = [];
    let heldScanStarted!: () => void;
    const started = new Promise<void>((r) => { heldScanStarted = r; });
    index.useScanner(async (layout) => {
      rowsAtScan.push(layout.rows);
      if (rowsAtScan.length === 1) {
        heldScanStarted();
        await held;
      }
      scanRows(kernels, layout, 0, layout.rows);
    });
    const q = gaussian(dim, 777 + Number(approximate));
    const pending = index.search(q, 5, { approximate });
    await started;
    // while it waits: the query itself is added, one row replaced, and the index grows past its capacity
    index.upsert('new', q);
    index.upsert('v1', q.map((x) => -x));
    data.set('new', q);
    data.set('v1', q.map((x) => -x));
    for (let i = 0; i < 3000; i++) {
      const v = gaussian(dim, 90_000 + i);
      index.upsert(`grow${i}`, v);
      data.set(`grow${i}`, v);
    }
    release();
    const hits = await pending;
    assert.equal(rowsAtScan[0], n, 'the held scan saw the rows before the changes');
    assert.ok(rowsAtScan.length >= 2, 'the search scanned again');
    // the exact search: the exact top 5; the sketch search is exact only where its estimates' error bound holds,
    // so of it the clear winner (the query itself, cosine 1)
    if (approximate) assert.equal(hits[0].id, 'new');
    else assert.deepEqual(hits.map((h) => h.id), bruteForce(data, q, 5).map((h) => h.id));
    // and nothing the held scan wrote late spoiled the index: rows old and new are still found (a stored row plus
    // a little noise: a clear nearest neighbour for either search)
    for (let t = 0; t < 20; t++) {
      const id = t % 2 ? `v${t * 137}` : `grow${t * 97}`;
      const noise = gaussian(dim, 1234 + t);
      const probe = data.get(id)!.map((x, i) => x + 0.1 * noise[i]);
      const exact = bruteForce(data, probe, 3).map((h) => h.id);
      const got = (await index.search(probe, 3, { approximate })).map((h) => h.id);
      if (approximate) assert.equal(got[0], exact[0], `probe ${t}`);
      else assert.deepEqual(got, exact, `probe ${t}`);
    }
  }
});

test('sketch kernel: every estimate is what the 1-bit estimator gives in plain JS, and within its own bound of the cosine', async () => {
  const dim = 512;
  const n = 5003; // not a multiple of 4: the kernel's row loop has no tail case to get wrong
  const index = await ExactIndex.create({ dim, sketch: true });
  const all = gaussian(n * dim, 31);
  for (let i = 0; i < n; i++) index.upsert(`v${i}`, all.subarray(i * dim, (i + 1) * dim));
  const codec = new SketchCodec(dim);
  const ids = index.ids();
  const rows = ids.map((id) => ({ v: index.vector(id)!, sketch: codec.encodeRow(index.vector(id)!) }));
  let outside = 0;
  for (let qi = 0; qi < 5; qi++) {
    const q = gaussian(dim, 600 + qi);
    const kernel = await index.sketchEstimates(q);
    const qn = norm(q);
    const unit = q.map((x) => x / qn);
    const sq = codec.encodeQuery(unit);
    rows.forEach((r, i) => {
      const bound = codec.bound(r.sketch, sq, 2.5);
      let raw = 0;
      for (let b = 0; b < codec.bitsPerRow; b++) if ((r.sketch.bits[b >> 3] >> (b & 7)) & 1) raw += sq.levels[b];
      const expected = (sq.rawScale * raw + sq.popScale * r.sketch.pop + sq.offset) * r.sketch.invF;
      assert.ok(Math.abs(kernel[i] - expected) < 1e-4, `row ${i}: kernel ${kernel[i]}, JS ${expected}`);
      let cos = 0;
      for (let d = 0; d < dim; d++) cos += r.v[d] * unit[d];
      if (Math.abs(kernel[i] - cos) > bound) outside++;
    });
  }
  // 2.5 standard deviations of each row's own error: a Gaussian error leaves 1.24 % outside (half of them below,
  // where a miss could happen). Far fewer would mean a loose bound (wasted rescoring), more a wrong one.
  const share = outside / (5 * n);
  assert.ok(share > 0.008 && share < 0.018, `${outside} of ${5 * n} estimates outside the bound`);
});

test('sketch search: exact scores, near-duplicates always first (top-5 recall ≥ 0.99), needles at ≥ 0.97 recall, through deletes, growth and worker threads', async () => {
  const dim = 512;
  const n = 20_000;
  const index = await ExactIndex.create({ dim, sketch: true, shared: true });
  const data = new Map<string, Float32Array>();
  const all = gaussian(n * dim, 77);
  for (let i = 0; i < n; i++) {
    index.upsert(`v${i}`, all.subarray(i * dim, (i + 1) * dim));
    data.set(`v${i}`, all.slice(i * dim, (i + 1) * dim));
  }
  for (let i = 0; i < n; i += 9) {
    index.remove(`v${i}`);
    data.delete(`v${i}`);
  }
  const ids = [...data.keys()];
  const check = async (label: string): Promise<void> => {
    let needleHits = 0;
    let top5Found = 0;
    for (let qi = 0; qi < 60; qi++) {
      const noise = gaussian(dim, 3000 + qi);
      const src = data.get(ids[(qi * 331) % ids.length])!;
      const near = src.map((x, i) => x + noise[i]); // equal norms: cosine ≈ 0.7, as a probe of an enrolled face
      const want = bruteForce(data, near, 5);
      const got = await index.search(near, 5, { approximate: true });
      // the near-duplicate is always found first; the other four are unrelated rows a hair apart, one of which an
      // estimate erring past its 2.5 σ bound can hide now and then
      assert.equal(got[0].id, want[0].id, `${label} near-duplicate ${qi}`);
      top5Found += got.filter((h) => want.some((w) => w.id === h.id)).length;
      const cos = (v: Float32Array) => v.reduce((s, x, i) => s + x * near[i], 0) / (norm(v) * norm(near));
      got.forEach((h) => assert.ok(Math.abs(h.score - cos(data.get(h.id)!)) < 1e-5, 'scores are exact'));
      const needle = gaussian(dim, 9000 + qi);
      if ((await index.search(needle, 1, { approximate: true }))[0].id === bruteForce(data, needle, 1)[0].id) needleHits++;
    }
    assert.ok(needleHits >= 58, `${label}: needle recall@1 ${needleHits}/60`);
    assert.ok(top5Found >= 0.99 * 300, `${label}: near-duplicate top-5 recall ${top5Found}/300`);
  };
  await check('in-thread');
  for (let i = 0; i < 30_000; i++) {
    const v = gaussian(dim, 100_000 + i);
    index.upsert(`w${i}`, v);
    data.set(`w${i}`, v);
  }
  ids.push(...[...data.keys()].filter((id) => id.startsWith('w')));
  const workers = await ScanWorkers.start(index, 2);
  try {
    await check('2 threads, after growth');
  } finally {
    await workers.close();
  }
  await assert.rejects(ExactIndex.create({ dim: 4096, sketch: true }), /2048/);
});
