// Collections, enrolment review, thumbnails and imported embeddings, through the HTTP API (faceprint/client) on
// SQLite and on PostgreSQL, and through the CLI.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { FaceprintApiError, FaceprintClient } from '../src/client/index.js';
import { createServer } from '../src/http/server.js';
import { FaceAnalyzer } from '../src/node/index.js';
import { FaceGallery } from '../src/node/gallery/index.js';
import { openStore } from '../src/storage/open.js';
import { cli } from './helpers/cli.js';
import { makeClip } from './helpers/clips.js';
import { until } from './helpers/wait.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';
import { startPostgres, type TestServer as PgServer } from './helpers/postgres.js';

const BBT = join(SHARED, 'faces/identities/bbt');
const file = (p: string, n: number) => join(BBT, p, `${p}${n}.png`);
const photo = (p: string, n: number) => ({ data: readFileSync(file(p, n)), name: `${p}${n}.png` });
const apiError = (code: string, status: number) => (e: unknown) => e instanceof FaceprintApiError && e.code === code && e.status === status;

let analyzer: FaceAnalyzer;
before(async () => { analyzer = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET }); });
after(async () => { await analyzer?.close(); });

/** A single-user server on a store, and a client of it. */
async function serve(store: string): Promise<{ client: FaceprintClient; url: string; close(): Promise<void> }> {
  const gallery = await FaceGallery.open({ analyzer, store });
  const server = await createServer({ analyzer, gallery, keys: null, singleUser: true, logger: false, rateLimitPerMinute: 0 });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { client: new FaceprintClient({ baseUrl: url }), url, close: () => server.close() };
}

/** The same behaviour on each store: several collections with their own people, settings and contract. */
async function collectionsOn(store: string): Promise<void> {
  const { client, close } = await serve(store);
  try {
    assert.deepEqual((await client.listCollections()).collections.map((c) => c.name), ['default']);
    const staff = await client.createCollection('staff', { threshold: 0.5 });
    assert.deepEqual([staff.settings, staff.contract?.recognizerName, staff.contract?.dim, staff.detSizes], [{ threshold: 0.5 }, 'mobilefacenet.onnx', 128, [128, 640]]);
    await assert.rejects(client.createCollection('staff'), apiError('COLLECTION_EXISTS', 409));
    await client.createCollection('visitors', { review: 'off' });
    // one person in two collections, another in one
    await client.enroll('amy', [photo('amy', 1), photo('amy', 2)], { create: true });
    await client.enroll('amy', [photo('amy', 1)], { create: true, collection: 'staff' });
    await client.enroll('penny', [photo('penny', 1)], { create: true, collection: 'staff' });
    // each collection answers with its people and its threshold
    const inStaff = (await client.identify(photo('amy', 3), { collection: 'staff' })).faces[0];
    assert.deepEqual([inStaff.subject?.name, inStaff.threshold, inStaff.thresholdSource], ['amy', 0.5, 'collection']);
    const inDefault = (await client.identify(photo('penny', 3))).faces[0];
    assert.deepEqual([inDefault.subject, inDefault.thresholdSource], [null, 'known-model'], 'penny is staff only');
    assert.equal((await client.identify(photo('amy', 3), { collection: 'visitors' })).faces[0].subject, null);
    assert.deepEqual([(await client.threshold({ collection: 'staff' })).threshold, (await client.threshold()).threshold], [0.5, 0.27]);
    assert.deepEqual((await client.listCollections()).collections.map((c) => [c.name, c.subjects, c.faces]), [['default', 1, 2], ['staff', 2, 2], ['visitors', 0, 0]]);
    await assert.rejects(client.identify(photo('amy', 3), { collection: 'nobody' }), apiError('COLLECTION_NOT_FOUND', 404));
    await assert.rejects(client.listSubjects({ collection: '../etc' }), apiError('INVALID_INPUT', 400));
    // settings changed later are inherited by later requests
    await client.updateCollection('staff', { threshold: 0.99 });
    assert.equal((await client.identify(photo('amy', 3), { collection: 'staff' })).faces[0].subject, null);
    // embeddings made elsewhere join a collection of the same contract, and no other
    const made = await client.embeddings(photo('penny', 2), { collection: 'staff' });
    assert.equal(made.contract.id, staff.contract!.id);
    assert.equal((await client.importEmbeddings('penny', made.contract.id, [made.face.embedding!], { collection: 'staff' })).accepted.length, 1);
    await assert.rejects(client.importEmbeddings('penny', `${made.contract.id}x`, [made.face.embedding!], { collection: 'staff' }), apiError('CONTRACT_MISMATCH', 409));
    // a collection bound to another recognizer (its embeddings 512-d) refuses this one's work: 409
    const direct = await openStore(store);
    await direct.catalog!.createCollection('r50');
    await direct.catalog!.collection('r50').bind({ recognizerSha256: 'f'.repeat(64), dim: 512, recognizerName: 'w600k_r50.onnx' });
    await direct.close();
    await assert.rejects(client.identify(photo('amy', 3), { collection: 'r50' }), apiError('GALLERY_MODEL_MISMATCH', 409));
    // deleting a collection erases its people; the default one cannot be deleted
    assert.equal((await client.deleteCollection('staff')).deletedFaces, 3);
    await assert.rejects(client.collection('staff'), apiError('COLLECTION_NOT_FOUND', 404));
    await assert.rejects(client.deleteCollection('default'), apiError('INVALID_INPUT', 400));
    assert.equal((await client.subject('amy')).faceCount, 2, 'the default collection is untouched');
  } finally {
    await close();
  }
}

