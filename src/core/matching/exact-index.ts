import { FaceprintError } from '../errors.js';
import { SketchCodec, type QuerySketch } from './sketch.js';
import { instantiateKernels, scanRows, type Kernels, type RowScanner, type ScanLayout } from './scan-kernels.js';
import { likelyThreshold, kthLargest, TopK } from './top-k.js';
import { normalised, quantise } from './int8-codes.js';

/** One search result: the id given at insert and its exact cosine to the query. */
export interface SearchHit {
  id: string;
  score: number;
}

export interface SearchOptions {
  /** Only ids for which this returns true are returned; evaluated during the scan, on candidates only. */
  filter?: (id: string) => boolean;
  /**
   * Use the 1-bit sketch stage (index created with `sketch: true`): an eighth of the bytes scanned, results exact
   * unless an estimate errs by more than the bound (see sketch.ts); without it the int8 stage, exact always.
   */
  approximate?: boolean;
}

export type { RowScanner, ScanLayout } from './scan-kernels.js';

export interface ExactIndexOptions {
  dim: number;
  /** Back the codes with a shared memory so worker threads can scan them (needs cross-origin isolation in browsers). */
  shared?: boolean;
  /** Rows reranked in float32 before the error bound is checked (more only when the bound requires it). */
  rerank?: number;
  /** Also keep a 1-bit sketch of every row (64 bytes at 512-d) for `approximate` searches. Dimensions ≤ 2048. */
  sketch?: boolean;
  /** Width of the sketch error bound in standard deviations (default 2.5; larger: fewer misses, more rescoring). */
  sketchEpsilon?: number;
}

const PAGE = 65536;
const MAX_PAGES = 65536;

/**
 * Exact cosine search. Every row is kept twice: float32 (for the answer) and int8 with a per-row scale (for a
 * WASM-SIMD scan that reads a quarter of the bytes). The int8 scan ranks candidates; the best few are rescored in
 * float32; then a bound on the int8 error (‖e_q‖ + ‖q̂‖·max‖e_x‖, by Cauchy–Schwarz) says which other rows could
 * still beat the k-th exact score, and those are rescored too. So the result is the exact top-k, always —
 * recall 1.0 by construction, with no index to build and O(1) insert/delete.
 */
export class ExactIndex {
  readonly dim: number;
  readonly stride: number;
  readonly shared: boolean;
  private readonly rerank: number;
  private readonly memory: WebAssembly.Memory;
  private readonly kernels: Kernels;
  private readonly codec: SketchCodec | null;
  private readonly sketchEpsilon: number;
  /** Bumped by every upsert and remove: a search that awaited a scan while it changed scans again. */
  private version = 0;
  /** Searches run one at a time: they share the query, out and list regions of the memory. */
  private queue: Promise<unknown> = Promise.resolve();
  private lutsAt = 0;
  private factorsAt = 0;
  private listAt = 0;
  private sketchesAt = 0;
  private capacity = 0;
  private count = 0;
  private ids_: string[] = [];
  private rowOf = new Map<string, number>();
  private vectors = new Float32Array(0);
  private errNorms = new Float32Array(0);
  private maxErrNorm = 0;
  private queryAt = 0;
  private scalesAt = 0;
  private outAt = 0;
  private codesAt = 0;
  private scanner: RowScanner | undefined;

  private constructor(options: ExactIndexOptions, memory: WebAssembly.Memory, kernels: Kernels) {
    this.dim = options.dim;
    this.stride = Math.ceil(options.dim / 16) * 16;
    this.shared = options.shared ?? false;
    this.rerank = options.rerank ?? 32;
    this.memory = memory;
    this.kernels = kernels;
    this.codec = options.sketch ? new SketchCodec(options.dim) : null;
    this.sketchEpsilon = options.sketchEpsilon ?? 2.5;
    this.queryAt = 0;
    this.relayout(1024);
  }

