import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { FaceprintError } from '../core/errors.js';
import { rgbImage, type RgbImage } from '../core/image.js';

/** Raw pixels handed in directly: 8-bit RGB (3 channels) or RGBA (4, alpha dropped), row-major. */
export interface RawPixels {
  width: number;
  height: number;
  data: Uint8Array;
  channels?: 3 | 4;
}

export type ImageInput = string | Uint8Array | RawPixels;

export interface DecodeOptions {
  /** Refuse images with more pixels than this before decoding them (header check). Default 100 M. */
  pixelLimit?: number;
  /** libvips stops decoding after this long (sharp's timeout, whole seconds, rounded up). */
  timeoutMs?: number;
  /** The caller stops waiting when this aborts (its reason is thrown); libvips ends by timeoutMs. */
  signal?: AbortSignal;
}

export const DEFAULT_PIXEL_LIMIT = 100_000_000;

/**
 * Decodes to 8-bit RGB as OpenCV's imread(IMREAD_COLOR) does for InsightFace: format sniffed from the bytes
 * (not the file name), EXIF orientation applied, gray expanded to 3 channels, alpha dropped (not composited),
 * 16-bit reduced to the high byte, first frame of an animation, embedded ICC profiles ignored (OpenCV ignores
 * them; converting to sRGB moved every pixel of a golden image by up to 12 levels). libvips' libjpeg-turbo
 * gives OpenCV's pixels.
 */
export async function decodeImage(input: ImageInput, options: DecodeOptions = {}): Promise<RgbImage> {
  if (typeof input === 'object' && !(input instanceof Uint8Array)) return fromRaw(input);
  const bytes = typeof input === 'string' ? await readImageFile(input) : input;
  const label = typeof input === 'string' ? input : 'image buffer';
  if (bytes.length === 0) throw new FaceprintError('IMAGE_EMPTY', `${label}: zero bytes`);
  requireRasterFormat(bytes, label);
  const limit = options.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  try {
    // libvips casts 16-bit samples to their high byte on 8-bit output, as libpng's strip_16 does for OpenCV.
    let pipeline = sharp(bytes, { limitInputPixels: limit, failOn: 'error', pages: 1, ignoreIcc: true }).rotate().raw();
    if (options.timeoutMs) pipeline = pipeline.timeout({ seconds: Math.max(1, Math.ceil(options.timeoutMs / 1000)) });
    const decoding = pipeline.toBuffer({ resolveWithObject: true });
    const { data, info } = options.signal ? await untilAborted(decoding, options.signal) : await decoding;
    return toRgb(data, info.width, info.height, info.channels);
  } catch (e) {
    if (e instanceof FaceprintError || (options.signal?.aborted && e === options.signal.reason)) throw e;
    throw mapSharpError(e, label, limit);
  }
}

/** The promise's value, or the signal's reason as soon as it aborts (the work itself goes on until it ends). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The raster formats faceprint decodes, by their first bytes. */
export type RasterFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'heif';

/**
 * The image's format from its magic bytes, or null. Only raster formats: SVG, PDF and the other formats libvips
 * can render are programs more than pictures (a 228-byte SVG filter renders for minutes), so they are never
 * handed to the decoder, whatever the file is called.
 */
export function sniffRasterFormat(b: Uint8Array): RasterFormat | null {
  const at = (offset: number, text: string) => text.split('').every((c, i) => b[offset + i] === c.charCodeAt(0));
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && at(1, 'PNG\r\n\x1a\n')) return 'png';
  if (b.length >= 12 && at(0, 'RIFF') && at(8, 'WEBP')) return 'webp';
  if (b.length >= 6 && (at(0, 'GIF87a') || at(0, 'GIF89a'))) return 'gif';
  if (b.length >= 4 && (at(0, 'II*\0') || at(0, 'MM\0*'))) return 'tiff';
  if (b.length >= 12 && at(4, 'ftyp') && ['avif', 'avis', 'heic', 'heix', 'mif1', 'msf1'].some((brand) => at(8, brand))) return 'heif';
  return null;
}

