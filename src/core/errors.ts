/** Stable machine-readable error codes: callers (CLI, HTTP, tests) switch on these, never on messages. */
export type FaceprintErrorCode =
  | 'IMAGE_EMPTY'
  | 'IMAGE_UNSUPPORTED'
  | 'IMAGE_CORRUPT'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_NOT_FOUND'
  | 'INVALID_INPUT'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_INVALID'
  | 'MODEL_UNRECOGNISED'
  | 'MODEL_MISSING'
  | 'INFERENCE_FAILED'
  | 'CLOSED'
  | 'DOWNLOAD_FAILED'
  | 'DOWNLOAD_NOT_FOUND'
  | 'DOWNLOAD_TOO_LARGE'
  | 'PACK_UNKNOWN'
  | 'PACK_CORRUPT'
  | 'PACK_NOT_INSTALLED'
  | 'GALLERY_MODEL_MISMATCH'
  | 'GALLERY_NOT_FOUND'
  | 'COLLECTION_NOT_FOUND'
  | 'COLLECTION_EXISTS'
  | 'CONTRACT_MISMATCH'
  | 'SUBJECT_NOT_FOUND'
  | 'SUBJECT_EXISTS'
  | 'FACE_NOT_FOUND'
  | 'CLUSTER_NOT_FOUND'
  | 'MONITOR_NOT_FOUND'
  | 'ENROLL_REFUSED'
  | 'NO_FACE'
  | 'NO_THRESHOLD'
  | 'STORE_BUSY'
  | 'STORE_INVALID'
  | 'STORE_UNAVAILABLE'
  | 'FFMPEG_MISSING'
  | 'VIDEO_UNREADABLE'
  | 'VIDEO_WRITE_FAILED'
  | 'TIMED_OUT';

export class FaceprintError extends Error {
  readonly code: FaceprintErrorCode;
  override readonly cause?: unknown;

  constructor(code: FaceprintErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'FaceprintError';
    this.code = code;
    if (options?.cause !== undefined) this.cause = options.cause;
  }

  toJSON(): { code: FaceprintErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isFaceprintError(e: unknown): e is FaceprintError {
  return e instanceof FaceprintError;
}
