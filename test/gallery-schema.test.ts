// Gallery schema versions: a store of an older release is migrated when opened (one transaction), a newer one is
// refused and left as it is — in SQLite and in PostgreSQL alike. Schema 3 (collections): a store written by the
// release before it opens unchanged as the default collection.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { FaceprintError } from '../src/core/errors.js';
import type { GalleryStore } from '../src/core/gallery/types.js';
import { FaceAnalyzer } from '../src/node/index.js';
import { FaceGallery } from '../src/node/gallery/index.js';
import { GALLERY_SCHEMA_VERSION } from '../src/storage/common.js';
import { openStore } from '../src/storage/open.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';
import { postgresBin, startPostgres, type TestServer } from './helpers/postgres.js';

const tmp = mkdtempSync(join(tmpdir(), 'faceprint-schema-'));
const FIRST_RELEASE_STORE = join(import.meta.dirname, 'data/gallery-0.1.0-b6043e9.db');
/** Written by the release before collections (schema 2, commit 324dcda): amy and penny (2 photos each, penny with
 * metadata), three raj photos clustered, a calibration and a monitors record. */
const SCHEMA2_STORE = join(import.meta.dirname, 'data/gallery-schema2-324dcda.db');
const SCHEMA2_DUMP = join(import.meta.dirname, 'data/gallery-schema2-324dcda.pg.sql');
const photo = (p: string, n: number) => join(SHARED, 'faces/identities/bbt', p, `${p}${n}.png`);

let analyzer: FaceAnalyzer;
before(async () => { analyzer = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET }); });
after(async () => { await analyzer?.close(); });

test('this release writes schema 3', () => assert.equal(GALLERY_SCHEMA_VERSION, 3));

/** What a store written by the previous release holds, read through this release: all of it, as the default collection. */
async function assertPreviousReleaseKept(store: GalleryStore): Promise<void> {
  const collections = await store.catalog!.listCollections();
  assert.deepEqual(collections.map((c) => [c.name, c.subjects, c.faces, c.binding?.recognizerName, c.binding?.dim]), [['default', 2, 7, 'mobilefacenet.onnx', 128]]);
  assert.equal(store.collectionName, 'default');
  const { subjects } = await store.listSubjects();
  assert.deepEqual(subjects.map((s) => [s.name, s.faceCount, s.metadata]), [['amy', 2, {}], ['penny', 2, { team: 'physics' }]]);
  assert.equal((await store.calibration())?.bestThreshold, 0.31);
  assert.deepEqual(await store.serviceRecord!('monitors'), [{ id: 'm1', name: 'door' }]);
  assert.equal((await store.unassignedFaces()).filter((f) => f.clusterId).length, 3);
  // the gallery works on it as before: identify, with the stored calibration's threshold
  const g = await FaceGallery.open({ analyzer, store });
  const [hit] = await g.identify(photo('amy', 3));
  assert.equal(hit.subject?.name, 'amy');
  assert.deepEqual([hit.threshold, hit.thresholdSource], [0.31, 'calibration']);
  assert.deepEqual((await g.gallery.clusters()).clusters.map((c) => c.size), [3]);
  // and a new collection may have its own amy
  const staff = await store.catalog!.createCollection('staff');
  assert.equal(staff.subjects, 0);
  const other = await FaceGallery.open({ analyzer, store: store.catalog!.collection('staff') });
  await other.enroll('amy', [photo('amy', 4)]);
  assert.deepEqual((await other.gallery.listSubjects()).subjects.map((s) => [s.name, s.faceCount]), [['amy', 1]]);
  assert.deepEqual((await store.listSubjects()).subjects.map((s) => [s.name, s.faceCount]), [['amy', 2], ['penny', 2]], 'the default collection is untouched');
  await other.close();
  await g.close();
}

describe('SQLite', () => {
  const inspect = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return {
        schema: db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get(),
        collections: db.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'collections'`).pluck().get(),
        subjects: db.prepare('SELECT count(*) FROM subjects').pluck().get(),
      };
    } finally {
      db.close();
    }
  };

  test('the first release\'s gallery (schema 1) is migrated to 3 when opened, its people kept', async () => {
    const path = join(tmp, 'first.db');
    copyFileSync(FIRST_RELEASE_STORE, path);
    const before = inspect(path);
    assert.deepEqual([before.schema, before.collections], ['1', 0]);
    await (await openStore(path)).close();
    assert.deepEqual(inspect(path), { schema: '3', collections: 1, subjects: before.subjects });
  });

  test('a gallery written by the release before collections (schema 2) opens unchanged as the default collection', async () => {
    const path = join(tmp, 'schema2.db');
    copyFileSync(SCHEMA2_STORE, path);
    assert.deepEqual([inspect(path).schema, inspect(path).collections], ['2', 0]);
    await assertPreviousReleaseKept(await openStore(path));
    assert.equal(inspect(path).schema, '3');
    // the foreign key from faces to subjects survived the subjects table's rebuild: deleting a subject takes its faces
    const db = new Database(path);
    try {
      assert.deepEqual(db.pragma('foreign_key_check'), []);
    } finally {
      db.close();
    }
    const store = await openStore(path);
    await store.deleteSubject((await store.subject('penny'))!.id);
    assert.equal((await store.catalog!.collectionInfo('default'))!.faces, 5);
    await store.close();
  });

  test('a gallery of a later schema is refused (STORE_INVALID) and left unchanged', async () => {
    const path = join(tmp, 'later.db');
    copyFileSync(FIRST_RELEASE_STORE, path);
    const db = new Database(path);
    db.prepare(`UPDATE meta SET value = '4' WHERE key = 'schema'`).run();
    db.close();
    await assert.rejects(openStore(path), (e: unknown) => e instanceof FaceprintError && e.code === 'STORE_INVALID' && /schema 4; this faceprint reads up to 3/.test(e.message));
    assert.deepEqual([inspect(path).schema, inspect(path).collections], ['4', 0]);
  });
});

describe('PostgreSQL', () => {
  let server: TestServer;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server.stop());

  const sql = async <T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const schemaOf = (url: string) => sql(url, async (c) => (await c.query(`SELECT value FROM faceprint_meta WHERE key = 'schema'`)).rows[0]?.value ?? null);

  test('a new store records schema 3 with its default collection', async () => {
    const url = await server.database('schema_new');
    const store = await openStore(url);
    assert.deepEqual((await store.catalog!.listCollections()).map((c) => c.name), ['default']);
    await store.close();
    assert.equal(await schemaOf(url), 3);
  });

  test('a gallery written by the release before collections (schema 2, restored from its pg_dump) opens unchanged as the default collection', async () => {
    const url = await server.database('schema_two');
    execFileSync(join(postgresBin(), 'psql'), ['-q', '-v', 'ON_ERROR_STOP=1', '-f', SCHEMA2_DUMP, url], { stdio: ['ignore', 'ignore', 'pipe'] });
    assert.equal(await schemaOf(url), 2);
    await assertPreviousReleaseKept(await openStore(url));
    assert.equal(await schemaOf(url), 3);
  });

  test('a store of a later schema is refused (STORE_INVALID) and left unchanged', async () => {
    const url = await server.database('schema_later');
    await (await openStore(url)).close();
    await sql(url, (c) => c.query(`UPDATE faceprint_meta SET value = '4' WHERE key = 'schema'`));
    await assert.rejects(openStore(url), (e: unknown) => e instanceof FaceprintError && e.code === 'STORE_INVALID' && /schema 4; this faceprint reads up to 3/.test(e.message));
    assert.equal(await schemaOf(url), 4);
  });
});
