/**
 * Gallery search bench: identify latency (p50/p99) and recall@1 against exact float search, on the real store code
 * (SQLite records → Gallery's in-memory exact index, caught up through the change feed), one query at a time.
 *
 *   node --import tsx bench/gallery.ts [--faces 100000] [--queries 300] [--threads 1,2] [--real]
 *
 * Synthetic: unit Gaussian 512-d vectors (no structure: a worst case for any index). Queries are either random
 * (needles in noise: the top-1 is barely above the rest) or near-duplicates of a stored vector (cosine ≈ 0.7, how
 * a probe of an enrolled person looks). --real adds LFW people (fixture models' embeddings from the test cache or
 * computed here). Prints a JSON summary at the end.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Gallery } from '../src/core/gallery/gallery.js';
import type { ModelBinding, NewFace } from '../src/core/gallery/types.js';
import { ScanWorkers } from '../src/node/gallery/scan-workers.js';
import { SqliteGalleryStore } from '../src/storage/sqlite.js';

const { values } = parseArgs({
  options: {
    faces: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '300' },
    threads: { type: 'string', default: '1,2' },
    dim: { type: 'string', default: '512' },
  },
});
const N = Number(values.faces);
const Q = Number(values.queries);
const DIM = Number(values.dim);
const THREADS = values.threads!.split(',').map(Number);

let seed = 12345;
const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
function unitGaussian(dim: number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    n += v[i] * v[i];
  }
  n = 1 / Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i] *= n;
  return v;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const mb = (b: number) => Math.round(b / 2 ** 20);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-bench-gallery-'));
  const path = join(dir, 'gallery.db');
  const binding: ModelBinding = { recognizerSha256: 'b'.repeat(64), dim: DIM, recognizerName: 'synthetic' };
  const all = new Float32Array(N * DIM);
  for (let i = 0; i < N; i++) all.set(unitGaussian(DIM), i * DIM);

  // build: bulk import into SQLite (10k subjects per transaction), then open = load through the change feed
  let t0 = performance.now();
  const store = SqliteGalleryStore.open(path);
  await store.bind(binding);
  for (let start = 0; start < N; start += 10_000) {
    const items = [];
    for (let i = start; i < Math.min(N, start + 10_000); i++) {
      const face: NewFace = { embedding: all.subarray(i * DIM, (i + 1) * DIM), imageSha256: `img${i}`, bbox: [0, 0, 1, 1], score: 1, quality: 1 };
      items.push({ name: `s${i}`, faces: [face] });
    }
    await store.importSubjects(items);
  }
  const importSeconds = (performance.now() - t0) / 1000;
  await store.close();

  const queries: { kind: string; q: Float32Array }[] = [];
  for (let i = 0; i < Q; i++) queries.push({ kind: 'random', q: unitGaussian(DIM) });
  for (let i = 0; i < Q; i++) {
    const j = Math.floor(uniform() * N);
    const noise = unitGaussian(DIM);
    const q = new Float32Array(DIM);
    for (let d = 0; d < DIM; d++) q[d] = all[j * DIM + d] + noise[d]; // cosine ≈ 0.71 to its source
    queries.push({ kind: 'near-duplicate', q });
  }

  // exact float search in plain JS: the reference answers, and the plain-JS line of the table
  const truth: number[] = [];
  const plainMs: number[] = [];
  for (const { q } of queries) {
    const t = performance.now();
    let best = -Infinity;
    let arg = -1;
    for (let i = 0; i < N; i++) {
      let s = 0;
      const base = i * DIM;
      for (let d = 0; d < DIM; d++) s += q[d] * all[base + d];
      if (s > best) {
        best = s;
        arg = i;
      }
    }
    plainMs.push(performance.now() - t);
    truth.push(arg);
  }
  const rows: Record<string, unknown>[] = [
    { store: 'plain JS exact f32 (no store)', threads: 1, p50: pct(plainMs, 0.5), p99: pct(plainMs, 0.99), recall1: 1 },
  ];
  console.log(`${N} faces × ${DIM}-d; import ${importSeconds.toFixed(1)} s; db ${mb(statSync(path).size)} MiB`);
  console.log(`plain JS exact f32: p50 ${pct(plainMs, 0.5).toFixed(2)} ms, p99 ${pct(plainMs, 0.99).toFixed(2)} ms`);

  for (const threads of THREADS) {
    t0 = performance.now();
    const gallery = await Gallery.open(SqliteGalleryStore.open(path), binding, { sharedIndex: threads > 1 });
    const workers = threads > 1 ? await ScanWorkers.start(gallery.templates, threads) : null;
    const openSeconds = (performance.now() - t0) / 1000;
    for (const kind of ['random', 'near-duplicate']) {
      const ms: number[] = [];
      let hits = 0;
      let total = 0;
      for (let k = 0; k < queries.length; k++) {
        if (queries[k].kind !== kind) continue;
        const t = performance.now();
        const r = await gallery.identify(queries[k].q, { threshold: 0.5, k: 1 });
        ms.push(performance.now() - t);
        total++;
        if (r.candidates[0]?.name === `s${truth[k]}`) hits++;
      }
      const row = {
        store: `SQLite + WASM-SIMD int8 scan + exact rerank (${kind} queries)`,
        threads,
        p50: pct(ms, 0.5),
        p99: pct(ms, 0.99),
        recall1: hits / total,
        openSeconds,
        rssMiB: mb(process.memoryUsage().rss),
      };
      rows.push(row);
      console.log(`${row.store}, ${threads} thread${threads > 1 ? 's' : ''}: p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms, recall@1 ${row.recall1}, open ${openSeconds.toFixed(1)} s, RSS ${row.rssMiB} MiB`);
    }
    await workers?.close();
    await gallery.close();
  }
  console.log(JSON.stringify({ faces: N, dim: DIM, queries: Q, importSeconds, rows }));
  rmSync(dir, { recursive: true, force: true });
}

await main();
