import type { FastifyInstance } from 'fastify';
import { MAX_NAME_LENGTH } from '../core/gallery/store-rules.js';
import type { StoredFace } from '../core/gallery/types.js';
import type { RouteContext } from './context.js';
import { ApiError } from './errors.js';
import { readImages } from './images.js';
import { enrollSchema, errorResponses, imageBody, storedFaceSchema, subjectSchema } from './schemas.js';

const ref = { type: 'object', properties: { ref: { type: 'string', description: 'subject id or name' } } } as const;
const notFound = { 404: errorResponses[400] };

/** Embeddings stay on the server: a face is described by where it came from, never by its vector. */
function faceInfo(f: StoredFace): Record<string, unknown> {
  return { id: f.id, imageSha256: f.imageSha256, source: f.source, bbox: f.bbox, score: f.score, quality: f.quality, clusterId: f.clusterId, createdAt: f.createdAt };
}

/** Subjects and their faces. */
export function registerGalleryRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const g = ctx.gallery;

  app.post<{ Body: { name: string; metadata?: Record<string, unknown> } }>('/v1/subjects', {
    config: { scope: 'write' },
    schema: {
      tags: ['subjects'], summary: 'creates a subject (no faces yet)',
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH }, metadata: { type: 'object', additionalProperties: true } } },
      response: { 201: subjectSchema, 409: errorResponses[400], ...errorResponses },
    },
  }, async (req, reply) => {
    const s = await g.gallery.createSubject(req.body.name, req.body.metadata);
    reply.code(201);
    return s;
  });

  app.get<{ Querystring: { offset?: number; limit?: number } }>('/v1/subjects', {
    config: { scope: 'read' },
    schema: {
      tags: ['subjects'], summary: 'subjects, by name, a page at a time',
      querystring: { type: 'object', properties: { offset: { type: 'integer', minimum: 0, default: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      response: { 200: { type: 'object', properties: { total: { type: 'integer' }, offset: { type: 'integer' }, limit: { type: 'integer' }, subjects: { type: 'array', items: subjectSchema } } }, ...errorResponses },
    },
  }, async (req) => {
    const { offset = 0, limit = 100 } = req.query;
    const page = await g.gallery.listSubjects({ offset, limit });
    return { ...page, offset, limit };
  });

  app.get<{ Params: { ref: string } }>('/v1/subjects/:ref', {
    config: { scope: 'read' },
    schema: {
      tags: ['subjects'], summary: 'one subject with its faces', params: ref,
      response: { 200: { type: 'object', properties: { ...subjectSchema.properties, faces: { type: 'array', items: storedFaceSchema } } }, ...notFound, ...errorResponses },
    },
  }, async (req) => {
    const s = await g.gallery.subject(req.params.ref);
    return { ...s, faces: (await g.gallery.facesOf(s.id)).map(faceInfo) };
  });

  app.patch<{ Params: { ref: string }; Body: { name?: string; metadata?: Record<string, unknown> } }>('/v1/subjects/:ref', {
    config: { scope: 'write' },
    schema: {
      tags: ['subjects'], summary: 'renames a subject or replaces its metadata', params: ref,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { name: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH }, metadata: { type: 'object', additionalProperties: true } } },
      response: { 200: subjectSchema, ...notFound, 409: errorResponses[400], ...errorResponses },
    },
  }, async (req) => g.gallery.updateSubject(req.params.ref, req.body));

  app.delete<{ Params: { ref: string } }>('/v1/subjects/:ref', {
    config: { scope: 'write' },
    schema: {
      tags: ['subjects'], summary: 'deletes a subject and its faces (their embeddings are erased)', params: ref,
      response: { 200: { type: 'object', properties: { deletedFaces: { type: 'integer' } } }, ...notFound, ...errorResponses },
    },
  }, async (req) => ({ deletedFaces: await g.gallery.deleteSubject(req.params.ref) }));
}

/** A subject's faces: enrol photos into it, delete one. */
export function registerFaceRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const g = ctx.gallery;

  ctx.documentBody('post', '/v1/subjects/{ref}/faces', imageBody('images', 'photos of the subject, one usable face each (or ?largest=true)'));
  app.post<{ Params: { ref: string }; Querystring: { create?: boolean; largest?: boolean; minScore?: number; minSize?: number; maxYaw?: number; maxPitch?: number } }>('/v1/subjects/:ref/faces', {
    config: { scope: 'write' },
    schema: {
      tags: ['subjects'], summary: 'enrols photos into a subject; each refused photo says why', params: ref,
      querystring: {
        type: 'object',
        properties: {
          create: { type: 'boolean', default: false, description: 'create the subject (named by ref) when none exists — only if a photo is accepted: a refused enrolment stores nothing' },
          largest: { type: 'boolean', default: false }, minScore: { type: 'number', minimum: 0, maximum: 1 }, minSize: { type: 'number', minimum: 0 },
          maxYaw: { type: 'number', minimum: 0, maximum: 180, description: 'refuse faces turned further (degrees; needs the 3-D landmark head)' },
          maxPitch: { type: 'number', minimum: 0, maximum: 180, description: 'refuse faces tilted further (degrees; needs the 3-D landmark head)' },
        },
      },
      response: { 201: enrollSchema, 200: enrollSchema, ...notFound, 422: errorResponses[400], ...errorResponses },
    },
  }, async (req, reply) => {
    const { images } = await readImages(req, ctx.images, { fields: ['images', 'image'] });
    if (images.length === 0) throw new ApiError('INVALID_INPUT', 'no image in the request');
    const q = req.query;
    // 404 before any model work, unless the subject is to be created (which happens only if a face is accepted)
    const ref = q.create ? ((await g.gallery.findSubject(req.params.ref))?.id ?? req.params.ref) : (await g.gallery.subject(req.params.ref)).id;
    const result = await ctx.work(req, images, (signal) => g.enroll(ref, images.map((i) => ({ data: i.data, source: i.source })), {
      create: !!q.create, largest: q.largest, minScore: q.minScore, minSize: q.minSize, maxYaw: q.maxYaw, maxPitch: q.maxPitch, signal,
    }));
    reply.code(result.accepted.length > 0 ? 201 : 200);
    return result;
  });

  app.delete<{ Params: { ref: string; faceId: string } }>('/v1/subjects/:ref/faces/:faceId', {
    config: { scope: 'write' },
    schema: {
      tags: ['subjects'], summary: 'deletes one face of a subject (its template is recomputed)',
      params: { type: 'object', properties: { ref: { type: 'string' }, faceId: { type: 'string' } } },
      response: { 200: { type: 'object', properties: { subject: subjectSchema } }, ...notFound, ...errorResponses },
    },
  }, async (req) => ({ subject: await g.gallery.deleteFaceOf(req.params.ref, req.params.faceId) }));
}
