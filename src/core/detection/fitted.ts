import type { RgbImage } from '../image.js';
import { ScrfdDetector } from './scrfd.js';

/**
 * The detector input that fits an image: its own shape, scaled down (never up) to fit the model's usual input,
 * padded to multiples of 32. A 250×250 photo then costs 256×256 pixels instead of 640×640, a 640×360 video frame
 * 640×384. The face scale seen by the detector is the image's own (or the usual one for large images).
 */
export function fittedInputSize(maxWidth: number, maxHeight: number, width: number, height: number): [number, number] {
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  return [Math.max(32, Math.ceil((width * scale) / 32) * 32), Math.max(32, Math.ceil((height * scale) / 32) * 32)];
}

/** Detectors on one session at the sizes images need, made once each (a few sizes in a run at most). */
export class FittedDetectors {
  private readonly bySize = new Map<string, ScrfdDetector>();
  constructor(private readonly base: ScrfdDetector) {}

  /** The detector whose input fits the image inside maxWidth × maxHeight (default: the base detector's size). */
  for(image: RgbImage, maxWidth = this.base.inputWidth, maxHeight = this.base.inputHeight): ScrfdDetector {
    const [w, h] = fittedInputSize(maxWidth, maxHeight, image.width, image.height);
    return this.at(w, h);
  }

  /** The detector at exactly this input size (a model with a fixed input size keeps its own). */
  at(width: number, height: number): ScrfdDetector {
    if (this.base.fixedInput || (width === this.base.inputWidth && height === this.base.inputHeight)) return this.base;
    const key = `${width}x${height}`;
    let d = this.bySize.get(key);
    if (!d) {
      d = new ScrfdDetector(this.base.session, [width, height]);
      if (this.bySize.size >= 16) this.bySize.delete(this.bySize.keys().next().value!);
      this.bySize.set(key, d);
    }
    return d;
  }
}
