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
