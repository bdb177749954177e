/** Thrown when the service is past capacity: the caller should come back after `retryAfterS`. */
export class OverloadedError extends Error {
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS: number) {
    super(message);
    this.name = 'OverloadedError';
    this.retryAfterS = retryAfterS;
  }
}

export interface AdmissionOptions {
  /** Jobs (requests doing model work) running at once; more than one lets the batcher group their faces. */
  concurrency: number;
  /** Jobs allowed to wait for a slot; one more is refused at once. */
  maxQueue: number;
  /** A job that waited this long for a slot is refused rather than started late. */
  queueTimeoutMs: number;
}

/**
 * A bounded queue in front of the models: past capacity a request is refused now (503 + Retry-After) instead
 * of piling up memory and latency.
 */
export class Admission {
  private readonly options: AdmissionOptions;
  private active = 0;
  private waiting: { start: () => void; timer: ReturnType<typeof setTimeout> }[] = [];

  constructor(options: AdmissionOptions) {
    this.options = { ...options, concurrency: Math.max(1, options.concurrency) };
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.options.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.options.maxQueue) {
      return Promise.reject(new OverloadedError(`server busy: ${this.active} running, ${this.waiting.length} waiting`, 1));
    }
    return new Promise((resolve, reject) => {
      const entry = {
        start: () => {
          clearTimeout(entry.timer);
          resolve();
        },
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          reject(new OverloadedError(`waited ${this.options.queueTimeoutMs} ms for a free slot`, 2));
        }, this.options.queueTimeoutMs),
      };
      this.waiting.push(entry);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start(); // the slot passes straight to the next job
    else this.active--;
  }
}
