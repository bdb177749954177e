/**
 * Gallery search bench: identify latency (p50/p99) and recall@1 against exact float search, on the real store code
 * (SQLite records → Gallery's in-memory exact index, caught up through the change feed), one query at a time.
 *
 *   node --import tsx bench/gallery.ts [--faces 100000] [--queries 300] [--threads 1,2] [--real]
 *
 * Synthetic: unit Gaussian 512-d vectors (no structure: a worst case for any index). Queries are either random
 * (needles in noise: the top-1 is barely above the rest) or near-duplicates of a stored vector (cosine ≈ 0.7, how
 * a probe of an enrolled person looks). --real adds LFW people (fixture models' embeddings from the test cache or
 * computed here): 423 people enrolled from 2 images each among the synthetic distractors, queried with their
 * other 5,125 images (real probes; recall against exact search and rank-1 against the true identity).
 * Each configuration first answers --warmup (10) untimed queries (JIT and page faults are a one-off cost of a
 * serving process, not of a query). --sketch adds the 1-bit sketch first stage (Gallery search: 'sketch') at each
 * thread count.
 * --usearch 64,256 adds the usearch f16 HNSW accelerator (M16, one build per search expansion), its candidates
 * rescored exactly. --pglite adds PGlite + pgvector over a socket (halfvec HNSW in SQL, float32 rerank).
 * Prints a JSON summary at the end.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Gallery } from '../src/core/gallery/gallery.js';
import { templateOf } from '../src/core/gallery/template.js';
import type { ModelBinding, NewFace } from '../src/core/gallery/types.js';
import { embedImageSet } from '../src/node/eval/embed-set.js';
import { FaceAnalyzer } from '../src/node/index.js';
import { ScanWorkers } from '../src/node/gallery/scan-workers.js';
import { UsearchAccelerator } from '../src/node/gallery/usearch-accelerator.js';
import { PostgresGalleryStore } from '../src/storage/postgres.js';
import { SqliteGalleryStore } from '../src/storage/sqlite.js';
import { startPglite } from '../test/helpers/postgres.js';
import { sfc32 } from '../test/helpers/vectors.js';

const { values } = parseArgs({
  options: {
    faces: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '300' },
    threads: { type: 'string', default: '1,2' },
    dim: { type: 'string', default: '512' },
    real: { type: 'boolean', default: false },
    usearch: { type: 'string', default: '' },
    pglite: { type: 'boolean', default: false },
    sketch: { type: 'boolean', default: false },
    warmup: { type: 'string', default: '10' },
  },
});
const SYNTHETIC = Number(values.faces);
const Q = Number(values.queries);
// --real: the fixture recognizer's 128-d embeddings of LFW people with ≥5 images join the synthetic distractors
const DIM = values.real ? 128 : Number(values.dim);
const THREADS = values.threads!.split(',').map(Number);
const WARMUP = Number(values.warmup);

// sfc32, not a 32-bit LCG: an LCG repeats itself shifted by a constant every 2^29 draws, which at 1,024 draws a
// vector makes rows 524,288 apart (and queries after them) correlated at cosine ≈ 0.5.
const uniform = sfc32(12345);
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

/** LFW people with ≥5 images, embedded by the fixture models (cached in $FACEPRINT_HOME/cache): 2 enrolled, the rest probes. */
async function lfwPeople(): Promise<{ templates: Float32Array[]; probes: { q: Float32Array; person: number }[] }> {
  const shared = join(import.meta.dirname, '../../shared/fixtures');
  const fa = await FaceAnalyzer.create({ detector: join(shared, 'models/det_500m.onnx'), recognizer: join(shared, 'models/mobilefacenet.onnx') });
  const names = readFileSync(join(shared, 'lfw/lfw-names.txt'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/));
  const people = names.filter(([, n]) => Number(n) >= 5);
  const paths = people.flatMap(([p, n]) => Array.from({ length: Number(n) }, (_, i) => join(shared, 'lfw/images', p, `${p}_${String(i + 1).padStart(4, '0')}.jpg`)));
  const cacheDir = join(process.env.FACEPRINT_HOME ?? join(homedir(), '.faceprint'), 'cache');
  const embedded = await embedImageSet(fa, paths, { cacheDir, onProgress: (d, t) => d % 500 === 0 && console.log(`embedding LFW ${d}/${t}`) });
  await fa.close();
  const templates: Float32Array[] = [];
  const probes: { q: Float32Array; person: number }[] = [];
  let at = 0;
  people.forEach(([, n], person) => {
    const mine = embedded.slice(at, at + Number(n)).map((e) => e.embedding).filter((e): e is Float32Array => e !== null);
    at += Number(n);
    templates.push(templateOf(mine.slice(0, 2))!);
    for (const q of mine.slice(2)) probes.push({ q, person });
  });
  return { templates, probes };
}

