import type { RgbImage } from '../image.js';

/** Anything that turns aligned crops into raw embeddings (a recognizer, or a batcher in front of one). */
export interface Embedder {
  embedRaw(crops: readonly RgbImage[]): Promise<Float32Array[]>;
}

export interface BatcherOptions {
  /** Crops sent to the model in one run at most (requests are never split; a bigger one runs alone). */
  maxBatch: number;
  /** How long the first waiting crop may wait for company before its batch runs anyway. */
  maxWaitMs: number;
  /** Called after each model run: crops in it and its duration. */
  onBatch?: (size: number, ms: number) => void;
}

interface Waiting {
  crops: readonly RgbImage[];
  resolve: (out: Float32Array[]) => void;
  reject: (e: unknown) => void;
  /** Date.now() when it arrived: the wait is counted from the oldest arrival. */
  at: number;
}

/**
 * Dynamic batching: crops from concurrent callers wait (at most maxWaitMs) and are embedded together in one
 * model run, one run at a time. While a run is going, the next batch fills; it starts as soon as the run ends.
 * Uses only timers, so it runs in Node and in the browser.
 */
export class EmbeddingBatcher implements Embedder {
  private readonly inner: Embedder;
  private readonly options: BatcherOptions;
  private queue: Waiting[] = [];
  private queuedCrops = 0;
  private running = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(inner: Embedder, options: BatcherOptions) {
    this.inner = inner;
    this.options = { ...options, maxBatch: Math.max(1, options.maxBatch), maxWaitMs: Math.max(0, options.maxWaitMs) };
  }

  /** Crops waiting for a model run (not counting the one running). */
  get pending(): number {
    return this.queuedCrops;
  }

  embedRaw(crops: readonly RgbImage[]): Promise<Float32Array[]> {
    if (crops.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ crops, resolve, reject, at: Date.now() });
      this.queuedCrops += crops.length;
      this.schedule();
    });
  }

  /** Resolves once nothing is waiting or running (graceful shutdown). */
  drain(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running) return; // the running batch's end starts the next one
    if (this.queue.length === 0) return;
    const waited = Date.now() - this.queue[0].at;
    if (this.queuedCrops >= this.options.maxBatch || waited >= this.options.maxWaitMs) {
      this.runNext();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.runNext(), this.options.maxWaitMs - waited);
    }
  }

  private runNext(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running || this.queue.length === 0) return;
    const batch: Waiting[] = [];
    let size = 0;
    while (this.queue.length > 0 && (batch.length === 0 || size + this.queue[0].crops.length <= this.options.maxBatch)) {
      const w = this.queue.shift()!;
      batch.push(w);
      size += w.crops.length;
    }
    this.queuedCrops -= size;
    this.running = true;
    const started = Date.now();
    const crops = batch.flatMap((w) => w.crops);
    this.inner.embedRaw(crops).then(
      (out) => {
        this.options.onBatch?.(size, Date.now() - started);
        let at = 0;
        for (const w of batch) {
          w.resolve(out.slice(at, at + w.crops.length));
          at += w.crops.length;
        }
      },
      async (e: unknown) => {
        if (batch.length === 1) return batch[0].reject(e);
        // one caller's bad crops must not fail the others that shared its run: each runs alone
        for (const w of batch) await this.inner.embedRaw(w.crops).then(w.resolve, w.reject);
      },
    ).finally(() => {
      this.running = false;
      if (this.queue.length > 0) {
        this.schedule();
      } else {
        for (const done of this.idleWaiters.splice(0)) done();
      }
    });
  }
}
