import { FaceprintError } from './errors.js';

/** Decoded 8-bit RGB pixels, row-major HWC. Every stage of the core works on this. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width × height × 3 bytes, R G B. */
  readonly data: Uint8Array;
}

export function rgbImage(width: number, height: number, data: Uint8Array): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new FaceprintError('INVALID_INPUT', `image size must be positive integers, got ${width}×${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new FaceprintError(
      'INVALID_INPUT',
      `raw RGB buffer of ${width}×${height} needs ${width * height * 3} bytes, got ${data.length}`,
    );
  }
  return { width, height, data };
}

/** The image centred on a black canvas with `margin` pixels on every side. */
export function padImage(image: RgbImage, margin: number): RgbImage {
  const w = image.width + 2 * margin;
  const h = image.height + 2 * margin;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < image.height; y++) {
    out.set(image.data.subarray(y * image.width * 3, (y + 1) * image.width * 3), ((y + margin) * w + margin) * 3);
  }
  return { width: w, height: h, data: out };
}
