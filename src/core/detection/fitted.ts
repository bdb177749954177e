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

  for(image: RgbImage): ScrfdDetector {
    const [w, h] = fittedInputSize(this.base.inputWidth, this.base.inputHeight, image.width, image.height);
    if (w === this.base.inputWidth && h === this.base.inputHeight) return this.base;
    const key = `${w}x${h}`;
    let d = this.bySize.get(key);
    if (!d) {
      // a model with a fixed input size keeps it: the new detector then equals the base
      d = new ScrfdDetector(this.base.session, [w, h]);
      if (this.bySize.size >= 16) this.bySize.delete(this.bySize.keys().next().value!);
      this.bySize.set(key, d);
    }
    return d;
  }
}
