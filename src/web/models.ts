import { FaceprintError } from '../core/errors.js';

/** A model given to the browser entry: a URL (fetched and cached), or bytes / a File the user picked. */
export type WebModelInput = string | URL | Blob | ArrayBuffer | Uint8Array;

export interface FetchModelOptions {
  /** Expected sha256 (hex): a cached or downloaded copy that differs is refused (and dropped from the cache). */
  sha256?: string;
  /** Cache Storage bucket for downloaded models; false: no cache. Default 'faceprint-models-v1'. */
  cache?: string | false;
  onProgress?: (loaded: number, total: number | null) => void;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A model's bytes and its sha256 (the gallery binds to it), from a URL (via the cache), a File or bytes. */
export async function loadModelBytes(input: WebModelInput, options: FetchModelOptions = {}): Promise<{ bytes: Uint8Array; sha256: string; source: string }> {
  let bytes: Uint8Array;
  let source: string;
  if (typeof input === 'string' || input instanceof URL) {
    source = String(input);
    bytes = await fetchCached(source, options);
  } else if (input instanceof Blob) {
    source = 'name' in input ? String((input as File).name) : 'model blob';
    bytes = new Uint8Array(await input.arrayBuffer());
    options.onProgress?.(bytes.length, bytes.length);
  } else {
    source = 'model bytes';
    bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  }
  if (bytes.length === 0) throw new FaceprintError('MODEL_INVALID', `${source}: empty`);
  const sha256 = await sha256Hex(bytes);
  if (options.sha256 && sha256 !== options.sha256.toLowerCase()) {
    throw new FaceprintError('PACK_CORRUPT', `${source}: sha256 ${sha256} is not the expected ${options.sha256}`);
  }
  return { bytes, sha256, source };
}

async function fetchCached(url: string, options: FetchModelOptions): Promise<Uint8Array> {
  const bucket = options.cache === false || typeof caches === 'undefined' ? null : await caches.open(options.cache ?? 'faceprint-models-v1');
  const hit = await bucket?.match(url);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    if (!options.sha256 || (await sha256Hex(bytes)) === options.sha256.toLowerCase()) {
      options.onProgress?.(bytes.length, bytes.length);
      return bytes;
    }
    await bucket!.delete(url); // a stale or damaged copy: fetch again
  }
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new FaceprintError('DOWNLOAD_FAILED', `${url}: ${(e as Error).message}`, { cause: e });
  }
  if (res.status === 404) throw new FaceprintError('DOWNLOAD_NOT_FOUND', `${url}: 404`);
  if (!res.ok || !res.body) throw new FaceprintError('DOWNLOAD_FAILED', `${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || null;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    options.onProgress?.(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  if (options.sha256 && (await sha256Hex(bytes)) !== options.sha256.toLowerCase()) {
    throw new FaceprintError('PACK_CORRUPT', `${url}: the download does not match sha256 ${options.sha256}`);
  }
  await bucket?.put(url, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }));
  return bytes;
}
