/** The WebAssembly scan kernels (scan.wat) and the memory layout a scan reads: shared by the index and the worker threads. */
import { SCAN_WASM_PLAIN, SCAN_WASM_SHARED } from './wasm/scan-module.js';

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
  /**
   * Set for a sketch scan: then `codes` and `stride` are the sketches', `scales` is unused and each row's upper
   * bound (estimate + eps · its own σ) is written to out.
   */
  sketch?: SketchScan;
  /** Set for a gather: `rows` listed row numbers at `list` get their int8 scores, out[i] for list[i]. */
  gather?: { list: number };
}

/** The query side of a sketch scan: its tables and the estimator's constants (see sketch.ts, QuerySketch). */
export interface SketchScan {
  luts: number;
  factors: number;
  /** estimate = (rawScale · raw + popScale · popcount + offset) · invF */
  rawScale: number;
  popScale: number;
  offset: number;
  /** Width of the upper bound in standard deviations of each row's own error. */
  boundSigmas: number;
  /** Standard deviation of the error from the query's 4-bit rounding. */
  roundingSigma: number;
}

type ScanFn = (query: number, codes: number, scales: number, out: number, from: number, to: number, stride: number) => void;
type GatherFn = (query: number, codes: number, scales: number, out: number, list: number, from: number, to: number, stride: number) => void;
type SketchFn = (luts: number, codes: number, factors: number, out: number, from: number, to: number, stride: number, rawScale: number, popScale: number, offset: number, boundSigmas: number, roundingSigma: number) => void;
type SelectFn = (scores: number, from: number, to: number, cut: number, list: number) => number;

function decodeBase64(text: string): Uint8Array {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

let compiled: { plain?: Promise<WebAssembly.Module>; shared?: Promise<WebAssembly.Module> } = {};

/** The compiled scan module (plain or shared-memory variant), compiled once per process. */
function scanModule(shared: boolean): Promise<WebAssembly.Module> {
  const key = shared ? 'shared' : 'plain';
  compiled[key] ??= WebAssembly.compile(decodeBase64(shared ? SCAN_WASM_SHARED : SCAN_WASM_PLAIN) as BufferSource);
  return compiled[key]!;
}

/** Instantiates the scan kernels over a memory (used by worker threads, which share the index's memory). */
export async function instantiateKernels(memory: WebAssembly.Memory, shared: boolean): Promise<Kernels> {
  const instance = await WebAssembly.instantiate(await scanModule(shared), { env: { memory } });
  const e = instance.exports;
  return { scan: e.scan as ScanFn, sketch: e.sketch as SketchFn, gather: e.gather as GatherFn, select: e.select as SelectFn };
}

/** The scan module's exports. */
export interface Kernels { scan: ScanFn; sketch: SketchFn; gather: GatherFn; select: SelectFn }

/** Runs the kernel a layout asks for over rows (or list entries) [from, to). */
export function scanRows(kernels: Kernels, l: ScanLayout, from: number, to: number): void {
  const s = l.sketch;
  if (s) kernels.sketch(s.luts, l.codes, s.factors, l.out, from, to, l.stride, s.rawScale, s.popScale, s.offset, s.boundSigmas, s.roundingSigma);
  else if (l.gather) kernels.gather(l.query, l.codes, l.scales, l.out, l.gather.list, from, to, l.stride);
  else kernels.scan(l.query, l.codes, l.scales, l.out, from, to, l.stride);
}
