import { FaceprintError } from '../errors.js';
import { SketchCodec, type QuerySketch } from './sketch.js';
import { SCAN_WASM_PLAIN, SCAN_WASM_SHARED } from './wasm/scan-module.js';

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

/** Where the scan runs; the default runs in this thread, the Node adapter splits rows over worker threads. */
export type RowScanner = (layout: ScanLayout) => Promise<void> | void;

/** Byte offsets into the index's WebAssembly memory, valid for one scan (they move when the index grows). */
export interface ScanLayout {
  memory: WebAssembly.Memory;
  query: number;
  codes: number;
  scales: number;
  out: number;
  rows: number;
  stride: number;
  /** Set for a sketch scan: then `codes` and `stride` are the sketches' and `scales` is unused. */
  sketch?: { luts: number; factors: number; a: number; b: number; c: number };
}

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

type ScanFn = (query: number, codes: number, scales: number, out: number, from: number, to: number, stride: number) => void;
type GatherFn = (query: number, codes: number, scales: number, out: number, list: number, n: number, stride: number) => void;
type SketchFn = (luts: number, codes: number, factors: number, out: number, from: number, to: number, stride: number, a: number, b: number, c: number) => void;

const PAGE = 65536;
const MAX_PAGES = 65536;

function decodeBase64(text: string): Uint8Array {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

let compiled: { plain?: Promise<WebAssembly.Module>; shared?: Promise<WebAssembly.Module> } = {};

/** The compiled scan module (plain or shared-memory variant), compiled once per process. */
export function scanModule(shared: boolean): Promise<WebAssembly.Module> {
  const key = shared ? 'shared' : 'plain';
  compiled[key] ??= WebAssembly.compile(decodeBase64(shared ? SCAN_WASM_SHARED : SCAN_WASM_PLAIN) as BufferSource);
  return compiled[key]!;
}

/** Instantiates the scan kernels over a memory (used by worker threads, which share the index's memory). */
export async function instantiateKernels(memory: WebAssembly.Memory, shared: boolean): Promise<Kernels> {
  const instance = await WebAssembly.instantiate(await scanModule(shared), { env: { memory } });
  return { scan: instance.exports.scan as ScanFn, sketch: instance.exports.sketch as SketchFn, gather: instance.exports.gather as GatherFn };
}

/** The scan module's exports. */
export interface Kernels { scan: ScanFn; sketch: SketchFn; gather: GatherFn }

/** Runs the kernel a layout asks for over rows [from, to). */
export function scanRows(kernels: Kernels, l: ScanLayout, from: number, to: number): void {
  if (l.sketch) kernels.sketch(l.sketch.luts, l.codes, l.sketch.factors, l.out, from, to, l.stride, l.sketch.a, l.sketch.b, l.sketch.c);
  else kernels.scan(l.query, l.codes, l.scales, l.out, from, to, l.stride);
}

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
  private maxSpread = 0;
  private maxInvF = 0;
  private lutsAt = 0;
  private factorsAt = 0;
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
        bytes.copyWithin(this.factorsAt + row * 8, this.factorsAt + last * 8, this.factorsAt + (last + 1) * 8);
      }
    }
    this.vectors.fill(0, last * this.dim, (last + 1) * this.dim);
    new Uint8Array(this.memory.buffer).fill(0, this.codesAt + last * this.stride, this.codesAt + (last + 1) * this.stride);
    if (this.codec) {
      const bytes = new Uint8Array(this.memory.buffer);
      for (let j = 0; j < this.codec.bytes; j++) bytes[this.sketchByte(last, j)] = 0;
      new Float32Array(this.memory.buffer, this.factorsAt + last * 8, 2).fill(0);
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
  async search(query: ArrayLike<number>, k: number, options: SearchOptions = {}): Promise<SearchHit[]> {
    if (query.length !== this.dim) {
      throw new FaceprintError('INVALID_INPUT', `query has ${query.length} values, index holds ${this.dim}-d vectors`);
    }
    if (k < 1 || this.count === 0) return [];
    const q = normalised(query);
    if (options.approximate && this.codec) return this.searchSketch(q, k, options.filter);
    const { queryScale, queryErrNorm, quantNorm } = this.writeQuery(q);
    const layout = this.layout();
    if (this.scanner) await this.scanner(layout);
    else scanRows(this.kernels, layout, 0, this.count);
    const approx = new Float32Array(this.memory.buffer, this.outAt, this.count);
    const filter = options.filter;

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
    return [...exact.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([r, score]) => ({ id: this.ids_[r], score }));
  }

  /**
   * The sketch stage: estimates for every row, the best `rerank` rescored exactly, then every row whose estimate
   * is within the sketch bound of the k-th exact score rescored too.
   */
  private async searchSketch(q: Float32Array, k: number, filter: ((id: string) => boolean) | undefined): Promise<SearchHit[]> {
    const codec = this.codec!;
    const { sq, estimate } = await this.scanSketch(q);
    // Estimates are noisier than int8 scores: rescoring more of the best ones first finds the true k-th score,
    // and so the tightest cut, before the candidate pass (the true best of a 1M-row needle query ranks ~50th).
    const heap = new TopK(Math.max(k, 8 * this.rerank));
    let floor = heap.floor;
    for (let r = 0; r < this.count; r++) {
      const s = estimate[r];
      if (s > floor && (!filter || filter(this.ids_[r]))) {
        heap.push(r, s);
        floor = heap.floor;
      }
    }
    const exact = new Map<number, number>();
    for (const r of heap.rows()) exact.set(r, this.dot(q, r));
    const top = new TopK(k);
    for (const [r, s] of exact) if (s > top.floor) top.push(r, s); // push expects a score above the floor
    if (heap.full && top.full) {
      const bound = codec.bound(this.maxSpread, this.maxInvF, sq, this.sketchEpsilon);
      const cut = top.floor - bound;
      if (heap.floor >= cut) {
        // The candidates' int8 scores in one kernel call (their row list and scores written over the estimates,
        // no longer needed); only rows the int8 error bound cannot rule out get the float32 dot.
        const rows: number[] = [];
        for (let r = 0; r < this.count; r++) if (estimate[r] >= cut && !exact.has(r) && (!filter || filter(this.ids_[r]))) rows.push(r);
        const { queryScale, queryErrNorm, quantNorm } = this.writeQuery(q);
        const int8Bound = queryErrNorm + quantNorm * this.maxErrNorm + 1e-5;
        const chunkRows = this.capacity >> 1; // list and scores both fit in the out region
        for (let start = 0; start < rows.length; start += chunkRows) {
          const chunk = rows.slice(start, start + chunkRows);
          new Int32Array(this.memory.buffer, this.outAt, chunk.length).set(chunk);
          const scoresAt = this.outAt + chunk.length * 4;
          this.kernels.gather(this.queryAt, this.codesAt, this.scalesAt, scoresAt, this.outAt, chunk.length, this.stride);
          const scores = new Float32Array(this.memory.buffer, scoresAt, chunk.length);
          chunk.forEach((r, i) => {
            if (scores[i] * queryScale < top.floor - int8Bound) return;
            const s = this.dot(q, r);
            exact.set(r, s);
            if (s > top.floor) top.push(r, s);
          });
        }
      }
    }
    return [...exact.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([r, score]) => ({ id: this.ids_[r], score }));
  }

  /** The sketch stage's cosine estimate for every row, in row order (`ids()`), for a unit query. */
  async sketchEstimates(query: ArrayLike<number>): Promise<Float32Array> {
    if (!this.codec) throw new FaceprintError('INVALID_INPUT', 'this index keeps no sketches (create it with sketch: true)');
    return (await this.scanSketch(normalised(query))).estimate.slice();
  }

  private async scanSketch(q: Float32Array): Promise<{ sq: QuerySketch; estimate: Float32Array }> {
    const codec = this.codec!;
    const sq = codec.encodeQuery(q);
    new Uint8Array(this.memory.buffer, this.lutsAt, sq.luts.length).set(sq.luts);
    const layout: ScanLayout = { ...this.layout(), codes: this.sketchesAt, stride: codec.bytes, sketch: { luts: this.lutsAt, factors: this.factorsAt, a: sq.a, b: sq.b, c: sq.c } };
    if (this.scanner) await this.scanner(layout);
    else scanRows(this.kernels, layout, 0, this.count);
    return { sq, estimate: new Float32Array(this.memory.buffer, this.outAt, this.count) };
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
      const factors = new Float32Array(this.memory.buffer, this.factorsAt + row * 8, 2);
      factors[0] = sketch.pop;
      factors[1] = sketch.invF;
      // Bounds only grow (a delete leaves them): looser, never wrong.
      this.maxSpread = Math.max(this.maxSpread, sketch.spread);
      this.maxInvF = Math.max(this.maxInvF, sketch.invF);
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
   * Lays out query | sketch query tables | scales | sketch factors | out | sketches | codes for `capacity` rows, growing
   * the memory and moving live data.
   */
  private relayout(capacity: number): void {
    const sketchBytes = this.codec?.bytes ?? 0;
    const queryBytes = align(this.stride * 2, 64);
    const lutsAt = queryBytes;
    const scalesAt = lutsAt + align(32 * sketchBytes, 64); // 16-byte tables for each of 2·bytes nibbles
    const factorsAt = scalesAt + align(capacity * 4, 64);
    const outAt = factorsAt + (this.codec ? align(capacity * 8, 64) : 0);
    const sketchesAt = outAt + align(capacity * 4, 64);
    const codesAt = sketchesAt + align(capacity * sketchBytes, 64);
    const end = codesAt + capacity * this.stride;
    const pages = Math.ceil(end / PAGE);
    if (pages > MAX_PAGES) throw new FaceprintError('INVALID_INPUT', `index would need ${end} bytes of WebAssembly memory (max 4 GiB)`);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) this.memory.grow(pages - have);
    const bytes = new Uint8Array(this.memory.buffer);
    // Regions only move up, the highest first, so no copy overwrites data still to be moved; scales stay in place.
    if (this.capacity > 0) {
      bytes.copyWithin(codesAt, this.codesAt, this.codesAt + this.count * this.stride);
      if (this.codec) {
        bytes.copyWithin(sketchesAt, this.sketchesAt, this.sketchesAt + align(this.count, 16) * sketchBytes);
        bytes.copyWithin(factorsAt, this.factorsAt, this.factorsAt + this.count * 8);
      }
    }
    bytes.fill(0, codesAt + this.count * this.stride, end);
    // The kernel scores whole 16-row blocks: rows past the last must read as zero (sketch and factors).
    if (this.codec) {
      bytes.fill(0, sketchesAt + align(this.count, 16) * sketchBytes, sketchesAt + capacity * sketchBytes);
      bytes.fill(0, factorsAt + this.count * 8, factorsAt + capacity * 8);
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
    this.sketchesAt = sketchesAt;
    this.codesAt = codesAt;
    this.capacity = capacity;
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function normalised(v: ArrayLike<number>): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * inv;
  return out;
}

/** Symmetric int8 with a per-vector scale; returns the scale and ‖x − codes·scale‖. */
function quantise(x: Float32Array, codes: Int8Array): { scale: number; errNorm: number } {
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]));
  const scale = Math.fround(max / 127);
  if (scale === 0) {
    codes.fill(0);
    return { scale: 0, errNorm: 0 };
  }
  let err = 0;
  for (let i = 0; i < x.length; i++) {
    const c = Math.max(-127, Math.min(127, Math.round(x[i] / scale)));
    codes[i] = c;
    err += (x[i] - c * scale) ** 2;
  }
  codes.fill(0, x.length);
  return { scale, errNorm: Math.sqrt(err) };
}

