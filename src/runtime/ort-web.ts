import * as ort from 'onnxruntime-web';
import { FaceprintError } from '../core/errors.js';
import type { ModelSession } from '../core/runtime.js';
import { firstLine, wrapOrtSession } from './ort-session.js';

export interface OrtWebOptions {
  /** In preference order. Default ['wasm'] (SIMD; threads when cross-origin isolated): the path the parity tests check. 'webgpu' is opt-in and unverified here. */
  executionProviders?: ('webgpu' | 'wasm')[];
  /** WASM threads (needs COOP/COEP headers); default: onnxruntime-web's choice (half the cores, at most 4). */
  numThreads?: number;
  /** Where onnxruntime-web's .wasm/.mjs files are served from (default: next to the bundle that imports it). */
  wasmPaths?: string;
}

let configured = false;

/** Global WASM settings: they apply to the first session created, so they are set once. */
function configure(options: OrtWebOptions): void {
  if (configured) return;
  configured = true;
  if (options.numThreads) ort.env.wasm.numThreads = options.numThreads;
  if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
}

/** The WebGPU provider, when this browser exposes it; otherwise the list without it. */
function available(providers: ('webgpu' | 'wasm')[]): ('webgpu' | 'wasm')[] {
  const hasGpu = typeof navigator !== 'undefined' && 'gpu' in navigator;
  const list = providers.filter((p) => p !== 'webgpu' || hasGpu);
  return list.length ? list : ['wasm'];
}

/** A ModelSession on onnxruntime-web: the same contract as the Node adapter, so the core runs unchanged. */
export async function createOrtWebSession(bytes: Uint8Array, source: string, options: OrtWebOptions = {}): Promise<ModelSession> {
  configure(options);
  let session: ort.InferenceSession;
  try {
    // errors only, as in Node: SCRFD annotates its outputs for 640×640 and onnxruntime warns in the console on every
    // run at another size (detInput 'image', video), though the outputs are right
    session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', executionProviders: available(options.executionProviders ?? ['wasm']), logSeverityLevel: 3 });
  } catch (e) {
    throw new FaceprintError('MODEL_INVALID', `${source}: onnxruntime-web cannot load this model (${firstLine(e)})`, { cause: e });
  }
  return wrapOrtSession(session, ort.Tensor, source);
}
