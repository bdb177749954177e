/** How fast the estimate of a job's duration fades while no job ends. */
const ESTIMATE_HALF_LIFE_MS = 5_000;

/** Thrown when the service is past capacity: the caller should come back after `retryAfterS`. */
export class OverloadedError extends Error {
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS: number) {
    super(message);
    this.name = 'OverloadedError';
    this.retryAfterS = retryAfterS;
  }
}

/** The client went away: its request is dropped (no work starts, work in progress stops at the next image). */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** When and why a job must stop waiting: the request's deadline (from its arrival) and its client's presence. */
export interface JobLimits {
  /** Epoch ms by which the answer is due. */
  deadline?: number;
  signal?: AbortSignal;
}

export interface AdmissionOptions {
  /** Jobs (requests doing model work) running at once; more than one lets the batcher group their faces. */
  concurrency: number;
  /** Jobs allowed to wait for a slot; one more is refused at once. */
  maxQueue: number;
  /** The deadline of a job that brings none, from when it asks for a slot. */
  deadlineMs: number;
}

/**
 * A bounded queue in front of the models: past capacity a request is refused now (503 + Retry-After) instead
 * of piling up memory and latency.
 */
export class Admission {
  private readonly options: AdmissionOptions;
  private active = 0;
  private waiting: { deadline: number; start: () => void; fail: (e: Error) => void }[] = [];
  /**
   * A recent job's duration (exponential average): a job that cannot finish by its deadline is not started.
   * It fades with time since the last job ended (half-life ESTIMATE_HALF_LIFE_MS), and an idle server always
   * admits a job: one slow job cannot shut the door on every later one.
   */
  private typicalJobMs = 0;
  private typicalAt = 0;

  constructor(options: AdmissionOptions) {
    this.options = { ...options, concurrency: Math.max(1, options.concurrency) };
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(job: () => Promise<T>, limits: JobLimits = {}): Promise<T> {
    const deadline = limits.deadline ?? Date.now() + this.options.deadlineMs;
    await this.acquire(deadline, limits.signal);
    const started = Date.now();
    try {
      return await job();
    } finally {
      const now = Date.now();
      this.typicalJobMs = 0.8 * this.typicalEstimate(now) + 0.2 * (now - started);
      this.typicalAt = now;
      this.release();
    }
  }

  /** The typical job's duration as it stands now: faded by the time since a job last ended. */
  typicalEstimate(now = Date.now()): number {
    return this.typicalJobMs * 0.5 ** (Math.max(0, now - this.typicalAt) / ESTIMATE_HALF_LIFE_MS);
  }

  private tooLate(deadline: number): OverloadedError | null {
    const now = Date.now();
    if (now >= deadline) return new OverloadedError('the request\'s deadline passed while it waited for a free slot', 2);
    // nothing running: this job is the probe that measures the server again
    if (this.active === 0) return null;
    const typical = this.typicalEstimate(now);
    if (now + typical > deadline) return new OverloadedError(`too late to start: a job takes about ${Math.round(typical)} ms and the deadline is in ${deadline - now} ms`, 2);
    return null;
  }

  private acquire(deadline: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new ClientGoneError());
    const late = this.tooLate(deadline);
    if (late) return Promise.reject(late);
    if (this.active < this.options.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.options.maxQueue) {
      return Promise.reject(new OverloadedError(`server busy: ${this.active} running, ${this.waiting.length} waiting`, 1));
    }
    return waitInLine(this.waiting, deadline, signal, 'the request\'s deadline passed while it waited for a free slot', (start, fail) => ({ deadline, start, fail }));
  }

  private release(): void {
    // the slot passes straight to the next job that can still make its deadline
    for (let next = this.waiting[0]; next; next = this.waiting[0]) {
      const late = this.tooLate(next.deadline);
      if (!late) {
        next.start();
        return;
      }
      next.fail(late);
    }
    this.active--;
  }
}

/**
 * A place in a first-come, first-served line: resolved when the entry's grant is called; rejected, out of the line,
 * when the deadline passes (503) or the client goes (then `afterLeaving` lets the line move on).
 */
export function waitInLine<E>(
  line: E[], deadline: number, signal: AbortSignal | undefined, lateMessage: string,
  entryOf: (grant: () => void, fail: (e: Error) => void) => E, afterLeaving?: () => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const leave = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const i = line.indexOf(entry);
      if (i >= 0) line.splice(i, 1);
    };
    const fail = (e: Error) => {
      leave();
      reject(e);
      afterLeaving?.();
    };
    const onAbort = () => fail(new ClientGoneError());
    const entry = entryOf(() => {
      leave();
      resolve();
    }, fail);
    const timer = setTimeout(() => fail(new OverloadedError(lateMessage, 2)), Math.max(0, deadline - Date.now()));
    signal?.addEventListener('abort', onAbort, { once: true });
    line.push(entry);
  });
}