/** A cursor's pages stay whole while subjects are added and removed between them. */
async function cursorsOn(store: string): Promise<void> {
  const { client, close } = await serve(store);
  try {
    await client.createCollection('paging', { review: 'off' });
    const made = await client.embeddings(photo('amy', 1));
    for (const name of ['b', 'd', 'f', 'h', 'j']) await client.importEmbeddings(name, made.contract.id, [made.face.embedding!.map((v, i) => v + (i === name.charCodeAt(0) % 128 ? 0.5 : 0))], { collection: 'paging', create: true });
    const first = await client.listSubjects({ collection: 'paging', limit: 2 });
    assert.deepEqual(first.subjects.map((s) => s.name), ['b', 'd']);
    // meanwhile: one of the first page goes, a name before the cursor and one after it come
    await client.deleteSubject('b', { collection: 'paging' });
    for (const name of ['a', 'g']) await client.importEmbeddings(name, made.contract.id, [made.face.embedding!], { collection: 'paging', create: true });
    const rest: string[] = [];
    for (let cursor = first.nextCursor; cursor;) {
      const page = await client.listSubjects({ collection: 'paging', limit: 2, cursor });
      rest.push(...page.subjects.map((s) => s.name));
      cursor = page.nextCursor;
    }
    assert.deepEqual(rest, ['f', 'g', 'h', 'j'], 'nothing skipped, nothing twice');
    await assert.rejects(client.listSubjects({ collection: 'paging', cursor: 'not-a-cursor' }), apiError('INVALID_INPUT', 400));
  } finally {
    await close();
  }
}

/** Thumbnails kept, served and erased with their face, in the collections that keep them. */
async function thumbnailsOn(store: string): Promise<void> {
  const { client, close } = await serve(store);
  try {
    await client.createCollection('badges', { thumbnails: true });
    const kept = await client.enroll('amy', [photo('amy', 1)], { create: true, collection: 'badges' });
    const jpeg = Buffer.from(await (await client.thumbnail('amy', kept.accepted[0].faceId, { collection: 'badges' })).arrayBuffer());
    const meta = await sharp(jpeg).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 112, 112]);
    // the picture is a face: the detector finds one in it
    assert.equal((await analyzer.analyze(await sharp(jpeg).extend({ top: 56, bottom: 56, left: 56, right: 56, background: '#808080' }).png().toBuffer())).length, 1);
    const none = await client.enroll('amy', [photo('amy', 1)], { create: true });
    await assert.rejects(client.thumbnail('amy', none.accepted[0].faceId), apiError('FACE_NOT_FOUND', 404));
    // deleted with its face
    await client.deleteFace('amy', kept.accepted[0].faceId, { collection: 'badges' });
    await assert.rejects(client.thumbnail('amy', kept.accepted[0].faceId, { collection: 'badges' }), apiError('FACE_NOT_FOUND', 404));
  } finally {
    await close();
  }
}

