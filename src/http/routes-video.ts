import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { galleryIdentifier } from '../core/video/gallery-identifier.js';
import { probeVideo } from '../node/video/ffmpeg.js';
import { watchVideo } from '../node/video/watch.js';
import type { RouteContext } from './context.js';
import { ClientGoneError } from './admission.js';
import { ApiError } from './errors.js';
import { detSizesQuery, errorResponses } from './schemas.js';
import { detSizesParam } from './routes-recognition.js';

/** Longest clip accepted (declared, and counted as frames are decoded), and the widest frame analysed. */
const MAX_SECONDS = 120;
const MAX_FRAMES = 7200;
const MAX_WIDTH = 1280;
/** Largest source frame decoded at all (ffmpeg holds several of them): 4096×4096. */
const MAX_SOURCE_PIXELS = 4096 * 4096;
/** Memory a clip holds while it is analysed: a few frames in flight, per analysed pixel. */
const VIDEO_BYTES_PER_PIXEL = 48;
/**
 * ffmpeg's own memory per source pixel with DECODE_THREADS threads: YUV reference and in-flight frames
 * (docs/security.md has the measurement).
 */
const DECODE_THREADS = 2;
const FFMPEG_BYTES_PER_SOURCE_PIXEL = 16;

/** What stopped a clip's analysis early, in the answer's words. */
const TRUNCATED_BY = { aborted: 'deadline', 'max-frames': 'frame-limit', 'decode-error': 'decode-error' } as const;

async function readClip(req: FastifyRequest): Promise<Buffer> {
  if (req.isMultipart()) {
    let clip: Buffer | null = null;
    try {
      for await (const part of req.parts()) {
        if (part.type !== 'file') continue;
        if (part.fieldname !== 'video' || clip) throw new ApiError('INVALID_INPUT', 'send one clip, in the multipart field "video"');
        clip = await part.toBuffer();
      }
    } catch (e) {
      if (e instanceof ApiError || String((e as { code?: unknown }).code ?? '').startsWith('FST_')) throw e;
      throw new ApiError('INVALID_BODY', `malformed multipart body: ${(e as Error).message}`);
    }
    if (!clip) throw new ApiError('INVALID_INPUT', 'no clip in the request (multipart field "video")');
    return clip;
  }
  if (Buffer.isBuffer(req.body) && req.body.length > 0) return req.body;
  throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the clip as a video/* or application/octet-stream body, or as the multipart field "video"');
}

/** POST /v1/video: a clip's faces tracked across frames, each track recognised once (or again when it got better). */
export function registerVideoRoute(app: FastifyInstance, ctx: RouteContext): void {
  ctx.documentBody('post', '/v1/video', {
    required: true,
    content: {
      'video/mp4': { schema: { type: 'string', format: 'binary' } },
      'multipart/form-data': { schema: { type: 'object', properties: { video: { type: 'string', format: 'binary' } } } },
    },
  });
  app.post<{ Querystring: { detEvery?: number; fps?: number; threshold?: number; far?: number; identify?: boolean; detSizes?: string; cuts?: boolean; cutRatio?: number; minShotMs?: number } }>('/v1/video', {
    config: { collection: true, scope: 'read' },
    schema: {
      tags: ['recognition'], summary: 'a clip (within the body limit): faces tracked across frames, recognised per track; the tracks and their events',
      querystring: {
        type: 'object',
        properties: {
          detEvery: { type: 'integer', minimum: 1, maximum: 30, default: 1, description: 'run the detector on every n-th frame' },
          fps: { type: 'number', exclusiveMinimum: 0, maximum: 60, description: 'resample the clip to this rate first' },
          threshold: { type: 'number', minimum: -1, maximum: 1 },
          far: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
          identify: { type: 'boolean', default: true, description: 'label tracks from the gallery' },
          cuts: { type: 'boolean', default: true, description: 'look for shot cuts (every track ends at one)' },
          cutRatio: { type: 'number', minimum: 1.5, maximum: 20, default: 3, description: 'a cut changes this many times more than the frames before it' },
          minShotMs: { type: 'integer', minimum: 0, maximum: 60000, default: 300, description: 'no cut closer than this to the previous one' },
          detSizes: { ...detSizesQuery, description: 'detector sizes merged per frame (each fitted to the frame); default: one pass at the frame\'s shape' },
        },
      },
      response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
    },
  }, async (req) => {
    const detSizes = detSizesParam(req.query.detSizes);
    const clip = await readClip(req);
    const dir = await mkdtemp(join(tmpdir(), 'faceprint-clip-'));
    try {
      const path = join(dir, 'clip');
      await writeFile(path, clip, { mode: 0o600 });
      // someone else's file: ffmpeg may read it as a container, nothing else (no playlists, no URLs)
      const info = await probeVideo(path, undefined, true);
      const seconds = info.durationS ?? (info.frames ?? 0) / info.fps;
      if (seconds > MAX_SECONDS) throw new ApiError('VIDEO_TOO_LONG', `the clip is ${seconds.toFixed(1)} s; at most ${MAX_SECONDS} s`);
      if (info.width * info.height > MAX_SOURCE_PIXELS) throw new ApiError('VIDEO_TOO_LARGE', `the clip's frames are ${info.width}×${info.height}; at most ${MAX_SOURCE_PIXELS / 2 ** 20} Mi pixels`);
      const width = info.width > MAX_WIDTH ? MAX_WIDTH : undefined;
      const height = width ? (info.height * width) / info.width : info.height;
      const q = req.query;
      // frames are counted as they are decoded: a container that declares less than it holds stops here
      const maxFrames = Math.min(MAX_FRAMES, Math.ceil(MAX_SECONDS * (q.fps ?? info.fps)));
      const identifier = q.identify === false ? null : await galleryIdentifier(req.gallery.gallery, { threshold: q.threshold, far: q.far });
      const memory = (width ?? info.width) * height * VIDEO_BYTES_PER_PIXEL + info.width * info.height * FFMPEG_BYTES_PER_SOURCE_PIXEL;
      const report = await ctx.work(req, [], (signal) => watchVideo(ctx.analyzer.core, path, {
        detEvery: q.detEvery, fps: q.fps, width, identifier, signal, untrusted: true, maxFrames, decodeThreads: DECODE_THREADS, detSizes,
        cuts: q.cuts === false ? false : { ratio: q.cutRatio, minShotMs: q.minShotMs },
      }), memory);
      if (report.ended === 'aborted' && req.clientGone.aborted) throw new ClientGoneError();
      return {
        source: report.source, threshold: identifier?.threshold ?? null, thresholdSource: identifier?.source ?? null,
        // null: one detector pass at the frame's own shape (the video default)
        detSizes: detSizes ?? null,
        // partial results say so: the deadline stopped the analysis, or the clip held more frames than allowed
        truncated: report.ended !== 'end',
        ...(report.ended !== 'end' ? { truncatedBy: TRUNCATED_BY[report.ended] } : {}),
        tracks: report.tracks, events: report.events,
        stats: {
          frames: report.stats.frames, framesDeclared: info.frames, detectorRuns: report.stats.detectorRuns,
          recognizerRuns: report.stats.recognizerRuns, cuts: report.stats.cuts, seconds: report.stats.seconds,
        },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
