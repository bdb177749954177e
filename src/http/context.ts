import type { FastifyRequest } from 'fastify';
import { imageSize } from '../node/decode.js';
import type { FaceAnalyzer } from '../node/index.js';
import type { FaceGallery } from '../node/gallery/index.js';
import type { Admission } from './admission.js';
import type { MemoryBudget } from './budget.js';
import { ApiError } from './errors.js';
import type { ImageInputOptions, UploadedImage } from './images.js';

/** What the route modules share. */
export interface RouteContext {
  analyzer: FaceAnalyzer;
  gallery: FaceGallery;
  images: ImageInputOptions;
  /**
   * Runs a request's model work on its images: in a slot of the bounded queue, holding the decoded pixels'
   * share of the memory budget, by the request's deadline; `signal` aborts when the client goes or the deadline
   * passes (work stops at the next image).
   */
  work<T>(req: FastifyRequest, images: readonly UploadedImage[], job: (signal: AbortSignal) => Promise<T>, extraBytes?: number): Promise<T>;
  /** Records the request body of an image route for the OpenAPI document. */
  documentBody(method: string, url: string, body: Record<string, unknown>): void;
}

/**
 * Memory a decode holds per pixel while its request works, measured (docs/security.md): libvips' output
 * (RGB/RGBA), our RGB copy, and the padded canvas of a face-less image's retry.
 */
const DECODE_BYTES_PER_PIXEL = 16;

/** RouteContext.work on this server's admission queue and memory budget. */
export function workRunner(admission: Admission, budget: MemoryBudget, pixelLimit: number): RouteContext['work'] {
  return async (req, uploaded, job, extraBytes = 0) => {
    // what decoding these images will cost, from their headers; an image whose header cannot be read costs
    // nothing here and is refused by its decode with its own error
    const sizes = await Promise.all(uploaded.map((i) => imageSize(i.data, { pixelLimit }).catch(() => null)));
    const need = extraBytes + sizes.reduce((sum, s) => sum + (s ? s.width * s.height * DECODE_BYTES_PER_PIXEL : 0), 0);
    const signal = AbortSignal.any([req.clientGone, AbortSignal.timeout(Math.max(1, req.deadline - Date.now()))]);
    return admission.run(async () => {
      const release = await budget.acquire(need, req.deadline, req.clientGone);
      try {
        return await job(signal);
      } finally {
        release();
      }
    }, { deadline: req.deadline, signal: req.clientGone });
  };
}

/** Exactly one image from the named fields. */
export function oneImage(images: readonly UploadedImage[], fields: readonly string[] = ['image']): UploadedImage {
  const found = images.filter((i) => fields.includes(i.field));
  if (found.length !== 1) throw new ApiError('INVALID_INPUT', `send exactly one image in ${fields.join(' or ')} (got ${found.length})`);
  return found[0];
}

/** A JSON object given in a query parameter (e.g. where={"team":"a"}). */
export function jsonObjectParam(text: string | undefined, name: string): Record<string, unknown> | undefined {
  if (text === undefined || text === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ApiError('INVALID_INPUT', `${name} must be a JSON object`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ApiError('INVALID_INPUT', `${name} must be a JSON object`);
  return v as Record<string, unknown>;
}
