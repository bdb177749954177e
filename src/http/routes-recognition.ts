import type { FastifyInstance } from 'fastify';
import { faceToJson } from '../core/face-json.js';
import { MAX_NAME_LENGTH, pageOf } from '../core/gallery/store-rules.js';
import { FACE_SELECTIONS, type FaceSelection } from '../core/gallery/select.js';
import { jsonObjectParam, oneImage, type RouteContext } from './context.js';
import { readImages } from './images.js';
import { clusterReportSchema, clustersSchema, detSizesQuery, detSizesSchema, errorResponses, faceSchema, identifySchema, imageBody, subjectSchema, thresholdSchema, verificationSchema } from './schemas.js';
import { checkDetSizes } from '../core/detection/multi-size.js';

const thresholdQuery = {
  threshold: { type: 'number', minimum: -1, maximum: 1, description: 'decision threshold (cosine); default: the gallery calibration, else the known model\'s (GET /v1/threshold)' },
  far: { type: 'number', exclusiveMinimum: 0, maximum: 1, description: 'threshold at this false-accept rate, from the calibration' },
} as const;


/**
 * The lowest detection threshold a request may ask for: below it SCRFD scores most anchors of a photo as faces
 * (7,222 "faces" at 0 on a group photo) and the work is noise, however it is capped.
 */
export const MIN_DET_THRESH = 0.1;

/** ?detSizes=128,640 → the checked list (400 outside the limits); none: undefined. */
export function detSizesParam(text: string | undefined): number[] | undefined {
  return text ? checkDetSizes(text.split(',').map(Number)) : undefined;
}

/** analyze, verify, identify, cluster: the routes that run the models. */
export function registerRecognitionRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { analyzer } = ctx;

  ctx.documentBody('post', '/v1/analyze', imageBody('image', 'one image'));
  app.post<{ Querystring: { embeddings?: boolean; maxFaces?: number; detThresh?: number; detSizes?: string; padRetry?: boolean } }>('/v1/analyze', {
    config: { scope: 'read', collection: true },
    schema: {
      tags: ['recognition'], summary: 'every face in an image: box, landmarks, score, what the pack\'s heads add (106/68 landmarks, pose, gender, age), and the embedding on request',
      querystring: {
        type: 'object',
        properties: {
          embeddings: { type: 'boolean', default: false }, maxFaces: { type: 'integer', minimum: 0, default: 0, description: 'keep this many faces, InsightFace\'s ranking (0: all, up to the server\'s faces-per-image cap)' },
          detThresh: { type: 'number', minimum: MIN_DET_THRESH, maximum: 1, description: 'detection score threshold (default 0.5)' },
          detSizes: detSizesQuery, padRetry: { type: 'boolean', default: false, description: 'retry a face-less image on a padded canvas (tight crops)' },
        },
      },
      response: { 200: { type: 'object', properties: { width: { type: 'integer' }, height: { type: 'integer' }, detSizes: detSizesSchema, faces: { type: 'array', items: faceSchema } } }, ...errorResponses },
    },
  }, async (req) => {
    const q = req.query;
    const detSizes = detSizesParam(q.detSizes) ?? req.gallery.detSizes;
    const detThresh = q.detThresh ?? req.gallery.gallery.settings.detThresh;
    const image = oneImage((await readImages(req, ctx.images, { fields: ['image'] })).images);
    return ctx.work(req, [image], async (signal) => {
      const pixels = await analyzer.decode(image.data, { signal });
      signal.throwIfAborted();
      const faces = await analyzer.core.analyze(pixels, { maxFaces: q.maxFaces, detThresh, padRetry: q.padRetry, detSizes, signal });
      return { width: pixels.width, height: pixels.height, detSizes, faces: faces.map((f) => faceToJson(f, { embedding: !!q.embeddings })) };
    });
  });

  ctx.documentBody('post', '/v1/verify', imageBody('a,b,image', 'two images (a, b), or one image with ?subject='));
  app.post<{ Querystring: { subject?: string; threshold?: number; far?: number; select?: FaceSelection } }>('/v1/verify', {
    config: { scope: 'read', collection: true },
    schema: {
      tags: ['recognition'], summary: '1:1 — the primary faces of two images, or an image against an enrolled subject',
      querystring: {
        type: 'object',
        properties: {
          subject: { type: 'string', description: 'subject id or name' }, ...thresholdQuery,
          select: { type: 'string', enum: FACE_SELECTIONS, default: 'insightface', description: 'which face of a photo with several: insightface (FaceAnalysis\'s ranking), largest, or center_largest (InsightFace Server\'s rule)' },
        },
      },
      response: { 200: verificationSchema, 404: errorResponses[400], 422: { ...errorResponses[400], description: 'no face in an image, or no threshold' }, ...errorResponses },
    },
  }, async (req) => {
    const q = req.query;
    const { images } = await readImages(req, ctx.images, { fields: q.subject ? ['image', 'a'] : ['a', 'b'] });
    const choice = { threshold: q.threshold, far: q.far, select: q.select };
    if (q.subject) {
      const image = oneImage(images, ['image', 'a']);
      return { ...(await ctx.work(req, [image], (signal) => req.gallery.verifySubject({ data: image.data, source: image.source }, q.subject!, { ...choice, signal }))), detSizes: req.gallery.detSizes };
    }
    const a = oneImage(images, ['a']);
    const b = oneImage(images, ['b']);
    return { ...(await ctx.work(req, [a, b], (signal) => req.gallery.verify({ data: a.data, source: a.source }, { data: b.data, source: b.source }, { ...choice, signal }))), detSizes: req.gallery.detSizes };
  });

  ctx.documentBody('post', '/v1/identify', imageBody('image', 'one image; every face in it is identified'));
  app.post<{ Querystring: { k?: number; threshold?: number; far?: number; where?: string } }>('/v1/identify', {
    config: { scope: 'read', collection: true },
    schema: {
      tags: ['recognition'], summary: '1:N — every face of an image against the gallery (open set: below the threshold it is unknown)',
      querystring: {
        type: 'object',
        properties: { k: { type: 'integer', minimum: 1, maximum: 100, default: 5 }, ...thresholdQuery, where: { type: 'string', description: 'JSON object: only subjects whose metadata has these values' } },
      },
      response: { 200: identifySchema, 422: errorResponses[400], ...errorResponses },
    },
  }, async (req) => {
    const image = oneImage((await readImages(req, ctx.images, { fields: ['image'] })).images);
    const q = req.query;
    const where = jsonObjectParam(q.where, 'where');
    const faces = await ctx.work(req, [image], (signal) => req.gallery.identify({ data: image.data, source: image.source }, { k: q.k, threshold: q.threshold, far: q.far, where, signal }));
    return { detSizes: req.gallery.detSizes, faces };
  });
}

