import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { Agent, request as undiciRequest } from 'undici';
import { OverloadedError } from './admission.js';
import { ApiError } from './errors.js';
import { imageSourceName } from '../core/gallery/store-rules.js';

/** An uploaded image: its bytes and a label (file name or field), never logged with its content. */
export interface UploadedImage {
  field: string;
  data: Uint8Array;
  source?: string;
}

export interface ImageInputOptions {
  /** Hosts whose http(s) URLs may be fetched (`{"image":{"url":…}}`); empty: URL fetching is off (SSRF). */
  fetchHosts: readonly string[];
  /** Largest image accepted, in bytes (uploads and fetches alike); also what one request may fetch in all. */
  maxBytes: number;
  /** Whole time allowed for one fetch: connect, headers and body (a slow drip is cut off at this). */
  fetchTimeoutMs: number;
  /** Images per request, however sent. */
  maxImages: number;
  /** URLs fetched per request. */
  maxUrls: number;
}

/** Which fields a route reads images from; anything else is refused before any work (or fetch) is done. */
export interface ImageFields {
  fields: readonly string[];
}

type Pending = { field: string; label: string; value: unknown };

/**
 * The images of a request, whatever the way they came: multipart parts (file fields; text fields are returned
 * as `fields`), a raw body (image/* or application/octet-stream, field `image`), or JSON whose image fields hold
 * base64 strings (data URLs too), `{base64}` or `{url}` objects. Only the route's fields are accepted, at most
 * `maxImages` images and `maxUrls` URLs; URLs are fetched only once the whole request has passed those checks.
 */
export async function readImages(req: FastifyRequest, options: ImageInputOptions, accept: ImageFields): Promise<{ images: UploadedImage[]; fields: Record<string, string> }> {
  const images: UploadedImage[] = [];
  const fields: Record<string, string> = {};
  if (req.isMultipart()) {
    try {
      await readMultipart(req, options, accept, images, fields);
    } catch (e) {
      // busboy's own errors (no boundary, data cut short) are the client's malformed body, not our fault
      if (e instanceof ApiError || String((e as { code?: unknown }).code ?? '').startsWith('FST_')) throw e;
      throw new ApiError('INVALID_BODY', `malformed multipart body: ${(e as Error).message}`);
    }
    return { images, fields };
  }
  const body = req.body;
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) throw new ApiError('IMAGE_EMPTY', 'the request body is empty');
    if (!accept.fields.includes('image')) throw new ApiError('INVALID_INPUT', `send the images as multipart or JSON fields ${accept.fields.join(', ')}`);
    return { images: [{ field: 'image', data: body }], fields };
  }
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const pending: Pending[] = [];
    for (const field of IMAGE_FIELDS) {
      const value = (body as Record<string, unknown>)[field];
      if (value === undefined) continue;
      if (!accept.fields.includes(field)) throw unexpectedField(field, accept);
      const list = Array.isArray(value) ? value : [value];
      if (pending.length + list.length > options.maxImages) throw tooManyImages(options);
      list.forEach((v, i) => pending.push({ field, value: v, label: `${field}${Array.isArray(value) ? `[${i}]` : ''}` }));
    }
    const urls = pending.filter((p) => typeof (p.value as { url?: unknown } | null)?.url === 'string').length;
    if (urls > 0 && options.fetchHosts.length === 0) throw new ApiError('URL_FETCH_DISABLED', 'fetching images by URL is off on this server (start it with --fetch-hosts)');
    if (urls > options.maxUrls) throw new ApiError('TOO_MANY_URLS', `at most ${options.maxUrls} image URLs per request`);
    const fetchBudget = { left: options.maxBytes };
    for (const p of pending) images.push(await jsonImage(p, options, fetchBudget, req.clientGone, req.deadline));
    return { images, fields };
  }
  if (body === undefined || body === null) return { images, fields };
  throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send images as multipart/form-data, a raw image/* body, or a JSON object');
}

const IMAGE_FIELDS = ['image', 'images', 'a', 'b'];

const tooManyImages = (options: ImageInputOptions) => new ApiError('TOO_MANY_IMAGES', `at most ${options.maxImages} images per request`);
const unexpectedField = (field: string, accept: ImageFields) =>
  new ApiError('INVALID_INPUT', `unexpected image field ${JSON.stringify(field)}; this route reads ${accept.fields.join(', ')}`);

async function readMultipart(req: FastifyRequest, options: ImageInputOptions, accept: ImageFields, images: UploadedImage[], fields: Record<string, string>): Promise<void> {
  let total = 0;
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (!accept.fields.includes(part.fieldname)) throw unexpectedField(part.fieldname, accept);
      if (images.length >= options.maxImages) throw tooManyImages(options);
      const data = await part.toBuffer();
      total += data.length;
      // each file is capped by the multipart limits; all of them together by the body limit
      if (total > options.maxBytes) throw new ApiError('BODY_TOO_LARGE', `the uploaded files exceed ${options.maxBytes} bytes in all`);
      images.push({ field: part.fieldname, data, source: imageSourceName(part.filename || part.fieldname) });
    } else {
      fields[part.fieldname] = String(part.value);
    }
  }
}


async function jsonImage({ field, value, label }: Pending, options: ImageInputOptions, budget: { left: number }, signal?: AbortSignal, deadline?: number): Promise<UploadedImage> {
  if (typeof value === 'string') return { field, data: fromBase64(value, label, options), source: label };
  if (value && typeof value === 'object') {
    const v = value as { base64?: unknown; url?: unknown; name?: unknown };
    const source = typeof v.name === 'string' ? imageSourceName(v.name) : label;
    if (typeof v.base64 === 'string') return { field, data: fromBase64(v.base64, label, options), source };
    if (typeof v.url === 'string') return { field, data: await fetchImage(v.url, label, options, budget, signal, deadline), source };
  }
  throw new ApiError('INVALID_INPUT', `${label}: give a base64 string, {"base64": …} or {"url": …}`);
}

function fromBase64(text: string, label: string, options: ImageInputOptions): Uint8Array {
  const payload = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text;
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload.replace(/\s+/g, ''))) throw new ApiError('INVALID_INPUT', `${label}: not base64`);
  const data = Buffer.from(payload, 'base64');
  if (data.length === 0) throw new ApiError('IMAGE_EMPTY', `${label}: zero bytes`);
  if (data.length > options.maxBytes) throw new ApiError('BODY_TOO_LARGE', `${label}: over ${options.maxBytes} bytes`);
  return data;
}

// Addresses a name on the allowlist may not resolve to (DNS rebinding would turn an allowed name into a way to
// the server's own network): loopback, private, link-local, CGNAT, unique-local, multicast, unspecified.
const INTERNAL = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 3]] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['::ffff:0:0', 96]] as const) INTERNAL.addSubnet(net, bits, 'ipv6');

/**
 * A host[:port] as URL parsing writes it, so that an allowlist entry matches the URLs it means: an IPv4-mapped
 * IPv6 address `[::ffff:127.0.0.1]` is written `[::ffff:7f00:1]`, names are lower-cased, default ports dropped.
 */