/** Exact float32 top-1 in plain JS: a small monomorphic function so the JIT treats it fairly. */
function exactTop1(q: Float32Array, all: Float32Array, n: number, dim: number): number {
  let best = -Infinity;
  let arg = -1;
  for (let i = 0, base = 0; i < n; i++, base += dim) {
    let s0 = 0;
    let s1 = 0;
    for (let d = 0; d < dim; d += 2) {
      s0 += q[d] * all[base + d];
      s1 += q[d + 1] * all[base + d + 1];
    }
    const s = s0 + s1;
    if (s > best) {
      best = s;
      arg = i;
    }
  }
  return arg;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-bench-gallery-'));
  const path = join(dir, 'gallery.db');
  const binding: ModelBinding = { recognizerSha256: 'b'.repeat(64), dim: DIM, recognizerName: 'synthetic' };
  const real = values.real ? await lfwPeople() : { templates: [] as Float32Array[], probes: [] as { q: Float32Array; person: number }[] };
  const N = SYNTHETIC + real.templates.length;
  const all = new Float32Array(N * DIM);
  for (let i = 0; i < SYNTHETIC; i++) all.set(unitGaussian(DIM), i * DIM);
  real.templates.forEach((t, p) => all.set(t, (SYNTHETIC + p) * DIM));

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
  const warmups = [unitGaussian(DIM), unitGaussian(DIM)];
  for (let d = 0; d < DIM; d++) warmups[1][d] += all[d]; // a near-duplicate of row 0
  const personOf = new Map<number, number>();
  // at most Q real probes (evenly spread), so the plain-JS reference search stays affordable
  const step = Math.max(1, Math.floor(real.probes.length / Q));
  for (const p of real.probes.filter((_, i) => i % step === 0).slice(0, Q)) {
    personOf.set(queries.length, SYNTHETIC + p.person);
    queries.push({ kind: 'real LFW probe', q: p.q });
  }

  // exact float search in plain JS: the reference answers, and the plain-JS line of the table
  const truth: number[] = [];
  const plainMs: number[] = [];
  for (const { q } of queries) {
    const t = performance.now();
    truth.push(exactTop1(q, all, N, DIM));
    plainMs.push(performance.now() - t);
  }
  const rows: Record<string, unknown>[] = [
    { store: 'plain JS exact f32 (no store)', threads: 1, p50: pct(plainMs, 0.5), p99: pct(plainMs, 0.99), recall1: 1 },
  ];
  /** identify one query at a time for each query kind: p50/p99, recall@1 against exact search, rank-1 for real probes. */
  const measure = async (gallery: Gallery, label: string, extra: Record<string, number>): Promise<void> => {
    // Untimed warm-up queries of each kind (fresh vectors, not the measured ones): the first searches of a
    // configuration JIT-compile the JavaScript around the kernels and fault in pages, which a serving process
    // pays once, not per query.
    for (let i = 0; i < WARMUP; i++) await gallery.identify(warmups[i % warmups.length], { threshold: 0.5, k: 1 });
    for (const kind of ['random', 'near-duplicate', ...(real.probes.length ? ['real LFW probe'] : [])]) {
      const ms: number[] = [];
      let hits = 0;
      let correct = 0;
      let total = 0;
      for (let k = 0; k < queries.length; k++) {
        if (queries[k].kind !== kind) continue;
        const t = performance.now();
        const r = await gallery.identify(queries[k].q, { threshold: 0.5, k: 1 });
        ms.push(performance.now() - t);
        total++;
        if (r.candidates[0]?.name === `s${truth[k]}`) hits++;
        if (personOf.has(k) && r.candidates[0]?.name === `s${personOf.get(k)}`) correct++;
      }
      const row = { store: `${label} (${kind} queries)`, p50: pct(ms, 0.5), p99: pct(ms, 0.99), recall1: hits / total, ...(personOf.size && kind === 'real LFW probe' ? { rank1: correct / total } : {}), ...extra, rssMiB: mb(process.memoryUsage().rss) };
      rows.push(row);
      const rank1 = 'rank1' in row ? `, rank-1 ${((row.rank1 as number) * 100).toFixed(2)}%` : '';
      const timing = Object.entries(extra).filter(([key]) => key.endsWith('Seconds')).map(([key, v]) => `${key.replace('Seconds', '')} ${v.toFixed(1)} s`).join(', ');
      console.log(`${row.store}: p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms, recall@1 ${row.recall1}${rank1}, ${timing}, RSS ${row.rssMiB} MiB`);
    }
  };
  console.log(`${N} faces (${real.templates.length} real) × ${DIM}-d; import ${importSeconds.toFixed(1)} s; db ${mb(statSync(path).size)} MiB`);
  console.log(`plain JS exact f32: p50 ${pct(plainMs, 0.5).toFixed(2)} ms, p99 ${pct(plainMs, 0.99).toFixed(2)} ms`);

  for (const search of (values.sketch ? ['exact', 'sketch'] : ['exact']) as ('exact' | 'sketch')[]) {
    for (const threads of THREADS) {
      t0 = performance.now();
      const gallery = await Gallery.open(SqliteGalleryStore.open(path), binding, { sharedIndex: threads > 1, search });
      const workers = threads > 1 ? await ScanWorkers.start(gallery.templates, threads) : null;
      const openSeconds = (performance.now() - t0) / 1000;
      const stage = search === 'exact' ? 'WASM-SIMD int8 scan + exact rerank' : 'WASM-SIMD 1-bit sketch scan + exact rerank';
      await measure(gallery, `SQLite + ${stage}, ${threads} thread${threads > 1 ? 's' : ''}`, { threads, openSeconds });
      await workers?.close();
      await gallery.close();
    }
  }
  for (const ef of values.usearch ? values.usearch.split(',').map(Number) : []) {
    const gallery = await Gallery.open(SqliteGalleryStore.open(path), binding);
    t0 = performance.now();
    await UsearchAccelerator.attach(gallery, { expansionSearch: ef });
    const buildSeconds = (performance.now() - t0) / 1000;
    await measure(gallery, `SQLite + usearch f16 HNSW M16 ef${ef} + exact rescoring`, { threads: 1, buildSeconds });
    await gallery.close();
  }
  if (values.pglite) {
    const server = await startPglite();
    t0 = performance.now();
    const pgStore = await PostgresGalleryStore.open(server.url);
    await pgStore.bind(binding);
    for (let start = 0; start < N; start += 1000) {
      const items = [];
      for (let i = start; i < Math.min(N, start + 1000); i++) items.push({ name: `s${i}`, faces: [{ embedding: all.slice(i * DIM, (i + 1) * DIM), imageSha256: `img${i}`, bbox: [0, 0, 1, 1] as [number, number, number, number], score: 1, quality: 1 }] });
      await pgStore.importSubjects(items);
    }
    const buildSeconds = (performance.now() - t0) / 1000;
    const gallery = await Gallery.open(pgStore, binding);
    await measure(gallery, 'PGlite + pgvector halfvec HNSW (ef_search 100) + float32 rerank', { threads: 1, buildSeconds });
    await gallery.close();
    await server.stop();
  }
  console.log(JSON.stringify({ faces: N, synthetic: SYNTHETIC, real: real.templates.length, dim: DIM, queries: Q, importSeconds, rows }));
  rmSync(dir, { recursive: true, force: true });
}

await main();