  static async create(options: ExactIndexOptions): Promise<ExactIndex> {
    if (!Number.isInteger(options.dim) || options.dim < 1 || options.dim > 16384) {
      throw new FaceprintError('INVALID_INPUT', `embedding dimension must be 1..16384, got ${options.dim}`);
    }
    // The sketch kernel sums up to 60 per nibble in 16-bit lanes: rows of at most 2048 bits (≤ 30,720).
    if (options.sketch && options.dim > 2048) throw new FaceprintError('INVALID_INPUT', `sketches need a dimension ≤ 2048, got ${options.dim}`);
    const shared = options.shared ?? false;
    const memory = shared
      ? new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true })
      : new WebAssembly.Memory({ initial: 1 });
    return new ExactIndex(options, memory, await instantiateKernels(memory, shared));
  }

  get size(): number {
    return this.count;
  }

  /** Every id held, in row order. */
  ids(): string[] {
    return this.ids_.slice(0, this.count);
  }

  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  /** Sets the scanner used by search (e.g. worker threads); undefined restores the in-thread scan. */
  useScanner(scanner: RowScanner | undefined): void {
    this.scanner = scanner;
  }

  /** Adds or replaces a vector; it is L2-normalised here, so scores are cosines. */
  upsert(id: string, vector: ArrayLike<number>): void {
    if (vector.length !== this.dim) {
      throw new FaceprintError('INVALID_INPUT', `vector has ${vector.length} values, index holds ${this.dim}-d vectors`);
    }
    this.version++;
    let row = this.rowOf.get(id);
    if (row === undefined) {
      if (this.count === this.capacity) this.relayout(this.capacity * 2);
      row = this.count++;
      this.ids_[row] = id;
      this.rowOf.set(id, row);
    }
    this.writeRow(row, vector);
  }

  /** Removes a vector (its float32 and int8 copies are overwritten by the last row). */
  remove(id: string): boolean {
    const row = this.rowOf.get(id);
    if (row === undefined) return false;
    this.version++;
    const last = --this.count;
    this.rowOf.delete(id);
    if (row !== last) {
      const lastId = this.ids_[last];
      this.ids_[row] = lastId;
      this.rowOf.set(lastId, row);
      this.vectors.copyWithin(row * this.dim, last * this.dim, (last + 1) * this.dim);
      this.errNorms[row] = this.errNorms[last];
      const bytes = new Uint8Array(this.memory.buffer);
      bytes.copyWithin(this.codesAt + row * this.stride, this.codesAt + last * this.stride, this.codesAt + (last + 1) * this.stride);
      const scales = new Float32Array(this.memory.buffer, this.scalesAt, this.capacity);
      scales[row] = scales[last];
      if (this.codec) {
        for (let j = 0; j < this.codec.bytes; j++) bytes[this.sketchByte(row, j)] = bytes[this.sketchByte(last, j)];
        const factors = new Float32Array(this.memory.buffer);
        for (const at of [0, 16, 32]) factors[this.popIndex(row) + at] = factors[this.popIndex(last) + at];
      }
    }
    this.vectors.fill(0, last * this.dim, (last + 1) * this.dim);
    new Uint8Array(this.memory.buffer).fill(0, this.codesAt + last * this.stride, this.codesAt + (last + 1) * this.stride);
    if (this.codec) {
      const bytes = new Uint8Array(this.memory.buffer);
      for (let j = 0; j < this.codec.bytes; j++) bytes[this.sketchByte(last, j)] = 0;
      const factors = new Float32Array(this.memory.buffer);
      for (const at of [0, 16, 32]) factors[this.popIndex(last) + at] = 0;
    }
    this.ids_.length = this.count;
    return true;
  }

  /** The stored (normalised) vector of an id, or undefined. */
  vector(id: string): Float32Array | undefined {
    const row = this.rowOf.get(id);
    return row === undefined ? undefined : this.vectors.slice(row * this.dim, (row + 1) * this.dim);
  }

  /** The exact top-k by cosine, best first. */
  search(query: ArrayLike<number>, k: number, options: SearchOptions = {}): Promise<SearchHit[]> {
    if (query.length !== this.dim) {
      return Promise.reject(new FaceprintError('INVALID_INPUT', `query has ${query.length} values, index holds ${this.dim}-d vectors`));
    }
    const q = normalised(query);
    return this.serially(async () => {
      // a scan handed to worker threads is awaited: rows changed meanwhile make its candidates stale, so scan again
      for (;;) {
        const version = this.version;
        const hits = await (options.approximate && this.codec ? this.searchSketch(q, k, options.filter) : this.searchInt8(q, k, options.filter));
        if (version === this.version) return hits;
      }
    });
  }

  /** Runs a search after those already queued (they share the query, out and list regions). */
  private serially<T>(run: () => Promise<T>): Promise<T> {
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async searchInt8(q: Float32Array, k: number, filter: ((id: string) => boolean) | undefined): Promise<SearchHit[]> {
    if (k < 1 || this.count === 0) return [];
    const { queryScale, queryErrNorm, quantNorm } = this.writeQuery(q);
    const layout = this.layout();
    if (this.scanner) await this.scanner(layout);
    else scanRows(this.kernels, layout, 0, this.count);
    const approx = new Float32Array(this.memory.buffer, this.outAt, this.count);

    // 1. the best `rerank` rows by the int8 score (a bounded min-heap over raw scan values).
    const want = Math.max(k, this.rerank);
    const heap = new TopK(want);
    for (let r = 0; r < this.count; r++) {
      const s = approx[r];
      if (s > heap.floor && (!filter || filter(this.ids_[r]))) heap.push(r, s);
    }
    const exact = new Map<number, number>();
    for (const r of heap.rows()) exact.set(r, this.dot(q, r));

    // 2. rows whose int8 score is within the error bound of the k-th exact score may still be in the top-k.
    const kth = kthLargest([...exact.values()], k);
    if (heap.full && Number.isFinite(kth)) {
      const bound = queryErrNorm + quantNorm * this.maxErrNorm + 1e-5;
      const cut = (kth - bound) / queryScale;
      if (heap.floor >= cut) {
        for (let r = 0; r < this.count; r++) {
          if (approx[r] >= cut && !exact.has(r) && (!filter || filter(this.ids_[r]))) exact.set(r, this.dot(q, r));
        }
      }
    }
    return ranked(exact, k, this.ids_);
  }

  /**
   * The sketch stage: an upper bound of the cosine for every row (its estimate + ε of its own σ), the rows with the
   * highest rescored exactly, then every row whose upper bound reaches the k-th exact score checked by its int8
   * score and, where the int8 bound cannot rule it out, rescored too. Rows are picked by the select kernel and
   * their int8 scores gathered by kernels, so JavaScript touches only the final few.
   */
  private async searchSketch(q: Float32Array, k: number, filter: ((id: string) => boolean) | undefined): Promise<SearchHit[]> {
    if (k < 1 || this.count === 0) return [];
    await this.scanSketch(q, this.sketchEpsilon);
    const upper = new Float32Array(this.memory.buffer, this.outAt, this.count);
    // Estimates are noisier than int8 scores: rescoring the best few hundred first finds the true k-th score, and
    // so the tightest cut, before the candidate pass (the true best of a 1M-row needle query ranks ~50th).
    const want = Math.max(k, 8 * this.rerank);
    let best = this.listed(this.kernels.select(this.outAt, 0, this.count, likelyThreshold(upper, want), this.listAt));
    if (best.length > 2 * want) {
      const heap = new TopK(want);
      for (const r of best) if (upper[r] > heap.floor) heap.push(r, upper[r]);
      best = Int32Array.from(heap.rows());
    }
    const exact = new Map<number, number>();
    const top = new TopK(k);
    const score = (r: number): void => {
      const s = this.dot(q, r);
      exact.set(r, s);
      if (s > top.floor) top.push(r, s);
    };
    // Their int8 scores first (a quarter of the bytes of float32 rows): only those the int8 bound leaves within
    // reach of the k-th best get the float32 dot.
    const { queryScale, queryErrNorm, quantNorm } = this.writeQuery(q);
    const int8Bound = queryErrNorm + quantNorm * this.maxErrNorm + 1e-5;
    if (filter) best = best.filter((r) => filter(this.ids_[r]));
    const bestInt8 = this.gatherInt8(best).map((s) => s * queryScale);
    const kthInt8 = kthLargest(Array.from(bestInt8), k);
    best.forEach((r, i) => {
      if (bestInt8[i] >= kthInt8 - 2 * int8Bound) score(r);
    });
    // Fewer than k rows known (a narrow filter, a small index): every row is a candidate.
    let n = this.kernels.select(this.outAt, 0, this.count, top.full ? top.floor : -Infinity, this.listAt);
    const list = new Int32Array(this.memory.buffer, this.listAt, n);
    if (filter) {
      let kept = 0;
      for (let i = 0; i < n; i++) if (filter(this.ids_[list[i]])) list[kept++] = list[i];
      n = kept;
    }
    if (n === 0) return ranked(exact, k, this.ids_);
    // The candidates' int8 scores (over the upper bounds, no longer needed); only rows the int8 error bound cannot
    // rule out get the float32 dot.
    const layout: ScanLayout = { ...this.layout(), rows: n, gather: { list: this.listAt } };
    if (this.scanner && n >= 4096) await this.scanner(layout);
    else scanRows(this.kernels, layout, 0, n);
    const int8 = new Float32Array(this.memory.buffer, this.outAt, n);
    const rows = new Int32Array(this.memory.buffer, this.listAt, n);
    for (let i = 0; i < n; i++) {
      if ((!top.full || int8[i] * queryScale >= top.floor - int8Bound) && !exact.has(rows[i])) score(rows[i]);
    }
    return ranked(exact, k, this.ids_);
  }

  /**
   * int8 scores (before the query's scale) of at most half a capacity of rows, in this thread: list and scores both
   * in the list region, so the out region keeps the upper bounds.
   */
  private gatherInt8(rows: Int32Array): Float32Array {
    new Int32Array(this.memory.buffer, this.listAt, rows.length).set(rows);
    const scoresAt = this.listAt + rows.length * 4;
    this.kernels.gather(this.queryAt, this.codesAt, this.scalesAt, scoresAt, this.listAt, 0, rows.length, this.stride);
    return new Float32Array(this.memory.buffer, scoresAt, rows.length).slice();
  }

  /** A copy of the first n row numbers the select kernel listed. */
  private listed(n: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.listAt, n).slice();
  }

  /** The sketch stage's cosine estimate for every row, in row order (`ids()`), for a unit query. */
  async sketchEstimates(query: ArrayLike<number>): Promise<Float32Array> {
    if (!this.codec) throw new FaceprintError('INVALID_INPUT', 'this index keeps no sketches (create it with sketch: true)');
    const q = normalised(query);
    return this.serially(async () => {
      await this.scanSketch(q, 0);
      return new Float32Array(this.memory.buffer, this.outAt, this.count).slice();
    });
  }

  /** Writes every row's estimate plus eps of its σ to the out region; returns the query's sketch. */
  private async scanSketch(q: Float32Array, eps: number): Promise<QuerySketch> {
    const codec = this.codec!;
    const sq = codec.encodeQuery(q);
    new Uint8Array(this.memory.buffer, this.lutsAt, sq.luts.length).set(sq.luts);
    const sketch = { luts: this.lutsAt, factors: this.factorsAt, rawScale: sq.rawScale, popScale: sq.popScale, offset: sq.offset, boundSigmas: eps, roundingSigma: sq.roundingSigma };
    const layout: ScanLayout = { ...this.layout(), codes: this.sketchesAt, stride: codec.bytes, sketch };
    if (this.scanner) await this.scanner(layout);
    else scanRows(this.kernels, layout, 0, this.count);
    return sq;
  }

  /** Float32 index of a row's popcount; its inverse factor is 16 further, its variance 32 (see scan.wat). */
  private popIndex(row: number): number {
    return (this.factorsAt >> 2) + (row >> 4) * 48 + (row & 15);
  }

  /** Where byte j of a row's sketch lives: rows are stored in transposed blocks of 16 (see scan.wat). */
  private sketchByte(row: number, j: number): number {
    return this.sketchesAt + (row >> 4) * 16 * this.codec!.bytes + 16 * j + (row & 15);
  }

  /** Memory offsets for a scan of all rows (for worker-thread scanners). */
  layout(): ScanLayout {
    return {
      memory: this.memory,
      query: this.queryAt,
      codes: this.codesAt,
      scales: this.scalesAt,
      out: this.outAt,
      rows: this.count,
      stride: this.stride,
    };
  }

  private dot(q: Float32Array, row: number): number {
    const v = this.vectors;
    const base = row * this.dim;
    let s = 0;
    for (let i = 0; i < this.dim; i++) s += q[i] * v[base + i];
    return s;
  }

  private writeRow(row: number, vector: ArrayLike<number>): void {
    const x = normalised(vector);
    this.vectors.set(x, row * this.dim);
    const codes = new Int8Array(this.memory.buffer, this.codesAt + row * this.stride, this.stride);
    const { scale, errNorm } = quantise(x, codes);
    new Float32Array(this.memory.buffer, this.scalesAt, this.capacity)[row] = scale;
    this.errNorms[row] = errNorm;
    if (errNorm > this.maxErrNorm) this.maxErrNorm = errNorm;
    if (this.codec) {
      const sketch = this.codec.encodeRow(x);
      const bytes = new Uint8Array(this.memory.buffer);
      for (let j = 0; j < sketch.bits.length; j++) bytes[this.sketchByte(row, j)] = sketch.bits[j];
      const factors = new Float32Array(this.memory.buffer);
      factors[this.popIndex(row)] = sketch.pop;
      factors[this.popIndex(row) + 16] = sketch.invF;
      factors[this.popIndex(row) + 32] = sketch.variance;
    }
  }

  private writeQuery(q: Float32Array): { queryScale: number; queryErrNorm: number; quantNorm: number } {
    const codes = new Int8Array(this.stride);
    const { scale, errNorm } = quantise(q, codes);
    const wide = new Int16Array(this.memory.buffer, this.queryAt, this.stride);
    // The kernel pairs the low 8 codes of each 16 with wide[0..8) and the high 8 with wide[8..16).
    for (let i = 0; i < this.stride; i++) wide[i] = codes[i];
    let quantNorm = 0;
    for (let i = 0; i < this.dim; i++) quantNorm += (codes[i] * scale) ** 2;
    return { queryScale: scale, queryErrNorm: errNorm, quantNorm: Math.sqrt(quantNorm) };
  }

  /**
   * Lays out query | sketch query tables | out | candidate list | scales | sketch factors | sketches | codes for
   * `capacity` rows, growing the memory and moving live data. `out` starts at the same offset whatever the
   * capacity and only grows: a worker's scan that was handed the previous layout and finishes after this writes
   * its scores into the new `out` (stale, and scanned again by its search), never into rows' data.
   */
  private relayout(capacity: number): void {
    const sketchBytes = this.codec?.bytes ?? 0;
    const queryBytes = align(this.stride * 2, 64);
    const lutsAt = queryBytes;
    const outAt = lutsAt + align(32 * sketchBytes, 64); // 16-byte tables for each of 2·bytes nibbles
    const listAt = outAt + align(capacity * 4, 64);
    const scalesAt = listAt + (this.codec ? align(capacity * 4, 64) : 0);
    const factorsAt = scalesAt + align(capacity * 4, 64);
    const sketchesAt = factorsAt + (this.codec ? align(capacity * 12, 64) : 0);
    const codesAt = sketchesAt + align(capacity * sketchBytes, 64);
    const end = codesAt + capacity * this.stride;
    const pages = Math.ceil(end / PAGE);
    if (pages > MAX_PAGES) throw new FaceprintError('INVALID_INPUT', `index would need ${end} bytes of WebAssembly memory (max 4 GiB)`);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) this.memory.grow(pages - have);
    const bytes = new Uint8Array(this.memory.buffer);
    // Regions only move up, the highest first, so no copy overwrites data still to be moved.
    if (this.capacity > 0) {
      bytes.copyWithin(codesAt, this.codesAt, this.codesAt + this.count * this.stride);
      if (this.codec) {
        bytes.copyWithin(sketchesAt, this.sketchesAt, this.sketchesAt + align(this.count, 16) * sketchBytes);
        bytes.copyWithin(factorsAt, this.factorsAt, this.factorsAt + align(this.count, 16) * 12);
      }
      bytes.copyWithin(scalesAt, this.scalesAt, this.scalesAt + this.count * 4);
    }
    bytes.fill(0, codesAt + this.count * this.stride, end);
    // The kernel scores whole 16-row blocks: rows past the last must read as zero (sketch and factors).
    if (this.codec) {
      bytes.fill(0, sketchesAt + align(this.count, 16) * sketchBytes, sketchesAt + capacity * sketchBytes);
      bytes.fill(0, factorsAt + align(this.count, 16) * 12, factorsAt + capacity * 12);
    }
    const vectors = new Float32Array(capacity * this.dim);
    vectors.set(this.vectors.subarray(0, this.count * this.dim));
    const errNorms = new Float32Array(capacity);
    errNorms.set(this.errNorms.subarray(0, this.count));
    this.vectors = vectors;
    this.errNorms = errNorms;
    this.lutsAt = lutsAt;
    this.scalesAt = scalesAt;
    this.factorsAt = factorsAt;
    this.outAt = outAt;
    this.listAt = listAt;
    this.sketchesAt = sketchesAt;
    this.codesAt = codesAt;
    this.capacity = capacity;
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** The k best of the exactly scored rows, best first. */
function ranked(exact: Map<number, number>, k: number, ids: string[]): SearchHit[] {
  return [...exact.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([r, score]) => ({ id: ids[r], score }));
}
