import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FaceprintError } from '../src/core/errors.js';
import { Gallery, type AnalyzedImage } from '../src/core/gallery/gallery.js';
import type { GalleryStore, ModelBinding } from '../src/core/gallery/types.js';
import { GalleryRecords, MemoryGalleryStore, type GalleryState } from '../src/core/gallery/memory-store.js';
import { openStore } from '../src/storage/open.js';
import { PostgresGalleryStore } from '../src/storage/postgres.js';
import { checkRecords, startClient } from './helpers/gallery-clients.js';
import { gaussian } from './helpers/vectors.js';
import { startPglite, startPostgres, type TestServer } from './helpers/postgres.js';

const tmp = mkdtempSync(join(tmpdir(), 'faceprint-stores-'));
const binding: ModelBinding = { recognizerSha256: 'a'.repeat(64), dim: 128, recognizerName: 'test.onnx' };
const code = (e: unknown) => (e instanceof FaceprintError ? e.code : String(e));

// Started by the first test that needs them: the memory and SQLite contracts never wait on PostgreSQL.
let postgresStarting: Promise<TestServer> | undefined;
let pgliteStarting: Promise<TestServer & { url: string }> | undefined;
const postgres = { database: async (name: string) => (await (postgresStarting ??= startPostgres())).database(name) };
const pgliteUrl = async () => (await (pgliteStarting ??= startPglite())).url;
after(async () => {
  await (await postgresStarting)?.stop();
  await (await pgliteStarting)?.stop();
});

/** {"d":{"d":…}} nested `depth` levels. */
function deepObject(depth: number): Record<string, unknown> {
  let o: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) o = { d: o };
  return o;
}

/** An enrolment image whose one face has this embedding. */
const image = (tag: string, embedding: Float32Array): AnalyzedImage => ({
  imageSha256: tag,
  source: tag,
  faces: [{ bbox: [0, 0, 100, 100], kps: [], score: 0.9, embedding, embeddingNorm: 20 }],
});

/** Person p's i-th face: a fixed identity vector plus noise (cosine to the identity ≈ 0.8). */
function faceOf(p: number, i: number): Float32Array {
  const id = gaussian(128, 1000 + p);
  const noise = gaussian(128, 5000 + p * 100 + i);
  return id.map((x, d) => x + 0.6 * noise[d]);
}

