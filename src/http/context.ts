import type { FastifyRequest } from 'fastify';
import type { FaceAnalyzer } from '../node/index.js';
import type { FaceGallery } from '../node/gallery/index.js';
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
