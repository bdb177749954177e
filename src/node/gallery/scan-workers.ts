import { Worker } from 'node:worker_threads';
import type { ExactIndex } from '../../core/matching/exact-index.js';
import { instantiateKernels, scanRows, type Kernels, type ScanLayout } from '../../core/matching/scan-kernels.js';
import { chunkRows, scanChunks, type ScanJob } from './scan-chunks.js';

/**
 * Splits the exact index's scans over worker threads that share its WebAssembly memory. The rows are cut into
 * chunks that the calling thread and the workers take from a shared counter, so `threads` is the total parallelism
 * and a worker that wakes late or is descheduled (a shared 2-core VM does both) leaves its share to the others
 * instead of holding the scan up: the scan returns once every chunk is done, whoever did it. Worth it from a few
 * tens of thousands of rows; below that a postMessage round trip costs more than the scan.
 */
export class ScanWorkers {
  private readonly workers: { worker: Worker; outstanding: number }[] = [];
  /** Replies not yet received, by job id (also those of scans that returned early: close() waits for them). */
  private pending = new Map<number, { done: () => void; reply: Promise<void> }>();
  private nextId = 1;
  /** [generation << 20 | next chunk, rows done]: see scan-chunks.ts. */
  private readonly control = new Int32Array(new SharedArrayBuffer(8));
  private generation = 0;

  private constructor(private readonly threads: number) {}

  static async start(index: ExactIndex, threads: number): Promise<ScanWorkers> {
    if (!index.shared) throw new Error('ScanWorkers needs an ExactIndex created with shared: true');
    const pool = new ScanWorkers(Math.max(1, threads));
    const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    const url = new URL(`./scan-worker.${ext}`, import.meta.url);
    const memory = index.layout().memory;
    const workerData = { memory, control: pool.control };
    for (let i = 0; i < pool.threads - 1; i++) {
      // under tsx (tests, benches) the worker registers the TypeScript loader before importing its module
      const worker =
        ext === 'ts'
          ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData })
          : new Worker(url, { workerData });
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      const entry = { worker, outstanding: 0 };
      worker.on('message', (id: number) => {
        const job = pool.pending.get(id);
        pool.pending.delete(id);
        // idle workers are unref'd; one keeps the process alive while a job of it is out
        if (--entry.outstanding === 0) worker.unref();
        job?.done();
      });
      worker.unref();
      pool.workers.push(entry);
    }
    const kernels = await instantiateKernels(memory, true);
    index.useScanner((layout) => pool.scan(layout, kernels));
    return pool;
  }

  private async scan(layout: ScanLayout, kernels: Kernels): Promise<void> {
    const { memory: _memory, ...offsets } = layout;
    this.generation = (this.generation + 1) & 0xfff;
    const job: Omit<ScanJob, 'id'> = { layout: offsets, generation: this.generation, chunk: chunkRows(layout.rows, this.threads), rows: layout.rows };
    Atomics.store(this.control, 1, 0);
    Atomics.store(this.control, 0, this.generation << 20);
    const replies: Promise<void>[] = [];
    for (const entry of this.workers) {
      const id = this.nextId++;
      let done = (): void => undefined;
      const reply = new Promise<void>((resolve) => (done = resolve));
      this.pending.set(id, { done, reply });
      replies.push(reply);
      if (entry.outstanding++ === 0) entry.worker.ref();
      entry.worker.postMessage({ ...job, id });
    }
    scanChunks(this.control, job, (from, to) => scanRows(kernels, layout, from, to));
    // Every chunk taken and none still running: done, even if a worker has not woken up yet (it will find none).
    if (Atomics.load(this.control, 1) === layout.rows) return;
    await Promise.all(replies);
  }

  async close(): Promise<void> {
    // Terminating a worker with jobs still queued (those of scans that returned early) can leave terminate()'s
    // promise unresolved in Node 20; they end quickly (each finds no chunk left), so let them.
    await Promise.all([...this.pending.values()].map((p) => p.reply));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
