/**
 * The pipeline's output version: bumped whenever a change moves any number the pipeline gives (detection,
 * alignment, embedding, heads). Caches of results (the evaluation embedding cache) are keyed by it, so a stale
 * cache can never stand in for the current code.
 */
export const PIPELINE_VERSION = 2;
