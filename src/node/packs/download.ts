import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { FaceprintError } from '../../core/errors.js';

export interface DownloadProgress { received: number; total: number | null }

export interface DownloadOptions {
  /** Attempts in all, each resuming from what the partial file holds. Default 5. */
  attempts?: number;
  /** First back-off delay; doubles each retry. Default 500 ms. */
  backoffMs?: number;
  onProgress?: (p: DownloadProgress) => void;
  /** Abort a stalled transfer after this long without data. Default 30 s. */
  idleTimeoutMs?: number;
  /** The most bytes the file may have: a larger one (by Content-Length or as it streams) is refused. */
  maxBytes?: number;
}

let dispatcher: Dispatcher | undefined;
const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

/**
 * HTTP(S)_PROXY and NO_PROXY are honoured, as curl and pip honour them. The proxy agent only when one is set:
 * undici prints an "experimental" warning (UNDICI-EHPA) whenever one is made.
 */
function proxyAware(): Dispatcher {
  dispatcher ??= PROXY_VARIABLES.some((v) => process.env[v]) ? new EnvHttpProxyAgent() : new Agent();
  return dispatcher;
}

/**
 * Streams `url` into `partPath`, resuming with an HTTP Range request from whatever a previous attempt left,
 * retrying transient failures with exponential back-off. 4xx other than 408/429 fail at once.
 */
export async function downloadResumable(url: string, partPath: string, options: DownloadOptions = {}): Promise<void> {
  const attempts = options.attempts ?? 5;
  const backoff = options.backoffMs ?? 500;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, backoff * 2 ** (attempt - 1)));
    try {
      await downloadOnce(url, partPath, options);
      return;
    } catch (e) {
      lastError = e;
      if (e instanceof FaceprintError && e.code !== 'DOWNLOAD_FAILED') throw e;
    }
  }
  throw new FaceprintError('DOWNLOAD_FAILED', `${url}: gave up after ${attempts} attempts (${(lastError as Error)?.message ?? lastError})`, { cause: lastError });
}

async function downloadOnce(url: string, partPath: string, options: DownloadOptions): Promise<void> {
  const have = await stat(partPath).then((s) => s.size, () => 0);
  const headers: Record<string, string> = { 'user-agent': 'faceprint' };
  if (have > 0) headers.range = `bytes=${have}-`;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { dispatcher: proxyAware(), headers, maxRedirections: 5, bodyTimeout: options.idleTimeoutMs ?? 30_000, headersTimeout: options.idleTimeoutMs ?? 30_000 });
  } catch (e) {
    throw new FaceprintError('DOWNLOAD_FAILED', `${url}: ${(e as Error).message}`, { cause: e });
  }
  const { statusCode } = res;
  if (statusCode === 416 && have > 0) {
    // Range not satisfiable: the partial file is already complete (or stale); let verification decide.
    await res.body.dump();
    return;
  }
  if (statusCode >= 400) {
    await res.body.dump();
    const retryable = statusCode >= 500 || statusCode === 408 || statusCode === 429;
    throw new FaceprintError(retryable ? 'DOWNLOAD_FAILED' : 'DOWNLOAD_NOT_FOUND', `${url}: HTTP ${statusCode}`);
  }
  const append = statusCode === 206 && have > 0;
  const lengthHeader = Number(res.headers['content-length']);
  const total = Number.isFinite(lengthHeader) ? lengthHeader + (append ? have : 0) : null;
  const tooLarge = () => new FaceprintError('DOWNLOAD_TOO_LARGE', `${url}: larger than ${options.maxBytes} bytes; nothing installed`);
  if (options.maxBytes !== undefined && total !== null && total > options.maxBytes) {
    res.body.on('error', () => undefined).destroy();
    await removeQuietly(partPath);
    throw tooLarge();
  }
  let received = append ? have : 0;
  const out = createWriteStream(partPath, { flags: append ? 'a' : 'w' });
  try {
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length;
      if (options.maxBytes !== undefined && received > options.maxBytes) throw tooLarge();
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      options.onProgress?.({ received, total });
    }
  } catch (e) {
    if (e instanceof FaceprintError) {
      res.body.on('error', () => undefined).destroy();
      await new Promise<void>((r) => out.end(() => r()));
      await removeQuietly(partPath);
      throw e;
    }
    throw new FaceprintError('DOWNLOAD_FAILED', `${url}: connection lost after ${received} bytes (${(e as Error).message})`, { cause: e });
  } finally {
    if (!out.closed) await new Promise<void>((r) => out.end(() => r()));
  }
  if (total !== null && received !== total) {
    throw new FaceprintError('DOWNLOAD_FAILED', `${url}: got ${received} of ${total} bytes`);
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}