function requireRasterFormat(bytes: Uint8Array, label: string): RasterFormat {
  const format = sniffRasterFormat(bytes);
  if (!format) throw new FaceprintError('IMAGE_UNSUPPORTED', `${label}: not a raster image (JPEG, PNG, WebP, GIF, TIFF, AVIF/HEIF)`);
  return format;
}

/**
 * Width and height from the image's header, without decoding its pixels: what a decode of it will cost.
 * Refuses what decodeImage refuses (not a raster format, over the pixel limit) the same way.
 */
export async function imageSize(bytes: Uint8Array, options: DecodeOptions = {}): Promise<{ width: number; height: number; format: RasterFormat }> {
  if (bytes.length === 0) throw new FaceprintError('IMAGE_EMPTY', 'image buffer: zero bytes');
  const format = requireRasterFormat(bytes, 'image buffer');
  const limit = options.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: limit, pages: 1 }).metadata();
  } catch (e) {
    throw mapSharpError(e, 'image buffer', limit);
  }
  if (!meta.width || !meta.height) throw new FaceprintError('IMAGE_CORRUPT', 'image buffer: no dimensions in its header');
  if (meta.width * meta.height > limit) throw new FaceprintError('IMAGE_TOO_LARGE', `image buffer: ${meta.width}×${meta.height} is more than ${limit} pixels`);
  return { width: meta.width, height: meta.height, format };
}

async function readImageFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FaceprintError('IMAGE_NOT_FOUND', `${path}: no such file`, { cause: e });
    if (code === 'EISDIR') throw new FaceprintError('IMAGE_UNSUPPORTED', `${path}: is a directory`, { cause: e });
    throw new FaceprintError('IMAGE_NOT_FOUND', `${path}: cannot read (${code ?? (e as Error).message})`, { cause: e });
  }
}

function toRgb(src: Buffer, width: number, height: number, channels: number): RgbImage {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  if (channels === 3) {
    out.set(src.subarray(0, n * 3));
  } else if (channels >= 3) {
    for (let i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 3) {
      out[o] = src[s];
      out[o + 1] = src[s + 1];
      out[o + 2] = src[s + 2];
    }
  } else {
    for (let i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 3) {
      const v = src[s];
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  }
  return rgbImage(width, height, out);
}

function fromRaw(raw: RawPixels): RgbImage {
  const channels = raw.channels ?? 3;
  if (channels === 3) return rgbImage(raw.width, raw.height, raw.data);
  if (raw.data.length !== raw.width * raw.height * 4) {
    throw new FaceprintError('INVALID_INPUT', `raw RGBA buffer of ${raw.width}×${raw.height} needs ${raw.width * raw.height * 4} bytes, got ${raw.data.length}`);
  }
  const out = new Uint8Array(raw.width * raw.height * 3);
  for (let i = 0, s = 0; i < out.length; i += 3, s += 4) {
    out[i] = raw.data[s];
    out[i + 1] = raw.data[s + 1];
    out[i + 2] = raw.data[s + 2];
  }
  return rgbImage(raw.width, raw.height, out);
}

function mapSharpError(e: unknown, label: string, limit: number): FaceprintError {
  const msg = String((e as Error)?.message ?? e);
  if (/^timeout/i.test(msg)) return new FaceprintError('TIMED_OUT', `${label}: decoding took too long`, { cause: e });
  if (/pixel limit/i.test(msg)) {
    return new FaceprintError('IMAGE_TOO_LARGE', `${label}: more than ${limit} pixels (set pixelLimit to allow it)`, { cause: e });
  }
  if (/unsupported image format|bad seek|not a known file format/i.test(msg)) {
    return new FaceprintError('IMAGE_UNSUPPORTED', `${label}: not an image format faceprint can decode`, { cause: e });
  }
  return new FaceprintError('IMAGE_CORRUPT', `${label}: cannot decode (${msg.split('\n')[0]})`, { cause: e });
}
