// Gallery schema versions: a store of an older release is migrated when opened (one transaction), a newer one is
// refused and left as it is — in SQLite and in PostgreSQL alike.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { FaceprintError } from '../src/core/errors.js';
import { GALLERY_SCHEMA_VERSION } from '../src/storage/common.js';
import { openStore } from '../src/storage/open.js';
import { startPostgres, type TestServer } from './helpers/postgres.js';

const tmp = mkdtempSync(join(tmpdir(), 'faceprint-schema-'));
const PREVIOUS_RELEASE_STORE = join(import.meta.dirname, 'data/gallery-0.1.0-b6043e9.db');

test('this release writes schema 2', () => assert.equal(GALLERY_SCHEMA_VERSION, 2));

describe('SQLite', () => {
  const inspect = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return {
        schema: db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get(),
        unassignedIndex: db.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'faces_unassigned'`).pluck().get(),
        subjects: db.prepare('SELECT count(*) FROM subjects').pluck().get(),
      };
    } finally {
      db.close();
    }
  };

  test('the previous release\'s gallery (schema 1) is migrated to 2 when opened: the index added, its people kept', async () => {
    const path = join(tmp, 'previous.db');
    copyFileSync(PREVIOUS_RELEASE_STORE, path);
    const before = inspect(path);
    assert.deepEqual([before.schema, before.unassignedIndex], ['1', 0]);
    const store = await openStore(path);
    await store.close();
    assert.deepEqual(inspect(path), { schema: '2', unassignedIndex: 1, subjects: before.subjects });
  });

  test('a gallery of a later schema is refused (STORE_INVALID) and left unchanged', async () => {
    const path = join(tmp, 'later.db');
    copyFileSync(PREVIOUS_RELEASE_STORE, path);
    const db = new Database(path);
    db.prepare(`UPDATE meta SET value = '3' WHERE key = 'schema'`).run();
    db.close();
    await assert.rejects(openStore(path), (e: unknown) => e instanceof FaceprintError && e.code === 'STORE_INVALID' && /schema 3; this faceprint reads up to 2/.test(e.message));
    assert.deepEqual([inspect(path).schema, inspect(path).unassignedIndex], ['3', 0]);
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
  const inspect = (url: string) => sql(url, async (c) => ({
    schema: (await c.query(`SELECT value FROM faceprint_meta WHERE key = 'schema'`)).rows[0]?.value ?? null,
    unassignedIndex: (await c.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'faceprint_faces_unassigned'`)).rows[0].n,
  }));

  test('a new store records schema 2; one of the first release (tables, no version) is migrated to 2', async () => {
    const url = await server.database('schema_first');
    await (await openStore(url)).close();
    assert.deepEqual(await inspect(url), { schema: 2, unassignedIndex: 1 });
    // the first release's store: the same tables, without the index and without a version
    await sql(url, (c) => c.query(`DROP INDEX faceprint_faces_unassigned; DELETE FROM faceprint_meta WHERE key = 'schema'`));
    assert.deepEqual(await inspect(url), { schema: null, unassignedIndex: 0 });
    await (await openStore(url)).close();
    assert.deepEqual(await inspect(url), { schema: 2, unassignedIndex: 1 });
  });

  test('a store of a later schema is refused (STORE_INVALID) and left unchanged', async () => {
    const url = await server.database('schema_later');
    await (await openStore(url)).close();
    await sql(url, (c) => c.query(`UPDATE faceprint_meta SET value = '3' WHERE key = 'schema'; DROP INDEX faceprint_faces_unassigned`));
    await assert.rejects(openStore(url), (e: unknown) => e instanceof FaceprintError && e.code === 'STORE_INVALID' && /schema 3; this faceprint reads up to 2/.test(e.message));
    assert.deepEqual(await inspect(url), { schema: 3, unassignedIndex: 0 });
  });
});