export function normaliseHost(host: string): string {
  try {
    return new URL(`http://${host}`).host;
  } catch {
    return host;
  }
}

/** Whether a resolved address may be connected to for a host name (not an address) on the allowlist. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Checks every address the name resolves to, at connect time: the address used is the address checked. */
function checkedLookup(hostname: string, options: object, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad) return callback(Object.assign(new Error(`${hostname} resolves to an internal address`), { code: 'EADDRNOTPUBLIC' }), []);
    if ((options as { all?: boolean }).all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}

const fetchAgent = new Agent({ connect: { lookup: checkedLookup as never } });

/** Why a fetch failed, in words that do not echo the network stack's own text. */
function fetchFailure(e: unknown): string {
  const err = e as { code?: unknown; name?: string } | undefined;
  // a DOMException's `code` is a legacy number: its name says what it is
  const code = err?.name === 'TimeoutError' ? 'TimeoutError' : typeof err?.code === 'string' ? err.code : (err?.name ?? '');
  if (code === 'EADDRNOTPUBLIC') return 'the host resolves to an internal address';
  if (code === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'the image host took too long';
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_OSSL/i.test(code)) return 'the image host\'s TLS certificate was not accepted';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'the image host could not be reached';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the image host\'s name does not resolve';
  return 'the image could not be fetched';
}

/**
 * Fetches an image URL: only from the allowed hosts (a name's resolved address must be public, an address on
 * the list is taken as meant), no redirects, one time limit for the whole fetch, a cap on the bytes of all of a
 * request's fetches.
 */
async function fetchImage(url: string, label: string, options: ImageInputOptions, budget: { left: number }, signal?: AbortSignal, deadline = Infinity): Promise<Uint8Array> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ApiError('INVALID_INPUT', `${label}: not a URL`);
  }
  if (!/^https?:$/.test(parsed.protocol) || !options.fetchHosts.map(normaliseHost).includes(parsed.host)) {
    throw new ApiError('URL_NOT_ALLOWED', `${label}: ${parsed.protocol}//${parsed.host} is not an allowed image host`);
  }
  // the fetch's own limit, or the request's deadline if that comes first: every stage answers by the deadline
  const untilDeadline = deadline - Date.now();
  if (untilDeadline <= 0) throw new OverloadedError('the request\'s deadline passed while its images were fetched', 2);
  const timeout = AbortSignal.timeout(Math.min(options.fetchTimeoutMs, untilDeadline));
  const stop = signal ? AbortSignal.any([timeout, signal]) : timeout;
  try {
    const res = await undiciRequest(parsed, { method: 'GET', dispatcher: fetchAgent, maxRedirections: 0, signal: stop });
    if (res.statusCode !== 200) {
      res.body.on('error', () => undefined).destroy();
      throw new ApiError('URL_FETCH_FAILED', `${label}: the image host answered ${res.statusCode}`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      budget.left -= (chunk as Buffer).length;
      if (budget.left < 0) {
        res.body.on('error', () => undefined).destroy();
        throw new ApiError('BODY_TOO_LARGE', `${label}: the request's fetched images exceed ${options.maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (signal?.aborted) throw e;
    if (timeout.aborted && Date.now() >= deadline) throw new OverloadedError('the request\'s deadline passed while its images were fetched', 2);
    throw new ApiError('URL_FETCH_FAILED', `${label}: ${fetchFailure(timeout.aborted ? timeout.reason : e)}`);
  }
}