/** Two servers on one store (two processes of one deployment): a collection's settings changed through one reach
 * the other's answers within the settings' few seconds, its people too; a collection deleted through one refuses
 * writes through the other at once (a 404, nothing written) and its searches within those seconds, for good. */
async function twoServersOn(store: string): Promise<void> {
  const a = await serve(store);
  const b = await serve(store);
  try {
    await a.client.createCollection('shared', { threshold: 0.3 });
    await a.client.enroll('amy', [photo('amy', 1), photo('amy', 2)], { create: true, collection: 'shared' });
    const named = (c: FaceprintClient, who: string, n: number) => c.identify(photo(who, n), { collection: 'shared' }).then((r) => r.faces[0]);
    assert.deepEqual(await named(b.client, 'amy', 3).then((f) => [f.subject?.name, f.threshold, f.thresholdSource]), ['amy', 0.3, 'collection']);
    await a.client.updateCollection('shared', { threshold: 0.99 });
    const later = await until(() => named(b.client, 'amy', 3), (f) => f.threshold === 0.99, 'the other server\'s threshold', 15_000);
    assert.equal(later.subject, null, 'no match at 0.99');
    await a.client.enroll('penny', [photo('penny', 1), photo('penny', 2)], { create: true, collection: 'shared' });
    await a.client.updateCollection('shared', { threshold: 0.3 });
    await until(() => named(b.client, 'penny', 3), (f) => f.subject?.name === 'penny', 'penny through the other server', 15_000);
    await a.client.deleteCollection('shared');
    await assert.rejects(b.client.enroll('leonard', [photo('leonard', 1)], { create: true, collection: 'shared' }), apiError('COLLECTION_NOT_FOUND', 404));
    // its searches stop within the settings' few seconds, and stay stopped (its index is let go)
    const outcome = () => b.client.identify(photo('amy', 3), { collection: 'shared' }).then((r) => r.faces[0].subject?.name ?? 'unknown', (e: FaceprintApiError) => e.code);
    await until(outcome, (v) => v === 'COLLECTION_NOT_FOUND', 'the deletion through the other server', 15_000);
    assert.deepEqual([await outcome(), await outcome()], ['COLLECTION_NOT_FOUND', 'COLLECTION_NOT_FOUND']);
    // made again, it starts empty: nothing of the refused write was kept
    await a.client.createCollection('shared');
    assert.deepEqual([(await a.client.listSubjects({ collection: 'shared' })).total, (await a.client.collection('shared')).faces], [0, 0]);
    assert.deepEqual((await b.client.listSubjects({ collection: 'shared' })).subjects, []);
  } finally {
    await a.close();
    await b.close();
  }
}

