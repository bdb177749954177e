import type { FastifyError } from 'fastify';
import { FaceprintError, type FaceprintErrorCode } from '../core/errors.js';
import { ClientGoneError, OverloadedError } from './admission.js';

/** An error with its HTTP status: what the caller gets is `{error:{code,message}}`, never a stack trace. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const STATUS_OF: Partial<Record<FaceprintErrorCode, number>> = {
  IMAGE_EMPTY: 400,
  IMAGE_UNSUPPORTED: 415,
  IMAGE_CORRUPT: 400,
  IMAGE_TOO_LARGE: 413,
  INVALID_INPUT: 400,
  NO_FACE: 422,
  ENROLL_REFUSED: 422,
  NO_THRESHOLD: 422,
  MODEL_MISSING: 422,
  SUBJECT_NOT_FOUND: 404,
  FACE_NOT_FOUND: 404,
  CLUSTER_NOT_FOUND: 404,
  SUBJECT_EXISTS: 409,
  GALLERY_MODEL_MISMATCH: 409,
  STORE_BUSY: 503,
  CLOSED: 503,
  STORE_UNAVAILABLE: 503,
  FFMPEG_MISSING: 503,
  VIDEO_UNREADABLE: 415,
  TIMED_OUT: 503,
};

/** Fastify's own errors that are the caller's doing, by their code. */
const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'BODY_TOO_LARGE'],
  FST_REQ_FILE_TOO_LARGE: [413, 'BODY_TOO_LARGE'],
  FST_FILES_LIMIT: [413, 'TOO_MANY_FILES'],
  FST_PARTS_LIMIT: [413, 'TOO_MANY_PARTS'],
  FST_FIELDS_LIMIT: [413, 'TOO_MANY_PARTS'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'INVALID_BODY'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'INVALID_BODY'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'INVALID_BODY'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
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
  const reply = (status: number, code: string, message: string, headers: Record<string, string> = {}, internal = false): ErrorReply =>
    ({ status, headers, body: { error: { code, message } }, internal });
  const internalError = () => reply(500, 'INTERNAL', `internal error (request ${requestId}; the server log has the detail)`, {}, true);
  if (e instanceof ApiError) return reply(e.status, e.code, e.message, e.headers);
  if (e instanceof OverloadedError) return reply(503, 'OVERLOADED', e.message, { 'retry-after': String(e.retryAfterS) });
  if (e instanceof ClientGoneError) return reply(499, 'CLIENT_GONE', e.message);
  // the request's own deadline, passed during its work
  if ((e as Error)?.name === 'TimeoutError') return reply(503, 'DEADLINE_EXCEEDED', 'the request ran past its deadline', { 'retry-after': '2' });
  if (e instanceof FaceprintError) {
    const status = STATUS_OF[e.code] ?? 500;
    if (status === 503) return reply(503, e.code, UNAVAILABLE_MESSAGE[e.code] ?? 'unavailable', { 'retry-after': '1' }, true);
    if (status >= 500) return internalError();
    return reply(status, e.code, e.message);
  }
  const fe = e as FastifyError & { validation?: unknown };
  if (fe?.validation) return reply(400, 'INVALID_INPUT', fe.message);
  const known = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) return reply(known[0], known[1], fe.message);
  if (e instanceof SyntaxError) return reply(400, 'INVALID_BODY', 'the body is not valid JSON');
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return reply(fe.statusCode, fe.statusCode === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST', fe.message);
  }
  return internalError();
}
