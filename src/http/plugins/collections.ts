import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { FaceGallery } from '../../node/gallery/index.js';
import type { Collections } from '../collections.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The gallery of the collection a request names (?collection=, default the default one). */
    gallery: FaceGallery;
  }
  interface FastifyContextConfig {
    /** The route works on a collection: it takes ?collection= and gets its gallery as req.gallery. */
    collection?: boolean;
  }
}

const collectionParam = { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$', description: 'the collection (default: default)' } as const;

/**
 * Collections on the routes that use a gallery: each such route documents and validates `?collection=`, and gets
 * that collection's gallery before its handler (404 COLLECTION_NOT_FOUND for an unknown one). Registered before
 * the routes, so that its onRoute hook sees them.
 */
async function collectionsPlugin(app: FastifyInstance, { collections }: { collections: Collections }): Promise<void> {
  app.decorateRequest('gallery', null as unknown as FaceGallery);
  app.addHook('onRoute', (route) => {
    if (!route.config?.collection) return;
    const schema = (route.schema ??= {}) as { querystring?: { type?: string; properties?: Record<string, unknown> } };
    schema.querystring ??= { type: 'object', properties: {} };
    schema.querystring.properties = { ...schema.querystring.properties, collection: collectionParam };
  });
  app.addHook('preHandler', async (req) => {
    if (!req.routeOptions.config?.collection) return;
    req.gallery = await collections.get((req.query as { collection?: string } | undefined)?.collection);
  });
}

export const collectionsRoutePlugin = fp(collectionsPlugin, { name: 'faceprint-collections' });