describe('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-collections-'));
  test('collections: their own people, threshold and review; settings inherited; embeddings under their contract; another recognizer refused; delete', () => collectionsOn(join(dir, 'a.db')));
  test('subject pages by cursor stay whole while subjects come and go', () => cursorsOn(join(dir, 'b.db')));
  test('two servers on one store: settings, people and a deletion reach the other', () => twoServersOn(join(dir, 'two.db')));

  test('enrolment review: standard refuses a blurred and a dark photo with each part\'s value and limit; strict a photo of someone else; off takes them', async () => {
    const { client, close } = await serve(join(dir, 'review.db'));
    try {
      const blurred = { data: await sharp(file('amy', 3)).blur(4).png().toBuffer(), name: 'amy3-blurred.png' };
      const dark = { data: await sharp(file('amy', 5)).linear(0.15, 0).png().toBuffer(), name: 'amy5-dark.png' };
      const r = await client.enroll('amy', [photo('amy', 1), blurred, dark], { create: true });
      assert.deepEqual(r.accepted.map((a) => a.source), ['amy1.png']);
      assert.ok(r.accepted[0].quality > 0.5 && r.accepted[0].quality <= 1, `quality ${r.accepted[0].quality}`);
      const bySource = Object.fromEntries(r.refused.map((x) => [x.source, x]));
      assert.equal(bySource['amy3-blurred.png'].reason, 'LOW_QUALITY');
      const sharpness = bySource['amy3-blurred.png'].review.parts.find((p) => p.name === 'sharpness')!;
      assert.ok(!sharpness.ok && sharpness.value < sharpness.min && sharpness.min === 20, JSON.stringify(sharpness));
      assert.match(bySource['amy3-blurred.png'].message, /^low quality: sharpness \d+(\.\d)? \(min 20\)/);
      const darkParts = bySource['amy5-dark.png'].review.parts.filter((p) => !p.ok).map((p) => p.name);
      assert.ok(darkParts.includes('brightness') && darkParts.includes('contrast'), darkParts.join());
      // every part is reported, passed or not
      assert.deepEqual(bySource['amy5-dark.png'].review.parts.map((p) => p.name), ['sharpness', 'brightness', 'contrast', 'size', 'score']);
      // strict: a photo of penny enrolled as amy matches penny better
      await client.enroll('penny', [photo('penny', 1), photo('penny', 2)], { create: true });
      const strict = await client.enroll('amy', [photo('penny', 3), photo('amy', 2)], { review: 'strict' });
      assert.deepEqual(strict.accepted.map((a) => a.source), ['amy2.png']);
      const m = strict.refused[0];
      assert.equal(m.reason, 'MISLABELLED');
      assert.equal(m.matches.closest.name, 'penny');
      assert.ok(m.matches.closest.score > (m.matches.claimed.score ?? -1), JSON.stringify(m.matches));
      assert.match(m.message, /^matches penny better \(0\.\d{3}\) than 0\.\d{3} with amy$/);
      // off: the blurred photo is taken as it is
      assert.deepEqual((await client.enroll('amy', [blurred], { review: 'off' })).accepted.map((a) => a.source), ['amy3-blurred.png']);
    } finally {
      await close();
    }
  });

  test('thumbnails: kept as a 112×112 JPEG per face only where the collection keeps them', () => thumbnailsOn(join(dir, 'thumbs.db')));

  test('a camera names the people of its own collection', { timeout: 60_000 }, async () => {
    const clip = join(dir, 'penny.mp4');
    await makeClip(clip, Array.from({ length: 60 }, () => ({ background: [120, 130, 140] as [number, number, number], faces: [{ person: 'penny', x: 250, y: 90, size: 170 }] })));
    const gallery = await FaceGallery.open({ analyzer, store: join(dir, 'cameras.db') });
    const server = await createServer({ analyzer, gallery, keys: null, singleUser: true, logger: false, rateLimitPerMinute: 0, monitors: { secretFile: join(dir, 'monitor.key') } });
    const client = new FaceprintClient({ baseUrl: await server.listen({ host: '127.0.0.1', port: 0 }) });
    try {
      await client.createCollection('lobby');
      await client.enroll('penny', [photo('penny', 1), photo('penny', 2)], { create: true, collection: 'lobby' });
      await assert.rejects(client.createMonitor({ name: 'x', source: clip, collection: 'nope' }), apiError('COLLECTION_NOT_FOUND', 404));
      const lobby = await client.createMonitor({ name: 'lobby door', source: clip, collection: 'lobby', cooldownS: 1 });
      const hall = await client.createMonitor({ name: 'hall', source: clip, cooldownS: 1 });
      assert.deepEqual([lobby.collection, hall.collection], ['lobby', 'default']);
      const firstOf = async (id: string) => (await until(async () => (await client.monitorEvents(id)).events.find((e) => e.type.endsWith('-enter')), (e) => e !== undefined, `an enter event of ${id}`, 40_000))!;
      const [inLobby, inHall] = await Promise.all([firstOf(lobby.id), firstOf(hall.id)]);
      assert.deepEqual([inLobby.type, inLobby.subject?.name], ['person-enter', 'penny']);
      assert.deepEqual([inHall.type, inHall.subject], ['unknown-enter', null], 'penny is no one in the default collection');
    } finally {
      await server.close();
    }
  });

  test('the CLI: faceprint collections create/list/delete, --collection on enroll, identify and subjects', async () => {
    const store = join(dir, 'cli.db');
    const M = ['--detector', DET_500M, '--recognizer', MOBILEFACENET, '--store', store];
    assert.equal((await cli(['enroll', 'amy', file('amy', 1), ...M])).code, 0);
    const created = await cli(['collections', 'create', 'staff', '--threshold', '0.5', '--review', 'strict', '--store', store]);
    assert.match(created.stdout, /^created staff {2}0 subjects, 0 faces {2}not bound yet {2}threshold=0\.5 review=strict/);
    assert.equal((await cli(['enroll', 'penny', file('penny', 1), file('penny', 2), '--collection', 'staff', ...M])).code, 0);
    const id = await cli(['identify', file('penny', 3), '--collection', 'staff', '--json', ...M]);
    assert.equal(JSON.parse(id.stdout.trim().split('\n')[0]).faces[0].subject.name, 'penny');
    assert.match((await cli(['identify', file('penny', 3), ...M])).stdout, /unknown/, 'penny is not in the default collection');
    const list = await cli(['collections', 'list', '--store', store]);
    assert.deepEqual(list.stdout.trim().split('\n'), [
      'default  1 subject, 1 face  mobilefacenet.onnx 128-d',
      'staff  1 subject, 2 faces  mobilefacenet.onnx 128-d  threshold=0.5 review=strict',
    ]);
    const missing = await cli(['subjects', 'list', '--collection', 'nope', '--store', store]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /COLLECTION_NOT_FOUND: no collection "nope" .*faceprint collections create nope/);
    assert.match((await cli(['collections', 'delete', 'staff', '--store', store])).stdout, /^deleted staff \(2 faces erased\)/);
  });
});

