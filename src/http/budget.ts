import { waitInLine } from './admission.js';
import { ApiError } from './errors.js';

/**
 * Decoded pixels in flight, server-wide: a request holds its images' cost (bytes per pixel × pixels, read from
 * their headers before any decoding) while it works, and waits — until its deadline — while other requests hold
 * the budget. Memory then follows the budget, not the luck of what arrives together.
 */
export class MemoryBudget {
  private used = 0;
  private bodies = 0;
  private readonly waiting: { need: number; grant: () => void }[] = [];

  constructor(readonly bytes: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Bytes held by request bodies being received or kept. */
  get bodyBytes(): number {
    return this.bodies;
  }

  /** What request bodies together may hold: half the budget, so the decoding they then need always has room. */
  get bodyShare(): number {
    return this.bytes / 2;
  }

  /**
   * A request body's hold on the budget, grown as its bytes arrive (a slow client holds only what it has sent):
   * `grow` says false when the next bytes do not fit the bodies' share; `release` gives all of it back.
   */
  holdBody(): { grow: (bytes: number) => boolean; release: () => void; readonly released: boolean } {
    let held = 0;
    let released = false;
    return {
      get released() {
        return released;
      },
      grow: (bytes) => {
        if (released) return false;
        if (this.bodies + bytes > this.bodyShare || this.used + bytes > this.bytes) return false;
        this.used += bytes;
        this.bodies += bytes;
        held += bytes;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.used -= held;
        this.bodies -= held;
        this.grantWaiting();
      },
    };
  }

  /** Resolves to the release function once `need` bytes are held. */
  acquire(need: number, deadline: number, signal?: AbortSignal): Promise<() => void> {
    if (need > this.bytes) {
      return Promise.reject(new ApiError('IMAGE_TOO_LARGE', `the request's images need ${mib(need)} MiB decoded; this server decodes at most ${mib(this.bytes)} MiB at a time (send fewer or smaller images)`));
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.used -= need;
      this.grantWaiting();
    };
    if (this.waiting.length === 0 && this.used + need <= this.bytes) {
      this.used += need;
      return Promise.resolve(release);
    }
    const line = waitInLine(this.waiting, deadline, signal, 'the request\'s deadline passed while it waited for decoding memory', (grant) => ({
      need,
      grant: () => {
        this.used += need;
        grant();
      },
    }), () => this.grantWaiting());
    return line.then(() => release);
  }

  /** First come, first served: a large request is not overtaken for ever by small ones. */
  private grantWaiting(): void {
    while (this.waiting.length && this.used + this.waiting[0].need <= this.bytes) this.waiting[0].grant();
  }
}

const mib = (bytes: number) => Math.ceil(bytes / 2 ** 20);
