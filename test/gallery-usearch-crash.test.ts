import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Gallery } from '../src/core/gallery/gallery.js';
import { UsearchAccelerator } from '../src/node/gallery/usearch-accelerator.js';
import { SqliteGalleryStore } from '../src/storage/sqlite.js';
import { binding } from './helpers/gallery-clients.js';
import { gaussian } from './helpers/vectors.js';

const SAVER = new URL('./helpers/usearch-saver.ts', import.meta.url).pathname;

test('usearch cache: a process SIGKILLed while saving leaves the old pair or the new one, never an index without its map', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'faceprint-usearch-crash-'));
  const path = join(tmp, 'g.db');
  const cachePath = join(tmp, 'g.usearch');
  const store = SqliteGalleryStore.open(path);
  await store.bind(binding);
  await store.importSubjects(Array.from({ length: 4000 }, (_, i) => ({
    name: `s${i}`, faces: [{ embedding: gaussian(binding.dim, 5000 + i), imageSha256: `i${i}`, bbox: [0, 0, 1, 1] as [number, number, number, number], score: 1, quality: 1 }],
  })));
  await store.close();
  // Twelve kills at random moments of a loop that spends most of its time saving (4000 rows per save).
  for (let round = 0; round < 12; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', SAVER, path, cachePath], { stdio: ['ignore', 'pipe', 'inherit'] });
    let saves = 0;
    child.stdout.on('data', (d: Buffer) => (saves += String(d).split('\n').filter(Boolean).length));
    const exited = new Promise((r) => child.on('close', r));
    const started = Date.now();
    while (saves < 2 && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 5));
    assert.ok(saves >= 2, 'the saver did not start');
    await new Promise((r) => setTimeout(r, Math.random() * 40));
    child.kill('SIGKILL');
    await exited;
    const gallery = await Gallery.open(SqliteGalleryStore.open(path), binding);
    try {
      const up = await UsearchAccelerator.attach(gallery); // built from the records: the size to expect
      const loaded = await UsearchAccelerator.attach(gallery, { cachePath });
      assert.equal(loaded.source, 'cache', `round ${round}: the cache was not loadable after a kill (files: ${readdirSync(tmp).join(', ')})`);
      assert.equal(loaded.accelerator.size, up.accelerator.size, `round ${round}: caught up to every template`);
    } finally {
      await gallery.close();
    }
    // at most the current pair's index and one orphan of the killed save remain; the next save clears orphans
    assert.ok(readdirSync(tmp).filter((f) => /^g\.usearch\.[0-9a-z]+-\d+-[0-9a-z]+$/.test(f)).length <= 2, readdirSync(tmp).join(', '));
  }
});
