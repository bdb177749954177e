import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { FaceprintError } from '../core/errors.js';
import type { InputTensor, ModelSession, TensorF32, ValueInfo } from '../core/runtime.js';

/**
 * An onnxruntime InferenceSession (node or web: both are onnxruntime-common's) as the core's ModelSession.
 * `TensorClass` is the Tensor of the package that created the session.
 */
export function wrapOrtSession(session: InferenceSession, TensorClass: typeof Tensor, source: string): ModelSession {
  const info = (meta: readonly InferenceSession.ValueMetadata[], names: readonly string[]): ValueInfo[] =>
    names.map((name, i) => {
      const m = meta[i] as { shape?: readonly (number | string)[]; type?: string } | undefined;
      return { name, type: m?.type, shape: (m?.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? d : null)) };
    });
  return {
    source,
    inputs: info(session.inputMetadata, session.inputNames),
    outputs: info(session.outputMetadata, session.outputNames),
    async run(feeds: Record<string, InputTensor>): Promise<TensorF32[]> {
      const ortFeeds: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = t.data instanceof Uint8Array ? new TensorClass('uint8', t.data, t.dims) : new TensorClass('float32', t.data, t.dims);
      }
      let result: InferenceSession.OnnxValueMapType;
      try {
        result = await session.run(ortFeeds);
      } catch (e) {
        throw new FaceprintError('INFERENCE_FAILED', `${source}: ${firstLine(e)}`, { cause: e });
      }
      return session.outputNames.map((name) => {
        const t = result[name] as Tensor;
        if (t.type !== 'float32') throw new FaceprintError('INFERENCE_FAILED', `${source}: output ${name} is ${t.type}, not float32`);
        return { data: t.data as Float32Array, dims: t.dims };
      });
    },
    async close(): Promise<void> {
      await session.release();
    },
  };
}

export function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}
