import { createHash } from 'node:crypto';
import type { ModelBinding } from '../core/gallery/types.js';
import type { FaceAnalyzer } from '../node/index.js';

/**
 * The embedding contract of a collection: what makes two embeddings comparable — the recognizer's file (sha256),
 * its input size and normalisation, the alignment, the dimension. Its id is a hash of those, so a client that
 * embeds elsewhere can check that its vectors may join a collection.
 */
export interface EmbeddingContract {
  id: string;
  recognizerSha256: string;
  recognizerName: string;
  inputSize: number;
  normalisation: string;
  alignment: string;
  dim: number;
}

const ALIGNMENT = 'arcface-5pt-similarity';

/** The contract of a binding made with this analyzer's recognizer (its input size and normalisation). */
export function embeddingContract(analyzer: FaceAnalyzer, binding: ModelBinding): EmbeddingContract {
  const rec = analyzer.core.recognizer;
  const inputSize = rec?.inputSize ?? 112;
  const n = rec?.normalisation ?? { mean: 127.5, std: 127.5 };
  const normalisation = `(x-${n.mean})/${n.std}`;
  const canonical = JSON.stringify(['fpemb-v1', binding.recognizerSha256.toLowerCase(), inputSize, normalisation, ALIGNMENT, binding.dim]);
  return {
    id: `fpemb-v1-${createHash('sha256').update(canonical).digest('hex').slice(0, 32)}`,
    recognizerSha256: binding.recognizerSha256, recognizerName: binding.recognizerName, inputSize, normalisation, alignment: ALIGNMENT, dim: binding.dim,
  };
}
