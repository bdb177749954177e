import type { FastifyInstance } from 'fastify';
import { checkCollectionSettings, collectionName, pageOf } from '../core/gallery/store-rules.js';
import type { CollectionInfo, CollectionSettings } from '../core/gallery/types.js';
import type { Collections } from './collections.js';
import { embeddingContract, type EmbeddingContract } from './contract.js';
import { errorResponses } from './schemas.js';

const settingsSchema = {
  type: 'object', additionalProperties: false,
  properties: {
    threshold: { type: 'number', minimum: -1, maximum: 1, description: 'decision threshold (cosine) its requests inherit' },
    detSizes: { type: 'array', items: { type: 'integer' }, minItems: 1, maxItems: 4, description: 'detector sizes its faces are found with (fixed once it has faces)' },
    detThresh: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'detection score threshold' },
    review: { type: 'string', enum: ['off', 'standard', 'strict'], description: 'enrolment review (default standard)' },
    thumbnails: { type: 'boolean', description: 'keep a 112×112 JPEG of each enrolled face (default off)' },
  },
} as const;

export const contractSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, recognizerSha256: { type: 'string' }, recognizerName: { type: 'string' }, inputSize: { type: 'integer' },
    normalisation: { type: 'string' }, alignment: { type: 'string' }, dim: { type: 'integer' },
  },
} as const;

export const collectionSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' }, settings: settingsSchema, subjects: { type: 'integer' }, faces: { type: 'integer' }, createdAt: { type: 'string' },
    contract: { anyOf: [contractSchema, { type: 'null' }], description: 'the embedding contract it is bound to (null: not yet)' },
    detSizes: { type: 'array', items: { type: 'integer' } },
  },
} as const;

const nameParams = { type: 'object', properties: { name: { type: 'string' } } } as const;

/** A collection as the API shows it: its settings, counts and embedding contract. */
export function collectionView(info: CollectionInfo, contract: EmbeddingContract | null): Record<string, unknown> {
  return { name: info.name, settings: info.settings, subjects: info.subjects, faces: info.faces, createdAt: info.createdAt, contract, detSizes: info.binding?.detSizes ?? info.settings.detSizes };
}

/** Collections: list (cursor), create, read, change settings, delete. */
export function registerCollectionRoutes(app: FastifyInstance, collections: Collections): void {
  const view = (info: CollectionInfo) => collectionView(info, info.binding ? embeddingContract(collections.base.analyzer, info.binding) : null);

  app.get<{ Querystring: { cursor?: string; limit?: number } }>('/v1/collections', {
    config: { scope: 'read' },
    schema: {
      tags: ['collections'], summary: 'the collections, by name, a page at a time (cursor)',
      querystring: { type: 'object', properties: { cursor: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      response: { 200: { type: 'object', properties: { collections: { type: 'array', items: collectionSchema }, nextCursor: { type: ['string', 'null'] } } }, ...errorResponses },
    },
  }, async (req) => {
    const { rows, nextCursor } = pageOf(await collections.list(), (c) => [c.name], req.query, 1);
    return { collections: rows.map(view), nextCursor };
  });

  app.post<{ Body: { name: string; settings?: CollectionSettings } }>('/v1/collections', {
    config: { scope: 'admin' },
    schema: {
      tags: ['collections'], summary: 'creates a collection, bound to this server\'s recognizer, with its own settings',
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string' }, settings: settingsSchema } },
      response: { 201: collectionSchema, 409: errorResponses[400], ...errorResponses },
    },
  }, async (req, reply) => {
    const info = await collections.create(collectionName(req.body.name), checkCollectionSettings(req.body.settings ?? {}));
    reply.code(201);
    return view(info);
  });

  app.get<{ Params: { name: string } }>('/v1/collections/:name', {
    config: { scope: 'read' },
    schema: { tags: ['collections'], summary: 'one collection', params: nameParams, response: { 200: collectionSchema, 404: errorResponses[400], ...errorResponses } },
  }, async (req) => view(await collections.info(req.params.name)));

  app.patch<{ Params: { name: string }; Body: CollectionSettings }>('/v1/collections/:name', {
    config: { scope: 'admin' },
    schema: { tags: ['collections'], summary: 'changes a collection\'s settings (later requests inherit them)', params: nameParams, body: settingsSchema, response: { 200: collectionSchema, 404: errorResponses[400], ...errorResponses } },
  }, async (req) => view(await collections.update(req.params.name, checkCollectionSettings(req.body ?? {}))));

  app.delete<{ Params: { name: string } }>('/v1/collections/:name', {
    config: { scope: 'admin' },
    schema: {
      tags: ['collections'], summary: 'deletes a collection with its people and faces (their embeddings erased); not the default one', params: nameParams,
      response: { 200: { type: 'object', properties: { deletedFaces: { type: 'integer' } } }, 404: errorResponses[400], ...errorResponses },
    },
  }, async (req) => ({ deletedFaces: await collections.delete(req.params.name) }));
}
