import type { FastifyInstance } from 'fastify';
import { MAX_NAME_LENGTH, pageOf } from '../core/gallery/store-rules.js';
import type { ReviewMode, StoredFace } from '../core/gallery/types.js';
import type { RouteContext } from './context.js';
import { ApiError } from './errors.js';
import { readImages } from './images.js';
import { enrollSchema, errorResponses, imageBody, storedFaceSchema, subjectSchema } from './schemas.js';

const ref = { type: 'object', properties: { ref: { type: 'string', description: 'subject id or name' } } } as const;
const notFound = { 404: errorResponses[400] };

/** Embeddings stay on the server: a face is described by where it came from, never by its vector. */
function faceInfo(f: StoredFace): Record<string, unknown> {
  return { id: f.id, imageSha256: f.imageSha256, source: f.source, bbox: f.bbox, score: f.score, quality: f.quality, clusterId: f.clusterId, createdAt: f.createdAt, thumbnail: !!f.hasThumbnail };
}

/** Subjects and their faces. */
export function registerGalleryRoutes(app: FastifyInstance, ctx: RouteContext): void {

  app.post<{ Body: { name: string; metadata?: Record<string, unknown> } }>('/v1/subjects', {
    config: { scope: 'write', collection: true },
    schema: {
      tags: ['subjects'], summary: 'creates a subject (no faces yet)',
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH }, metadata: { type: 'object', additionalProperties: true } } },
      response: { 201: subjectSchema, 409: errorResponses[400], ...errorResponses },
    },
  }, async (req, reply) => {
    const s = await req.gallery.gallery.createSubject(req.body.name, req.body.metadata);
    reply.code(201);
    return s;
  });

  app.get<{ Querystring: { cursor?: string; offset?: number; limit?: number } }>('/v1/subjects', {
    config: { scope: 'read', collection: true },
    schema: {
      tags: ['subjects'], summary: 'subjects, by name, a page at a time: pass the page\'s nextCursor for the next (stable while subjects come and go)',
      querystring: {
        type: 'object',
        properties: {
          cursor: { type: 'string', description: 'the nextCursor of the previous page' },
          offset: { type: 'integer', minimum: 0, description: 'deprecated: a position that shifts as subjects come and go; use cursor' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        },
      },
      response: { 200: { type: 'object', properties: { total: { type: 'integer' }, limit: { type: 'integer' }, nextCursor: { type: ['string', 'null'] }, subjects: { type: 'array', items: subjectSchema } } }, ...errorResponses },
    },
  }, async (req) => {
    const { cursor, offset, limit = 100 } = req.query;
    if (cursor !== undefined && offset !== undefined) throw new ApiError('INVALID_INPUT', 'give a cursor or an offset, not both');
    return { ...(await req.gallery.gallery.listSubjects({ cursor, offset, limit })), limit };
  });

  app.get<{ Params: { ref: string } }>('/v1/subjects/:ref', {
    config: { scope: 'read', collection: true },
    schema: {
      tags: ['subjects'], summary: 'one subject with its faces', params: ref,
      response: { 200: { type: 'object', properties: { ...subjectSchema.properties, faces: { type: 'array', items: storedFaceSchema } } }, ...notFound, ...errorResponses },
    },
  }, async (req) => {
    const s = await req.gallery.gallery.subject(req.params.ref);
    return { ...s, faces: (await req.gallery.gallery.facesOf(s.id)).map(faceInfo) };
  });

  app.patch<{ Params: { ref: string }; Body: { name?: string; metadata?: Record<string, unknown> } }>('/v1/subjects/:ref', {
    config: { scope: 'write', collection: true },
    schema: {
      tags: ['subjects'], summary: 'renames a subject or replaces its metadata', params: ref,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { name: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH }, metadata: { type: 'object', additionalProperties: true } } },
      response: { 200: subjectSchema, ...notFound, 409: errorResponses[400], ...errorResponses },
    },
  }, async (req) => req.gallery.gallery.updateSubject(req.params.ref, req.body));

  app.delete<{ Params: { ref: string } }>('/v1/subjects/:ref', {
    config: { scope: 'write', collection: true },
    schema: {
      tags: ['subjects'], summary: 'deletes a subject and its faces (their embeddings are erased)', params: ref,
      response: { 200: { type: 'object', properties: { deletedFaces: { type: 'integer' } } }, ...notFound, ...errorResponses },
    },
  }, async (req) => ({ deletedFaces: await req.gallery.gallery.deleteSubject(req.params.ref) }));
}