/** The same behaviour from every store: records, templates, search, the change feed between two processes' views. */
async function storeContract(open: () => Promise<GalleryStore>): Promise<void> {
  const a = await Gallery.open(await open(), binding);
  const b = await Gallery.open(await open(), binding); // a second "process" on the same records
  try {
    await assert.rejects(Gallery.open(await open(), { ...binding, recognizerSha256: 'c'.repeat(64) }), (e) => code(e) === 'GALLERY_MODEL_MISMATCH');
    for (let p = 0; p < 30; p++) {
      const r = await a.enroll(`p${p}`, [0, 1, 2].map((i) => image(`p${p}-${i}`, faceOf(p, i))), { minSize: 0, metadata: { group: p % 3 } });
      assert.equal(r.accepted.length, 3);
    }
    const dup = await a.enroll('p0', [image('p0-0', faceOf(0, 0))], { minSize: 0 });
    assert.equal(dup.refused[0].reason, 'DUPLICATE_IMAGE');
    await assert.rejects(a.store.createSubject('p1'), (e) => code(e) === 'SUBJECT_EXISTS');

    // b sees a's enrolments through the change feed; rank-1 is the right person
    for (let p = 0; p < 30; p++) {
      const r = await b.identify(faceOf(p, 9), { threshold: 0.5, k: 3 });
      assert.equal(r.subject?.name, `p${p}`);
      assert.equal(r.candidates.length, 3);
    }
    const filtered = await b.identify(faceOf(4, 9), { threshold: -1, k: 5, where: { group: 2 } });
    assert.ok(filtered.candidates.length === 5 && filtered.candidates.every((c) => Number(c.name.slice(1)) % 3 === 2));

    // `where` is JSON containment in every store (jsonb @> in PostgreSQL): nested objects in any key order,
    // array elements, and `__proto__` an ordinary key
    const q1Meta = JSON.parse('{"team":{"city":"Oslo","floor":3},"tags":["a","b"],"__proto__":{"admin":true}}');
    await a.enroll('q1', [image('q1-0', faceOf(60, 0))], { minSize: 0, metadata: q1Meta });
    await a.enroll('q2', [image('q2-0', faceOf(61, 0))], { minSize: 0, metadata: { team: { floor: 3, city: 'Bergen' }, tags: ['b'] } });
    const namesWhere = async (where: Record<string, unknown>) => (await b.identify(faceOf(60, 9), { threshold: -1, k: 50, where })).candidates.map((c) => c.name).sort();
    assert.deepEqual(await namesWhere({ team: { floor: 3, city: 'Oslo' } }), ['q1']);
    assert.deepEqual(await namesWhere({ team: { floor: 3 } }), ['q1', 'q2']);
    assert.deepEqual(await namesWhere({ tags: ['b'] }), ['q1', 'q2']);
    assert.deepEqual(await namesWhere({ tags: ['a', 'b'] }), ['q1']);
    assert.deepEqual(await namesWhere(JSON.parse('{"__proto__":{"admin":true}}')), ['q1']);
    assert.deepEqual(await namesWhere(JSON.parse('{"__proto__":{}}')), ['q1']);
    assert.deepEqual(await namesWhere({ team: 'Oslo' }), []);
    await assert.rejects(b.identify(faceOf(60, 9), { threshold: -1, where: deepObject(40) }), (e) => code(e) === 'INVALID_INPUT');

    // names: stored NFC (either form finds the subject); control, bidi and zero-width characters refused; at most
    // 100 characters; metadata at most 16 levels deep
    const jose = await a.store.createSubject('Jose\u0301');
    assert.equal(jose.name, 'Jos\u00e9');
    assert.equal((await b.subject('Jose\u0301')).id, jose.id);
    for (const bad of ['esc\u001b[31m', 'rtl\u202Eevil', 'zero\u200Bwidth', 'bom\uFEFF', '  ', 'x'.repeat(101)]) {
      await assert.rejects(a.store.createSubject(bad), (e) => code(e) === 'INVALID_INPUT', JSON.stringify(bad));
    }
    assert.equal((await a.store.createSubject('\u00e9'.repeat(100))).name.length, 100);
    await assert.rejects(a.store.createSubject('deep', deepObject(17)), (e) => code(e) === 'INVALID_INPUT');
    await assert.rejects(a.store.updateSubject(jose.id, { name: 'a\u0000b' }), (e) => code(e) === 'INVALID_INPUT');
    await assert.rejects(a.store.updateSubject(jose.id, { metadata: deepObject(4000) }), (e) => code(e) === 'INVALID_INPUT');
    for (const n of ['q1', 'q2', jose.id, '\u00e9'.repeat(100)]) await a.deleteSubject(n);

    await a.renameSubject('p5', 'five');
    await a.mergeSubjects('p6', 'p7');
    assert.equal((await a.subject('p6')).faceCount, 6);
    assert.equal(await a.store.subject('p7'), null);
    const faces = await a.facesOf('p8');
    await a.deleteFace(faces[0].id);
    assert.equal((await a.subject('p8')).faceCount, 2);
    await assert.rejects(a.deleteFace(faces[0].id), (e) => code(e) === 'FACE_NOT_FOUND');
    assert.equal(await a.deleteSubject('p9'), 3);
    assert.equal((await b.identify(faceOf(5, 9), { threshold: 0.5 })).subject?.name, 'five');
    assert.notEqual((await b.identify(faceOf(9, 9), { threshold: -1 })).candidates[0].name, 'p9');
    const page = await b.listSubjects({ offset: 0, limit: 10 });
    assert.equal(page.total, 28);

    assert.equal(page.subjects.length, 10);

    // bulk import: templates as for enrolment, visible to the other view; an existing name fails the whole batch
    await a.store.importSubjects([50, 51, 52].map((p) => ({ name: `bulk${p}`, metadata: { bulk: true }, faces: [0, 1].map((i) => ({ embedding: faceOf(p, i), imageSha256: `b${p}-${i}`, bbox: [0, 0, 1, 1] as [number, number, number, number], score: 1, quality: 1 })) })));
    assert.equal((await b.identify(faceOf(51, 9), { threshold: 0.5 })).subject?.name, 'bulk51');
    assert.equal((await b.subject('bulk52')).faceCount, 2);
    await assert.rejects(a.store.importSubjects([{ name: 'bulk60', faces: [] }, { name: 'bulk50', faces: [] }]), (e) => code(e) === 'SUBJECT_EXISTS');
    assert.equal(await a.store.subject('bulk60'), null);

    await a.setCalibration({ source: 't', bestThreshold: 0.4, points: [{ far: 0.1, threshold: 0.3 }] });
    assert.equal((await b.verify(faceOf(1, 1), faceOf(1, 2))).threshold, 0.4);

    // clustering: three unknown people, four photos each, found by the other view
    await a.addUnknown([40, 41, 42].flatMap((p) => [0, 1, 2, 3].map((i) => image(`u${p}-${i}`, faceOf(p, i)))), { minSize: 0 });
    const report = await b.cluster({ maxDistance: 0.6, minFaces: 2 });
    assert.equal(report.clusters.length, 3);
    assert.ok(report.clusters.every((c) => c.size === 4 && new Set(c.faces.map((f) => f.source!.split('-')[0])).size === 1));
    const s = await a.promoteCluster(report.clusters[0].id, 'found');
    assert.equal(s.faceCount, 4);
    assert.equal((await b.cluster({ maxDistance: 0.6, minFaces: 2 })).clusters.length, 2);
  } finally {
    await a.close();
    await b.close();
  }
}

