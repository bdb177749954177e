import * as ort from 'onnxruntime-node';
import { FaceprintError } from '../core/errors.js';
import type { ModelSession } from '../core/runtime.js';
import { firstLine, wrapOrtSession } from './ort-session.js';

export interface OrtNodeOptions {
  /** Threads inside one operator; default: onnxruntime's choice (all cores). */
  intraOpNumThreads?: number;
  /** e.g. ['cuda', 'cpu'] where onnxruntime-node was installed with CUDA support. Default ['cpu']. */
  executionProviders?: string[];
  /** Let idle operator threads spin (onnxruntime's own default); off by default, see below. */
  spinWait?: boolean;
}

/**
 * faceprint's onnxruntime-node session options. Graph optimisation "all" is what the reference outputs were made
 * with; benches that time bare sessions against faceprint's use these too.
 */
export function ortNodeSessionOptions(options: OrtNodeOptions = {}): ort.InferenceSession.SessionOptions {
  const opts: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionProviders: options.executionProviders ?? ['cpu'],
    // errors only: SCRFD models annotate their outputs for 640×640 and ONNX Runtime warns on every run at
    // another input size (video frames), though the outputs are right
    logSeverityLevel: 3,
  };
  // Idle operator threads sleep instead of spinning: on a small machine the spinning threads took the cores
  // that JavaScript (pre- and post-processing) and ffmpeg need (docs/benchmarks.md, docs/video.md).
  // `spinWait: true` restores onnxruntime's default.
  if (!options.spinWait) opts.extra = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
  if (options.intraOpNumThreads) opts.intraOpNumThreads = options.intraOpNumThreads;
  return opts;
}

/** A ModelSession on onnxruntime-node. */
export async function createOrtNodeSession(model: Uint8Array, source: string, options: OrtNodeOptions = {}): Promise<ModelSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, ortNodeSessionOptions(options));
  } catch (e) {
    throw new FaceprintError('MODEL_INVALID', `${source}: onnxruntime cannot load this model (${firstLine(e)})`, { cause: e });
  }
  return wrapOrtSession(session, ort.Tensor, source);
}
