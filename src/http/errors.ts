import type { FastifyError } from 'fastify';
import { FaceprintError, type FaceprintErrorCode } from '../core/errors.js';
import { ClientGoneError, OverloadedError } from './admission.js';
import { statusOf, statusOfFaceprintCode, type ApiErrorCode } from './error-codes.js';

/**
 * An error of the HTTP layer: its code (from the catalogue, which gives the status) and message. What the caller
 * gets is `{error:{code,message}}`, never a stack trace.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly headers: Record<string, string>;
  constructor(code: ApiErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = statusOf(code);
    this.code = code;
    this.headers = headers;
  }
}


/** Fastify's own errors that are the caller's doing, by their code. */
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_FILES_LIMIT: 'TOO_MANY_FILES',
  FST_PARTS_LIMIT: 'TOO_MANY_PARTS',
  FST_FIELDS_LIMIT: 'TOO_MANY_PARTS',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_BODY',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string } };
  /** True when the fault is ours (logged at error level). */
  internal: boolean;
}

/** What a 503 of ours says: fixed words, never the underlying message (paths, URLs, driver text). */
const UNAVAILABLE_MESSAGE: Partial<Record<FaceprintErrorCode, string>> = {
  STORE_BUSY: 'the gallery store is busy; retry shortly',
  CLOSED: 'the server is shutting down',
  STORE_UNAVAILABLE: 'the gallery store is unavailable',
  FFMPEG_MISSING: 'this server cannot decode video: its ffmpeg is not installed',
  TIMED_OUT: 'the request\'s deadline passed while it worked; retry, or send less',
};

/**
 * Any thrown value → status, headers and the one error shape. A fault of ours (5xx) says only "internal error"
 * with the request id: the detail (which may name files or addresses) goes to the log, not to the caller.
 */
export function toErrorReply(e: unknown, requestId = ''): ErrorReply {
  const reply = (code: ApiErrorCode, message: string, headers: Record<string, string> = {}, internal = false, status = statusOf(code)): ErrorReply =>
    ({ status, headers, body: { error: { code, message } }, internal });
  const internalError = () => reply('INTERNAL', `internal error (request ${requestId}; the server log has the detail)`, {}, true);
  if (e instanceof ApiError) return reply(e.code, e.message, e.headers);
  if (e instanceof OverloadedError) return reply('OVERLOADED', e.message, { 'retry-after': String(e.retryAfterS) });
  if (e instanceof ClientGoneError) return reply('CLIENT_GONE', e.message);
  // the request's own deadline, passed during its work
  if ((e as Error)?.name === 'TimeoutError') return reply('DEADLINE_EXCEEDED', 'the request ran past its deadline', { 'retry-after': '2' });
  if (e instanceof FaceprintError) {
    const status = statusOfFaceprintCode(e.code) ?? 500;
    const code = e.code as ApiErrorCode;
    if (status === 503) return reply(code, UNAVAILABLE_MESSAGE[e.code] ?? 'unavailable', { 'retry-after': '1' }, true);
    if (status >= 500) return internalError();
    return reply(code, e.message);
  }
  const fe = e as FastifyError & { validation?: unknown };
  if (fe?.validation) return reply('INVALID_INPUT', fe.message);
  const known = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) return reply(known, fe.message);
  if (e instanceof SyntaxError) return reply('INVALID_BODY', 'the body is not valid JSON');
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // a 4xx of Fastify's or a plugin's: its own status kept
    return reply(fe.statusCode === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST', fe.message, {}, false, fe.statusCode);
  }
  return internalError();
}
