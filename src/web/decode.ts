import { FaceprintError } from '../core/errors.js';
import { rgbImage, type RgbImage } from '../core/image.js';

/**
 * What the browser entry takes as an image: anything createImageBitmap takes — a File or Blob (decoded by the
 * browser), an <img>, <canvas>, <video>, ImageBitmap, OffscreenCanvas, VideoFrame or ImageData.
 */
export type WebImageInput = ImageBitmapSource;

export interface WebDecodeOptions {
  /** Refuse images with more pixels than this. Default 100 M. */
  pixelLimit?: number;
}

/**
 * Browser pixels as the core's RGB: EXIF orientation applied, colour profiles NOT applied (OpenCV, and so
 * InsightFace, ignores them), alpha dropped (not composited), as the Node decoder does.
 */
export async function decodeWebImage(input: WebImageInput, options: WebDecodeOptions = {}): Promise<RgbImage> {
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) return fromRgba(input.data, input.width, input.height, options);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(input, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch (e) {
    const empty = input instanceof Blob && input.size === 0;
    throw new FaceprintError(empty ? 'IMAGE_EMPTY' : 'IMAGE_UNSUPPORTED', `the browser cannot decode this image (${(e as Error).message})`, { cause: e });
  }
  try {
    const { width, height } = bitmap;
    checkSize(width, height, options);
    const canvas = new OffscreenCanvas(width, height);
    const g = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
    if (!g) throw new FaceprintError('IMAGE_UNSUPPORTED', 'no 2D canvas in this browser');
    g.drawImage(bitmap, 0, 0);
    return fromRgba(g.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data, width, height, options);
  } finally {
    bitmap.close();
  }
}

function checkSize(width: number, height: number, options: WebDecodeOptions): void {
  const limit = options.pixelLimit ?? 100_000_000;
  if (width * height > limit) throw new FaceprintError('IMAGE_TOO_LARGE', `${width}×${height} is more than ${limit} pixels`);
}

function fromRgba(rgba: Uint8ClampedArray, width: number, height: number, options: WebDecodeOptions): RgbImage {
  checkSize(width, height, options);
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, s = 0; i < out.length; i += 3, s += 4) {
    out[i] = rgba[s];
    out[i + 1] = rgba[s + 1];
    out[i + 2] = rgba[s + 2];
  }
  return rgbImage(width, height, out);
}
