import type { FastifyRequest } from 'fastify';
import { request as undiciRequest } from 'undici';
import { ApiError } from './errors.js';

/** An uploaded image: its bytes and a label (file name or field), never logged with its content. */
export interface UploadedImage {
  field: string;
  data: Uint8Array;
  source?: string;
}

export interface ImageInputOptions {
  /** Hosts whose http(s) URLs may be fetched (`{"image":{"url":…}}`); empty: URL fetching is off (SSRF). */
  fetchHosts: readonly string[];
  /** Largest image accepted, in bytes (uploads and fetches alike). */
  maxBytes: number;
  fetchTimeoutMs: number;
}

const IMAGE_FIELDS = ['image', 'images', 'a', 'b'];

/**
 * The images of a request, whatever the way they came: multipart parts (any file field; text fields are
 * returned as `fields`), a raw body (image/* or application/octet-stream), or JSON with `image`, `images`, `a`,
 * `b` as base64 strings (data URLs too), `{base64}` or `{url}` objects.
 */
export async function readImages(req: FastifyRequest, options: ImageInputOptions): Promise<{ images: UploadedImage[]; fields: Record<string, string> }> {
  const images: UploadedImage[] = [];
  const fields: Record<string, string> = {};
  if (req.isMultipart()) {
    let total = 0;
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        const data = await part.toBuffer();
        total += data.length;
        // each file is capped by the multipart limits; all of them together by the body limit
        if (total > options.maxBytes) throw new ApiError(413, 'BODY_TOO_LARGE', `the uploaded files exceed ${options.maxBytes} bytes in all`);
        images.push({ field: part.fieldname, data, source: part.filename || part.fieldname });
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
    return { images, fields };
  }
  const body = req.body;
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) throw new ApiError(400, 'IMAGE_EMPTY', 'the request body is empty');
    return { images: [{ field: 'image', data: body }], fields };
  }
  if (body && typeof body === 'object') {
    for (const field of IMAGE_FIELDS) {
      const value = (body as Record<string, unknown>)[field];
      if (value === undefined) continue;
      const list = Array.isArray(value) ? value : [value];
      for (let i = 0; i < list.length; i++) images.push(await jsonImage(field, list[i], `${field}${Array.isArray(value) ? `[${i}]` : ''}`, options));
    }
    return { images, fields };
  }
  if (body === undefined || body === null) return { images, fields };
  throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send images as multipart/form-data, a raw image/* body, or JSON');
}

async function jsonImage(field: string, value: unknown, label: string, options: ImageInputOptions): Promise<UploadedImage> {
  if (typeof value === 'string') return { field, data: fromBase64(value, label, options), source: label };
  if (value && typeof value === 'object') {
    const v = value as { base64?: unknown; url?: unknown; name?: unknown };
    const source = typeof v.name === 'string' ? v.name : label;
    if (typeof v.base64 === 'string') return { field, data: fromBase64(v.base64, label, options), source };
    if (typeof v.url === 'string') return { field, data: await fetchImage(v.url, label, options), source };
  }
  throw new ApiError(400, 'INVALID_INPUT', `${label}: give a base64 string, {"base64": …} or {"url": …}`);
}

function fromBase64(text: string, label: string, options: ImageInputOptions): Uint8Array {
  const payload = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text;
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload.replace(/\s+/g, ''))) throw new ApiError(400, 'INVALID_INPUT', `${label}: not base64`);
  const data = Buffer.from(payload, 'base64');
  if (data.length === 0) throw new ApiError(400, 'IMAGE_EMPTY', `${label}: zero bytes`);
  if (data.length > options.maxBytes) throw new ApiError(413, 'BODY_TOO_LARGE', `${label}: over ${options.maxBytes} bytes`);
  return data;
}

/** Fetches an image URL, only from the allowed hosts, with a size cap and a timeout; no redirects followed. */
async function fetchImage(url: string, label: string, options: ImageInputOptions): Promise<Uint8Array> {
  if (options.fetchHosts.length === 0) throw new ApiError(400, 'URL_FETCH_DISABLED', 'fetching images by URL is off on this server (start it with --fetch-hosts)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ApiError(400, 'INVALID_INPUT', `${label}: not a URL`);
  }
  if (!/^https?:$/.test(parsed.protocol) || !options.fetchHosts.includes(parsed.host)) {
    throw new ApiError(400, 'URL_NOT_ALLOWED', `${label}: ${parsed.protocol}//${parsed.host} is not an allowed image host`);
  }
  try {
    const res = await undiciRequest(parsed, { method: 'GET', maxRedirections: 0, headersTimeout: options.fetchTimeoutMs, bodyTimeout: options.fetchTimeoutMs });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new ApiError(400, 'URL_FETCH_FAILED', `${label}: the image host answered ${res.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > options.maxBytes) {
        res.body.destroy();
        throw new ApiError(413, 'BODY_TOO_LARGE', `${label}: over ${options.maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError(400, 'URL_FETCH_FAILED', `${label}: ${(e as Error).message}`);
  }
}
