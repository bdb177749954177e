import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { faceToJson } from '../core/face-json.js';
import { FACE_SELECTIONS, selectFace, type FaceSelection } from '../core/gallery/select.js';
import { oneImage, type RouteContext } from './context.js';
import { embeddingContract } from './contract.js';
import { ApiError } from './errors.js';
import { readImages } from './images.js';
import { enrollSchema, errorResponses, faceSchema, imageBody } from './schemas.js';
import { contractSchema } from './routes-collections.js';

const selectQuery = {
  type: 'string', enum: FACE_SELECTIONS, default: 'insightface',
  description: 'which face: insightface (FaceAnalysis\'s max_num ranking), largest, or center_largest (InsightFace Server\'s: area − 2·distance² to the centre)',
} as const;

/** Embeddings for clients that keep their own vectors, and their import into a collection under its contract. */
export function registerEmbeddingRoutes(app: FastifyInstance, ctx: RouteContext): void {
  ctx.documentBody('post', '/v1/embeddings', imageBody('image', 'one image'));
  app.post<{ Querystring: { select?: FaceSelection } }>('/v1/embeddings', {
    config: { scope: 'read', collection: true },
    schema: {
      tags: ['recognition'], summary: 'the selected face\'s embedding (L2-normalised) with the collection\'s embedding contract: stateless, nothing stored',
      querystring: { type: 'object', properties: { select: selectQuery } },
      response: {
        200: { type: 'object', properties: { contract: contractSchema, select: { type: 'string' }, width: { type: 'integer' }, height: { type: 'integer' }, faces: { type: 'integer', description: 'faces found' }, face: faceSchema } },
        422: errorResponses[400], ...errorResponses,
      },
    },
  }, async (req) => {
    const image = oneImage((await readImages(req, ctx.images, { fields: ['image'] })).images);
    const g = req.gallery;
    const select = req.query.select ?? 'insightface';
    const contract = embeddingContract(ctx.analyzer, g.gallery.binding);
    return ctx.work(req, [image], async (signal) => {
      const pixels = await ctx.analyzer.decode(image.data, { signal });
      const faces = await ctx.analyzer.core.analyze(pixels, { detSizes: g.detSizes, detThresh: g.gallery.settings.detThresh, padRetry: true, signal });
      const face = selectFace(faces, pixels.width, pixels.height, select);
      if (!face?.embedding) throw new ApiError('NO_FACE', 'no face found in the image');
      return { contract, select, width: pixels.width, height: pixels.height, faces: faces.length, face: faceToJson(face, { embedding: true }) };
    });
  });

  app.post<{ Params: { ref: string }; Querystring: { create?: boolean }; Body: { contract: string; embeddings: number[][]; metadata?: Record<string, unknown>; source?: string } }>('/v1/subjects/:ref/embeddings', {
    config: { scope: 'write', collection: true },
    schema: {
      tags: ['subjects'], summary: 'imports embeddings made elsewhere into a subject, when their contract is the collection\'s (else 409 CONTRACT_MISMATCH)',
      params: { type: 'object', properties: { ref: { type: 'string', description: 'subject id or name' } } },
      querystring: { type: 'object', properties: { create: { type: 'boolean', default: false, description: 'create the subject (named by ref) when none exists' } } },
      body: {
        type: 'object', required: ['contract', 'embeddings'], additionalProperties: false,
        properties: {
          contract: { type: 'string', description: 'the contract id the vectors were made under (POST /v1/embeddings gives it)' },
          embeddings: { type: 'array', minItems: 1, maxItems: 256, items: { type: 'array', minItems: 1, maxItems: 4096, items: { type: 'number' } } },
          metadata: { type: 'object', additionalProperties: true, description: 'for a subject created here' },
          source: { type: 'string', maxLength: 255, description: 'a label kept with the faces' },
        },
      },
      response: { 201: enrollSchema, 404: errorResponses[400], 409: errorResponses[400], ...errorResponses },
    },
  }, async (req, reply) => {
    const g = req.gallery.gallery;
    const contract = embeddingContract(ctx.analyzer, g.binding);
    if (req.body.contract !== contract.id) {
      throw new ApiError('CONTRACT_MISMATCH', `these embeddings were made under contract ${JSON.stringify(req.body.contract)}; collection ${g.store.collectionName ?? 'default'} holds ${contract.id} (${contract.recognizerName}, ${contract.dim}-d)`);
    }
    const result = await g.enrollEmbeddings(req.params.ref, req.body.embeddings, {
      create: !!req.query.create, metadata: req.body.metadata, source: req.body.source,
      sha256: async (bytes) => createHash('sha256').update(bytes).digest('hex'),
    });
    reply.code(201);
    return result;
  });
}

