import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Gallery } from '../src/core/gallery/gallery.js';
import { templateOf } from '../src/core/gallery/template.js';
import type { GalleryStore, ModelBinding } from '../src/core/gallery/types.js';
import { SqliteGalleryStore } from '../src/storage/sqlite.js';

const tmp = mkdtempSync(join(tmpdir(), 'faceprint-procs-'));
const binding: ModelBinding = { recognizerSha256: 'a'.repeat(64), dim: 128, recognizerName: 'test.onnx' };
const CLIENT = new URL('./helpers/gallery-client.ts', import.meta.url).pathname;

interface Client {
  lines: Record<string, unknown>[];
  exit: Promise<{ code: number | null; signal: string | null }>;
  kill: () => void;
}

export function startClient(store: string, role: string, id: string, count: number): Client {
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, store, role, id, String(count), JSON.stringify(binding)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { lines, exit, kill: () => child.kill('SIGKILL') };
}

/** Every acknowledged enrolment is there with its faces (unless acknowledged deleted); templates match faces; the index agrees. */
export async function checkRecords(store: GalleryStore, clients: Client[]): Promise<number> {
  const gallery = await Gallery.open(store, binding);
  let checked = 0;
  try {
    for (const c of clients) {
      const deleted = new Set(c.lines.filter((l) => l.op === 'deleted').map((l) => l.subject));
      for (const l of c.lines.filter((l) => l.op === 'enrolled')) {
        const s = await store.subject(l.subject as string);
        if (deleted.has(l.subject)) {
          assert.equal(s, null, `${l.subject} was deleted`);
          continue;
        }
        assert.ok(s, `acknowledged enrolment ${l.subject} is missing`);
        assert.equal(s.faceCount, l.faces);
        const faces = await store.facesOf(s.id);
        assert.equal(faces.length, l.faces);
        // the index holds the template recomputed from the faces, and finds the subject by it
        const template = templateOf(faces.map((f) => f.embedding))!;
        const hit = (await gallery.identify(template, { threshold: 0.99, k: 1 })).subject;
        assert.equal(hit?.subjectId, s.id);
        assert.ok(Math.abs(hit!.score - 1) < 1e-5);
        checked++;
      }
    }
  } finally {
    await gallery.close();
  }
  return checked;
}

test('durability: enrolling processes SIGKILLed mid-write lose no acknowledged enrolment and leave nothing half-written', async () => {
  const path = join(tmp, 'durable.db');
  const clients = ['w1', 'w2', 'w3'].map((id) => startClient(path, 'enrol', id, 100_000));
  // let them write concurrently for a while, then kill all three without warning
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (clients.every((c) => c.lines.filter((l) => l.op === 'enrolled').length >= 30)) {
        clearInterval(timer);
        resolve();
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