describe('PostgreSQL', () => {
  let pg: PgServer;
  before(async () => { pg = await startPostgres(); });
  after(() => pg?.stop());
  test('collections: the same on PostgreSQL', async () => collectionsOn(await pg.database('collections')));
  test('subject pages by cursor stay whole on PostgreSQL', async () => cursorsOn(await pg.database('cursors')));
  test('two servers on one PostgreSQL database: settings, people and a deletion reach the other', async () => twoServersOn(await pg.database('two')));
  test('thumbnails on PostgreSQL', async () => thumbnailsOn(await pg.database('thumbnails')));
});

test('face selection: insightface, largest and center_largest pick by their rules on a photo of two people (embeddings, verify)', async () => {
  const { client, close } = await serve(join(mkdtempSync(join(tmpdir(), 'faceprint-select-')), 'select.db'));
  try {
    // amy small near the centre, penny large at the right edge: largest picks penny, the centre rules amy
    const amy = await sharp(file('amy', 1)).resize(120, 120).toBuffer();
    const penny = await sharp(file('penny', 1)).resize(300, 300).toBuffer();
    const two = await sharp({ create: { width: 900, height: 400, channels: 3, background: '#7f8c8d' } }).composite([{ input: amy, left: 390, top: 140 }, { input: penny, left: 590, top: 50 }]).jpeg().toBuffer();
    const image = { data: two, name: 'two.jpg' };
    const pick = async (select: 'insightface' | 'largest' | 'center_largest') => (await client.embeddings(image, { select })).face.bbox[0];
    const [ins, largest, central] = [await pick('insightface'), await pick('largest'), await pick('center_largest')];
    assert.ok(largest > 550, `largest: the big face at the right (x ${largest})`);
    assert.ok(central > 350 && central < 550 && ins > 350 && ins < 550, `centre rules: the face near the centre (x ${central}, ${ins})`);
    assert.equal((await client.embeddings(image)).faces, 2);
    const same = await client.verify(image, photo('penny', 2), { select: 'largest' });
    const other = await client.verify(image, photo('penny', 2), { select: 'center_largest' });
    assert.ok(same.same && !other.same, `largest is penny (${same.score.toFixed(3)}), the central one amy (${other.score.toFixed(3)})`);
  } finally {
    await close();
  }
});