/** cluster, the groups as they stand, the threshold in force, and promoting a group to a subject. */
export function registerClusterRoutes(app: FastifyInstance, ctx: RouteContext): void {

  ctx.documentBody('post', '/v1/cluster', imageBody('images', 'photos whose faces join the unassigned pool (none: just re-run the clustering)'));
  app.post<{ Querystring: { maxDistance?: number; minFaces?: number } }>('/v1/cluster', {
    config: { scope: 'write', collection: true },
    schema: {
      tags: ['clusters'], summary: 'adds the faces of new photos and groups every unassigned face into people (incremental)',
      querystring: { type: 'object', properties: { maxDistance: { type: 'number', exclusiveMinimum: 0, maximum: 2 }, minFaces: { type: 'integer', minimum: 1 } } },
      response: { 200: clusterReportSchema, ...errorResponses },
    },
  }, async (req) => {
    const { images } = await readImages(req, ctx.images, { fields: ['images', 'image'] });
    return ctx.work(req, images, (signal) => req.gallery.cluster(images.map((i) => ({ data: i.data, source: i.source })), { maxDistance: req.query.maxDistance, minFaces: req.query.minFaces, signal }));
  });

  app.get('/v1/threshold', {
    config: { scope: 'read', collection: true },
    schema: {
      tags: ['recognition'], summary: 'the decision threshold in force when a request gives none: calibration, else the known model\'s',
      response: { 200: thresholdSchema, 422: { ...errorResponses[400], description: 'no threshold: not a known model and no calibration' }, ...errorResponses },
    },
  }, async (req) => {
    const t = await req.gallery.gallery.resolveThreshold();
    return { threshold: t.threshold, thresholdSource: t.source, basis: t.basis, detSizes: req.gallery.detSizes, maxDistance: 1 - t.threshold };
  });

  app.get<{ Querystring: { cursor?: string; limit?: number } }>('/v1/clusters', {
    config: { scope: 'read', collection: true },
    schema: {
      tags: ['clusters'], summary: 'the clusters as they stand, largest first, a page at a time (cursor)',
      querystring: { type: 'object', properties: { cursor: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      response: { 200: clustersSchema, ...errorResponses },
    },
  }, async (req) => {
    const { clusters, unclustered } = await req.gallery.gallery.clusters();
    // the gallery lists them largest first, then by id: the key is the size inverted and padded, then the id
    const { rows, nextCursor } = pageOf(clusters, (c) => [String(1e9 - c.size).padStart(10, '0'), c.id], req.query);
    return { clusters: rows, unclustered, nextCursor };
  });

  app.post<{ Params: { id: string }; Body: { name: string; metadata?: Record<string, unknown> } }>('/v1/clusters/:id/promote', {
    config: { scope: 'write', collection: true },
    schema: {
      tags: ['clusters'], summary: 'turns a cluster into a subject',
      params: { type: 'object', properties: { id: { type: 'string' } } },
      body: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH }, metadata: { type: 'object', additionalProperties: true } } },
      response: { 201: subjectSchema, 404: errorResponses[400], 409: errorResponses[400], ...errorResponses },
    },
  }, async (req, reply) => {
    const subject = await req.gallery.gallery.promoteCluster(req.params.id, req.body.name, req.body.metadata);
    reply.code(201);
    return subject;
  });
}
