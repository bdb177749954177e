/**
 * What the core needs from an inference engine. Adapters (onnxruntime-node, onnxruntime-web) implement it;
 * the core never imports a runtime, so it runs unchanged in Node and in the browser.
 */
export type Dim = number | string | null;

export interface TensorF32 {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** An input tensor: float32, or uint8 for models that take raw pixels. */
export interface InputTensor {
  readonly data: Float32Array | Uint8Array;
  readonly dims: readonly number[];
}

export interface ValueInfo {
  readonly name: string;
  readonly shape: readonly Dim[];
  /** Element type as the runtime names it ('float32', 'uint8', …), when known. */
  readonly type?: string;
}

export interface ModelSession {
  /** A label for messages: the file path or URL the model came from. */
  readonly source: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** Runs the graph; returns every output in declaration order. */
  run(feeds: Record<string, InputTensor>): Promise<TensorF32[]>;
  close(): Promise<void>;
}