function kthLargest(values: number[], k: number): number {
  if (values.length < k) return -Infinity;
  return [...values].sort((a, b) => b - a)[k - 1];
}

/** A fixed-size min-heap of (row, score) keeping the largest scores. */
class TopK {
  private readonly rowsHeap: Int32Array;
  private readonly scores: Float32Array;
  private n = 0;
  floor = -Infinity;

  constructor(private readonly capacity: number) {
    this.rowsHeap = new Int32Array(capacity);
    this.scores = new Float32Array(capacity);
  }

  get full(): boolean {
    return this.n === this.capacity;
  }

  push(row: number, score: number): void {
    if (this.n < this.capacity) {
      let i = this.n++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (this.scores[parent] <= score) break;
        this.scores[i] = this.scores[parent];
        this.rowsHeap[i] = this.rowsHeap[parent];
        i = parent;
      }
      this.scores[i] = score;
      this.rowsHeap[i] = row;
      if (this.n === this.capacity) this.floor = this.scores[0];
      return;
    }
    // replace the root and sift down
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.n) break;
      const r = l + 1;
      const c = r < this.n && this.scores[r] < this.scores[l] ? r : l;
      if (this.scores[c] >= score) break;
      this.scores[i] = this.scores[c];
      this.rowsHeap[i] = this.rowsHeap[c];
      i = c;
    }
    this.scores[i] = score;
    this.rowsHeap[i] = row;
    this.floor = this.scores[0];
  }

  rows(): number[] {
    return Array.from(this.rowsHeap.subarray(0, this.n));
  }
}
