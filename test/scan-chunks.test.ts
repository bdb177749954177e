import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkRows, scanChunks, type ScanJob } from '../src/node/gallery/scan-chunks.js';

const layout = {} as ScanJob['layout'];

test('scan chunks: takers share the rows, each row scanned exactly once; a job of an ended scan takes nothing', () => {
  for (const generation of [5, 0xfff]) {
    // 0xfff << 20 sets the sign bit of the control word: generations must survive it
    const control = new Int32Array(new SharedArrayBuffer(8));
    const job = { layout, generation, chunk: chunkRows(10_000, 2), rows: 10_000 };
    assert.equal(job.chunk % 16, 0);
    Atomics.store(control, 0, generation << 20);
    const seen = new Uint8Array(job.rows);
    const mark = (from: number, to: number) => {
      for (let r = from; r < to; r++) seen[r]++;
    };
    // taker A does one chunk, during which taker B (a worker) takes all the others
    let nested = false;
    scanChunks(control, job, (from, to) => {
      mark(from, to);
      if (!nested) {
        nested = true;
        scanChunks(control, job, mark);
      }
    });
    assert.ok(seen.every((n) => n === 1), 'every row once');
    assert.equal(Atomics.load(control, 1), job.rows, 'rows done counted');

    // the next scan starts: a worker that only now gets the old job must not take its chunks
    const next = (generation + 1) & 0xfff;
    Atomics.store(control, 1, 0);
    Atomics.store(control, 0, next << 20);
    let taken = 0;
    scanChunks(control, job, () => taken++);
    assert.equal(taken, 0);
    scanChunks(control, { ...job, generation: next }, () => taken++);
    assert.equal(taken, Math.ceil(job.rows / job.chunk));
  }
});
