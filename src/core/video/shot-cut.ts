import type { RgbImage } from '../image.js';

/**
 * Shot cuts the way PySceneDetect's adaptive detector finds them: a frame's content change (mean HSV difference
 * from the frame before, on a 64×36 grid) against the changes of the frames just before it. A cut is a change
 * several times the recent ones and large in itself, at least `minShotMs` after the last cut; a lighting ramp
 * changes every frame a little and never stands out, and a one-frame flash — which changes as much as a cut — is
 * told apart one frame later: after a flash the picture returns to what it was before, after a cut it does not.
 */

const GRID_W = 64;
const GRID_H = 36;

/** A frame's colours on the grid, as hue (0–255, circular), saturation and value. */
export type FrameSignature = Uint8Array;

export function frameSignature(image: RgbImage): FrameSignature {
  const out = new Uint8Array(GRID_W * GRID_H * 3);
  const { data, width, height } = image;
  let k = 0;
  for (let gy = 0; gy < GRID_H; gy++) {
    const row = Math.min(height - 1, Math.floor(((gy + 0.5) * height) / GRID_H)) * width;
    for (let gx = 0; gx < GRID_W; gx++) {
      const o = (row + Math.min(width - 1, Math.floor(((gx + 0.5) * width) / GRID_W))) * 3;
      const r = data[o], g = data[o + 1], b = data[o + 2];
      const max = Math.max(r, g, b);
      const d = max - Math.min(r, g, b);
      let h = 0;
      if (d) h = max === r ? ((g - b) / d + 6) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
      out[k++] = Math.round((h * 256) / 6) & 255;
      out[k++] = max ? Math.round((255 * d) / max) : 0;
      out[k++] = max;
    }
  }
  return out;
}

/** Mean absolute HSV difference of two signatures (hue the short way round), 0–255. */
export function contentChange(a: FrameSignature, b: FrameSignature): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 3) {
    const dh = Math.abs(a[i] - b[i]);
    sum += Math.min(dh, 256 - dh) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]);
  }
  return sum / a.length;
}

export interface ShotCutOptions {
  /** A cut's change must be this many times the mean change of the frames before it. Default 3. */
  ratio?: number;
  /** … and at least this large (0–255 HSV units). Default 10. */
  minContent?: number;
  /** No cut closer than this to the previous one. Default 300 ms. */
  minShotMs?: number;
  /** Frames whose changes make the "recent" mean. Default 4. */
  window?: number;
}

/** What a frame says about cuts: a candidate to hold back, a confirmed cut (between the two frames before). */
export interface ShotCutVerdict {
  /** This frame changed like a cut: judge it when the next frame comes (a flash or a cut). */
  candidate: boolean;
  /** The previous frame was a cut: it is the new shot's first frame. */
  confirmed: boolean;
  /** The content change of this frame from the one before. */
  change: number;
}

/** The streaming detector: one frame at a time, a verdict a frame late at most. */
export class ShotCutDetector {
  private readonly ratio: number;
  private readonly minContent: number;
  private readonly minShotMs: number;
  private readonly window: number;
  private readonly recent: number[] = [];
  private previous: FrameSignature | null = null;
  private beforeCandidate: FrameSignature | null = null;
  private pending: { change: number } | null = null;
  private lastCutMs = -Infinity;

  constructor(options: ShotCutOptions = {}) {
    this.ratio = options.ratio ?? 3;
    this.minContent = options.minContent ?? 10;
    this.minShotMs = options.minShotMs ?? 300;
    this.window = Math.max(1, options.window ?? 4);
  }

  push(image: RgbImage, timeMs: number): ShotCutVerdict {
    const signature = frameSignature(image);
    const change = this.previous ? contentChange(signature, this.previous) : 0;
    let confirmed = false;
    let flash = false;
    if (this.pending) {
      // a flash returns to the picture before it; a cut stays away from it
      const back = contentChange(signature, this.beforeCandidate!);
      confirmed = back >= Math.max(this.minContent, this.pending.change / 2);
      if (confirmed) {
        this.lastCutMs = timeMs;
        this.recent.length = 0;
      }
      flash = !confirmed;
      this.pending = null;
    } else {
      const mean = this.recent.length ? this.recent.reduce((a, b) => a + b, 0) / this.recent.length : Infinity;
      const candidate = this.previous !== null && change >= this.minContent && change >= this.ratio * mean && timeMs - this.lastCutMs >= this.minShotMs;
      if (candidate) {
        this.pending = { change };
        this.beforeCandidate = this.previous;
        this.previous = signature;
        return { candidate: true, confirmed: false, change };
      }
    }
    // the return from a flash changes as much as the flash: it is not what this shot's changes look like
    if (this.previous && !flash) {
      this.recent.push(change);
      if (this.recent.length > this.window) this.recent.shift();
    }
    this.previous = signature;
    return { candidate: false, confirmed, change };
  }
}
