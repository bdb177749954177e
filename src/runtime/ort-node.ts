import * as ort from 'onnxruntime-node';
import { FaceprintError } from '../core/errors.js';
import type { InputTensor, ModelSession, TensorF32, ValueInfo } from '../core/runtime.js';

export interface OrtNodeOptions {
  /** Threads inside one operator; default: onnxruntime's choice (all cores). */
  intraOpNumThreads?: number;
  /** e.g. ['cuda', 'cpu'] where onnxruntime-node was installed with CUDA support. Default ['cpu']. */
  executionProviders?: string[];
}

/** A ModelSession on onnxruntime-node. Graph optimisation "all" is what the reference outputs were made with. */
export async function createOrtNodeSession(model: string | Uint8Array, source: string, options: OrtNodeOptions = {}): Promise<ModelSession> {
  let session: ort.InferenceSession;
  try {
    const opts: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionProviders: options.executionProviders ?? ['cpu'],
    };
    if (options.intraOpNumThreads) opts.intraOpNumThreads = options.intraOpNumThreads;
    session = typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts);
  } catch (e) {
    throw new FaceprintError('MODEL_INVALID', `${source}: onnxruntime cannot load this model (${firstLine(e)})`, { cause: e });
  }
  const info = (meta: readonly ort.InferenceSession.ValueMetadata[], names: readonly string[]): ValueInfo[] =>
    names.map((name, i) => {
      const m = meta[i] as { shape?: readonly (number | string)[]; type?: string } | undefined;
      return { name, type: m?.type, shape: (m?.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? d : null)) };
    });
  const inputs = info(session.inputMetadata, session.inputNames);
  const outputs = info(session.outputMetadata, session.outputNames);
  return {
    source,
    inputs,
    outputs,
    async run(feeds: Record<string, InputTensor>): Promise<TensorF32[]> {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = t.data instanceof Uint8Array ? new ort.Tensor('uint8', t.data, t.dims) : new ort.Tensor('float32', t.data, t.dims);
      }
      let result: ort.InferenceSession.OnnxValueMapType;
      try {
        result = await session.run(ortFeeds);
      } catch (e) {
        throw new FaceprintError('INFERENCE_FAILED', `${source}: ${firstLine(e)}`, { cause: e });
      }
      return session.outputNames.map((name) => {
        const t = result[name] as ort.Tensor;
        if (t.type !== 'float32') throw new FaceprintError('INFERENCE_FAILED', `${source}: output ${name} is ${t.type}, not float32`);
        return { data: t.data as Float32Array, dims: t.dims };
      });
    },
    async close(): Promise<void> {
      await session.release();
    },
  };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}