test('store contract: in memory, persisted whole after each write (the browser store over IndexedDB)', async () => {
  let saved: GalleryState | null = null;
  let saves = 0;
  const records = new GalleryRecords(null, async (state) => {
    saved = structuredClone(state);
    saves++;
  });
  await storeContract(async () => new MemoryGalleryStore(records));
  assert.ok(saves >= 50, `${saves} saves`); // one per write: 30 subjects created with their faces, edits, imports, clusters
  // what was persisted reopens to the same gallery
  const reopened = await Gallery.open(new MemoryGalleryStore(new GalleryRecords(saved)), binding);
  assert.equal((await reopened.identify(faceOf(51, 9), { threshold: 0.5 })).subject?.name, 'bulk51');
  assert.equal((await reopened.listSubjects()).total, (await new MemoryGalleryStore(records).listSubjects()).total);
  // a failed save rolls the write back
  const failing = new GalleryRecords(saved, async () => {
    throw new Error('quota exceeded');
  });
  const store = new MemoryGalleryStore(failing);
  await assert.rejects(store.createSubject('never'), (e) => code(e) === 'STORE_UNAVAILABLE');
  assert.equal(await store.subject('never'), null);
});

test('store contract: SQLite', async () => {
  const path = join(tmp, 'contract.db');
  await storeContract(() => openStore(path));
});

test('store contract: PostgreSQL 15 from Debian (no pgvector: in-memory exact index, LISTEN/NOTIFY + change sequence)', async () => {
  const url = await postgres.database('contract');
  const probe = (await openStore(url)) as PostgresGalleryStore;
  assert.equal(probe.pgvector, false);
  await probe.close();
  await storeContract(() => openStore(url));
});

test('store contract: PGlite + pgvector over a socket (halfvec HNSW search in SQL, reranked in float32)', async () => {
  const probe = (await openStore(await pgliteUrl())) as PostgresGalleryStore;
  assert.equal(probe.pgvector, true);
  await probe.close();
  const url = await pgliteUrl();
  await storeContract(() => openStore(url));
});

test('concurrency on PostgreSQL: enrol, identify and delete from four processes: no lost write, only busy/retry', async () => {
  const url = await postgres.database('concurrent');
  const clients = [startClient(url, 'enrol', 'e1', 40), startClient(url, 'enrol', 'e2', 40), startClient(url, 'delete', 'd1', 40), startClient(url, 'identify', 'i1', 100)];
  const exits = await Promise.all(clients.map((c) => c.exit));
  assert.deepEqual(exits.map((e) => e.code), [0, 0, 0, 0], JSON.stringify(clients.map((c) => c.lines.filter((l) => l.op === 'error'))));
  assert.equal(await checkRecords(await openStore(url), clients), 40 + 40 + 20);
});

test('PostgreSQL errors are typed: unreachable server, wrong database', async () => {
  await assert.rejects(openStore('postgres://postgres@127.0.0.1:1/x'), (e) => code(e) === 'STORE_UNAVAILABLE');
  const url = (await postgres.database('exists')).replace(/\/exists$/, '/missing_db');
  await assert.rejects(openStore(url), (e) => code(e) === 'STORE_UNAVAILABLE');
});
