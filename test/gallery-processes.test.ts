import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteGalleryStore } from '../src/storage/sqlite.js';
import { checkRecords, startClient } from './helpers/gallery-clients.js';

const tmp = mkdtempSync(join(tmpdir(), 'faceprint-procs-'));
test('durability: enrolling processes SIGKILLed mid-write lose no acknowledged enrolment and leave nothing half-written', async () => {
  const path = join(tmp, 'durable.db');
  const clients = ['w1', 'w2', 'w3'].map((id) => startClient(path, 'enrol', id, 100_000));
  // let them write concurrently for a while, then kill all three without warning
  await new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (clients.every((c) => c.lines.filter((l) => l.op === 'enrolled').length >= 30)) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > 60_000) {
        clearInterval(timer);
        clients.forEach((c) => c.kill());
        reject(new Error(`clients did not reach 30 enrolments each in 60 s: ${clients.map((c) => c.lines.filter((l) => l.op === 'enrolled').length).join(', ')}`));
      }
    }, 20);
  });
  clients.forEach((c) => c.kill());
  const exits = await Promise.all(clients.map((c) => c.exit));
  assert.deepEqual(exits.map((e) => e.signal), ['SIGKILL', 'SIGKILL', 'SIGKILL']);
  assert.equal(clients.flatMap((c) => c.lines).filter((l) => l.op === 'error').length, 0);

  const db = new Database(path);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  // no face without its subject, no subject whose count or template disagrees with its faces
  assert.equal(db.prepare('SELECT count(*) FROM faces f LEFT JOIN subjects s ON s.id = f.subject_id WHERE f.subject_id IS NOT NULL AND s.id IS NULL').pluck().get(), 0);
  assert.equal(db.prepare('SELECT count(*) FROM subjects s WHERE face_count != (SELECT count(*) FROM faces f WHERE f.subject_id = s.id)').pluck().get(), 0);
  db.close();
  const checked = await checkRecords(SqliteGalleryStore.open(path), clients);
  assert.ok(checked >= 90, `${checked} acknowledged enrolments checked`);
});

test('concurrency: enrol, identify and delete from four processes on one SQLite file: no lost write, only busy/retry', async () => {
  const path = join(tmp, 'concurrent.db');
  const clients = [
    startClient(path, 'enrol', 'e1', 60),
    startClient(path, 'enrol', 'e2', 60),
    startClient(path, 'delete', 'd1', 60),
    startClient(path, 'identify', 'i1', 200),
  ];
  const exits = await Promise.all(clients.map((c) => c.exit));
  assert.deepEqual(exits.map((e) => e.code), [0, 0, 0, 0], JSON.stringify(clients.map((c) => c.lines.filter((l) => l.op === 'error'))));
  assert.equal(clients[3].lines.filter((l) => l.op === 'identified').length, 200);
  const checked = await checkRecords(SqliteGalleryStore.open(path), clients);
  assert.equal(checked, 60 + 60 + 30);
});
