import type { FaceprintErrorCode } from '../core/errors.js';

/**
 * Every error code the API answers with: its HTTP status and what it means, in one place (as Fastify's own
 * errors.js keeps code, status and message together). The library's FaceprintError codes that reach a caller are
 * here with their status; the rest are the HTTP layer's own. docs/service.md's error table is checked against this
 * list by test/error-codes.test.ts.
 */
export const API_ERRORS = {
  // the caller's request
  INVALID_INPUT: [400, 'a parameter, field or value is wrong'],
  INVALID_BODY: [400, 'the body cannot be parsed (not JSON, a wrong Content-Length)'],
  BAD_REQUEST: [400, 'any other request Fastify refused'],
  IMAGE_EMPTY: [400, 'an image with no bytes'],
  IMAGE_CORRUPT: [400, 'an image that cannot be decoded'],
  URL_FETCH_DISABLED: [400, 'an image URL sent to a server that fetches none (`--fetch-hosts`)'],
  URL_NOT_ALLOWED: [400, 'an image URL outside `--fetch-hosts`, or not http(s)'],
  URL_FETCH_FAILED: [400, 'an image URL that could not be fetched in time, or resolves to an internal address'],
  UNAUTHORIZED: [401, 'no API key, or not a valid one'],
  FORBIDDEN: [403, 'the key lacks the route\'s scope'],
  CROSS_ORIGIN: [403, 'a request from another site\'s page'],
  NOT_FOUND: [404, 'no such route, or no such offered model'],
  SUBJECT_NOT_FOUND: [404, 'no subject with that id or name'],
  FACE_NOT_FOUND: [404, 'no face with that id'],
  CLUSTER_NOT_FOUND: [404, 'no unassigned faces in that cluster'],
  MONITOR_NOT_FOUND: [404, 'no camera monitor with that id'],
  COLLECTION_NOT_FOUND: [404, 'no collection of that name'],
  SUBJECT_EXISTS: [409, 'a subject of that name exists'],
  GALLERY_MODEL_MISMATCH: [409, 'the gallery (collection) holds another recognizer\'s embeddings'],
  COLLECTION_EXISTS: [409, 'a collection of that name exists'],
  CONTRACT_MISMATCH: [409, 'imported embeddings were made under another embedding contract than the collection\'s'],
  BODY_TOO_LARGE: [413, 'a body over `--body-limit-mb`'],
  IMAGE_TOO_LARGE: [413, 'an image over the pixel limit (checked before decoding)'],
  TOO_MANY_IMAGES: [413, 'more images than `--max-images`'],
  TOO_MANY_URLS: [413, 'more image URLs than `--max-urls`'],
  TOO_MANY_FILES: [413, 'more multipart files than allowed'],
  TOO_MANY_PARTS: [413, 'more multipart parts or fields than allowed'],
  VIDEO_TOO_LONG: [413, 'a clip longer than 120 s'],
  VIDEO_TOO_LARGE: [413, 'video frames over 4096×4096'],
  IMAGE_UNSUPPORTED: [415, 'not a raster image format (SVG, PDF, text…)'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'a Content-Type the route does not take'],
  VIDEO_UNREADABLE: [415, 'no video stream that can be read (or a playlist)'],
  HOST_NOT_ALLOWED: [421, 'a Host header the server does not answer to (DNS rebinding)'],
  NO_FACE: [422, 'no usable face in the image'],
  ENROLL_REFUSED: [422, 'every image of an enrolment refused (too small, low score, turned away…)'],
  NO_THRESHOLD: [422, 'no threshold for this recognizer: give one, or calibrate'],
  MODEL_MISSING: [422, 'the route needs a model the server was started without'],
  RATE_LIMITED: [429, 'over `--rate-limit` requests a minute'],
  TOO_MANY_AUTH_FAILURES: [429, 'too many failed authentications from this address'],
  CLIENT_GONE: [499, 'the client left; its work was stopped (logged, never sent)'],
  INTERNAL: [500, 'a fault of ours: "internal error" and the request id; the detail is in the log'],
  OVERLOADED: [503, 'no capacity before the request\'s deadline (Retry-After)'],
  DEADLINE_EXCEEDED: [503, 'the request ran past its deadline (Retry-After)'],
  TIMED_OUT: [503, 'a step (decode, fetch) ran past its time (Retry-After)'],
  STORE_BUSY: [503, 'the gallery store is busy (Retry-After)'],
  STORE_UNAVAILABLE: [503, 'the gallery store cannot be reached (Retry-After)'],
  CLOSED: [503, 'the server is shutting down (Retry-After)'],
  FFMPEG_MISSING: [503, 'the server has no ffmpeg for video (Retry-After)'],
} as const satisfies Record<string, readonly [number, string]>;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** The HTTP status of a code. */
export function statusOf(code: ApiErrorCode): number {
  return API_ERRORS[code][0];
}

/** A library error's status when it reaches a caller; undefined: a fault of ours (500). */
export function statusOfFaceprintCode(code: FaceprintErrorCode): number | undefined {
  return code in API_ERRORS ? API_ERRORS[code as ApiErrorCode][0] : undefined;
}