/** A subject's faces: enrol photos into it, delete one. */
export function registerFaceRoutes(app: FastifyInstance, ctx: RouteContext): void {

  ctx.documentBody('post', '/v1/subjects/{ref}/faces', imageBody('images', 'photos of the subject, one usable face each (or ?largest=true)'));
  app.post<{ Params: { ref: string }; Querystring: { create?: boolean; largest?: boolean; minScore?: number; minSize?: number; maxYaw?: number; maxPitch?: number; review?: ReviewMode } }>('/v1/subjects/:ref/faces', {
    config: { scope: 'write', collection: true },
    schema: {
      tags: ['subjects'], summary: 'enrols photos into a subject; each refused photo says why', params: ref,
      querystring: {
        type: 'object',
        properties: {
          create: { type: 'boolean', default: false, description: 'create the subject (named by ref) when none exists — only if a photo is accepted: a refused enrolment stores nothing' },
          largest: { type: 'boolean', default: false }, minScore: { type: 'number', minimum: 0, maximum: 1 }, minSize: { type: 'number', minimum: 0 },
          maxYaw: { type: 'number', minimum: 0, maximum: 180, description: 'refuse faces turned further (degrees; needs the 3-D landmark head)' },
          maxPitch: { type: 'number', minimum: 0, maximum: 180, description: 'refuse faces tilted further (degrees; needs the 3-D landmark head)' },
          review: { type: 'string', enum: ['off', 'standard', 'strict'], description: 'enrolment review (default: the collection\'s, else standard)' },
        },
      },
      response: { 201: enrollSchema, 200: enrollSchema, ...notFound, 422: errorResponses[400], ...errorResponses },
    },
  }, async (req, reply) => {
    const { images } = await readImages(req, ctx.images, { fields: ['images', 'image'] });
    if (images.length === 0) throw new ApiError('INVALID_INPUT', 'no image in the request');
    const q = req.query;
    // 404 before any model work, unless the subject is to be created (which happens only if a face is accepted)
    const ref = q.create ? ((await req.gallery.gallery.findSubject(req.params.ref))?.id ?? req.params.ref) : (await req.gallery.gallery.subject(req.params.ref)).id;
    const result = await ctx.work(req, images, (signal) => req.gallery.enroll(ref, images.map((i) => ({ data: i.data, source: i.source })), {
      create: !!q.create, largest: q.largest, minScore: q.minScore, minSize: q.minSize, maxYaw: q.maxYaw, maxPitch: q.maxPitch, review: q.review, signal,
    }));
    reply.code(result.accepted.length > 0 ? 201 : 200);
    return result;
  });

  app.get<{ Params: { ref: string }; Querystring: { cursor?: string; limit?: number } }>('/v1/subjects/:ref/faces', {
    config: { scope: 'read', collection: true },
    schema: {
      tags: ['subjects'], summary: 'a subject\'s faces, oldest first, a page at a time (cursor)', params: ref,
      querystring: { type: 'object', properties: { cursor: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      response: { 200: { type: 'object', properties: { faces: { type: 'array', items: storedFaceSchema }, nextCursor: { type: ['string', 'null'] } } }, ...notFound, ...errorResponses },
    },
  }, async (req) => {
    const s = await req.gallery.gallery.subject(req.params.ref);
    const { rows, nextCursor } = pageOf(await req.gallery.gallery.facesOf(s.id), (f) => [f.createdAt, f.id], req.query);
    return { faces: rows.map(faceInfo), nextCursor };
  });

  app.get<{ Params: { ref: string; faceId: string } }>('/v1/subjects/:ref/faces/:faceId/thumbnail.jpg', {
    config: { scope: 'read', collection: true },
    schema: {
      tags: ['subjects'], summary: 'a face\'s 112×112 JPEG, kept at enrolment when its collection keeps thumbnails',
      params: { type: 'object', properties: { ref: { type: 'string' }, faceId: { type: 'string' } } },
      response: { 200: { description: 'image/jpeg', type: 'string', format: 'binary' }, ...notFound, ...errorResponses },
    },
  }, async (req, reply) => {
    const s = await req.gallery.gallery.subject(req.params.ref);
    const face = await req.gallery.gallery.store.face(req.params.faceId);
    if (!face || face.subjectId !== s.id) throw new ApiError('FACE_NOT_FOUND', `no face ${req.params.faceId} of ${s.name}`);
    const jpeg = await req.gallery.gallery.store.faceThumbnail?.(face.id);
    if (!jpeg) throw new ApiError('FACE_NOT_FOUND', `face ${face.id} has no thumbnail (its collection keeps none, or it was enrolled before)`);
    // biometric data: no cache outside this client
    return reply.type('image/jpeg').header('cache-control', 'private, no-store').send(Buffer.from(jpeg));
  });

  app.delete<{ Params: { ref: string; faceId: string } }>('/v1/subjects/:ref/faces/:faceId', {
    config: { scope: 'write', collection: true },
    schema: {
      tags: ['subjects'], summary: 'deletes one face of a subject (its template is recomputed)',
      params: { type: 'object', properties: { ref: { type: 'string' }, faceId: { type: 'string' } } },
      response: { 200: { type: 'object', properties: { subject: subjectSchema } }, ...notFound, ...errorResponses },
    },
  }, async (req) => ({ subject: await req.gallery.gallery.deleteFaceOf(req.params.ref, req.params.faceId) }));
}
