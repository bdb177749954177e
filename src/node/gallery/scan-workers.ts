import { Worker } from 'node:worker_threads';
import { instantiateKernels, scanRows, type ExactIndex, type Kernels, type ScanLayout } from '../../core/matching/exact-index.js';

/**
 * Splits the exact index's int8 scan over worker threads that share its WebAssembly memory. The calling thread
 * scans one slice itself, so `threads` is the total parallelism. Worth it from a few tens of thousands of rows;
 * below that a postMessage round trip costs more than the scan.
 */
export class ScanWorkers {
  private readonly workers: Worker[] = [];
  private pending = new Map<number, () => void>();
  private nextId = 1;

  private constructor(private readonly threads: number) {}

  static async start(index: ExactIndex, threads: number): Promise<ScanWorkers> {
    if (!index.shared) throw new Error('ScanWorkers needs an ExactIndex created with shared: true');
    const pool = new ScanWorkers(Math.max(1, threads));
    const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    const url = new URL(`./scan-worker.${ext}`, import.meta.url);
    const memory = index.layout().memory;
    for (let i = 0; i < pool.threads - 1; i++) {
      // under tsx (tests, benches) the worker registers the TypeScript loader before importing its module
      const worker =
        ext === 'ts'
          ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, {
              eval: true,
              workerData: { memory },
            })
          : new Worker(url, { workerData: { memory } });
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      worker.on('message', (id: number) => {
        const done = pool.pending.get(id);
        pool.pending.delete(id);
        done?.();
      });
      worker.unref();
      pool.workers.push(worker);
    }
    const kernels = await instantiateKernels(memory, true);
    index.useScanner((layout) => pool.scan(layout, kernels));
    return pool;
  }

  private async scan(layout: ScanLayout, kernels: Kernels): Promise<void> {
    const { memory: _memory, ...offsets } = layout;
    const parts = this.workers.length + 1;
    // slices in multiples of 16 rows so the kernels' blocks (4 rows int8, 16 rows sketch) stay whole
    const slice = Math.ceil(layout.rows / parts / 16) * 16;
    const jobs: Promise<void>[] = [];
    for (let w = 0; w < this.workers.length; w++) {
      const from = Math.min(layout.rows, (w + 1) * slice);
      const to = Math.min(layout.rows, from + slice);
      if (from >= to) continue;
      const id = this.nextId++;
      jobs.push(new Promise<void>((resolve) => this.pending.set(id, resolve)));
      this.workers[w].ref(); // keep the process alive while a slice is out (idle workers are unref'd)
      this.workers[w].postMessage({ id, layout: offsets, from, to });
    }
    scanRows(kernels, layout, 0, Math.min(slice, layout.rows));
    await Promise.all(jobs);
    for (const w of this.workers) w.unref();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
