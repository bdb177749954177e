import type { ScanLayout } from '../../core/matching/scan-kernels.js';

/** A scan handed to a worker thread: its layout, and which scan (generation) its chunks belong to. */
export interface ScanJob {
  id: number;
  layout: Omit<ScanLayout, 'memory'>;
  generation: number;
  /** Rows per chunk (a multiple of 16, so the kernels' blocks stay whole). */
  chunk: number;
  rows: number;
}

/** Rows per chunk: about 8 chunks per thread, whole 16-row blocks, at least 256 rows. */
export function chunkRows(rows: number, threads: number): number {
  return Math.max(256, Math.ceil(rows / (8 * threads) / 16) * 16);
}

/**
 * Takes chunks of a scan until none is left and runs each. control[0] holds generation << 20 | next chunk, so a
 * worker that wakes up after its scan ended (the next scan has another generation) takes nothing: the check and
 * the take are one compare-and-swap. control[1] counts the rows done.
 */
export function scanChunks(control: Int32Array, job: Omit<ScanJob, 'id'>, run: (from: number, to: number) => void): void {
  const chunks = Math.ceil(job.rows / job.chunk);
  for (;;) {
    const state = Atomics.load(control, 0);
    if (state >>> 20 !== job.generation) return;
    const next = state & 0xfffff;
    if (next >= chunks) return;
    if (Atomics.compareExchange(control, 0, state, state + 1) !== state) continue;
    const from = next * job.chunk;
    const to = Math.min(job.rows, from + job.chunk);
    run(from, to);
    Atomics.add(control, 1, to - from);
  }
}
