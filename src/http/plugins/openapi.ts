import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { packageVersion } from '../../node/package-info.js';

export interface OpenApiOptions {
  /** Request bodies of the image routes (they read their bodies themselves), by "METHOD /url". */
  requestBodies: Map<string, Record<string, unknown>>;
}

/** The OpenAPI document at /openapi.json (the routes' own schemas, plus the image routes' bodies) and /docs. */
async function openapi(app: FastifyInstance, { requestBodies }: OpenApiOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title: 'faceprint', version: packageVersion(), description: 'Face detection, verification, identification and clustering (InsightFace-exact pipeline).' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'a key from `faceprint keys create` (also accepted in X-API-Key)' } } },
      security: [{ apiKey: [] }],
    },
    transformObject: (doc) => {
      const openapiObject = (doc as { openapiObject: { paths?: Record<string, unknown> } }).openapiObject;
      for (const [key, body] of requestBodies) {
        const [method, url] = key.split(' ');
        const op = (openapiObject.paths?.[url] as Record<string, { requestBody?: unknown }> | undefined)?.[method];
        if (op) op.requestBody = body;
      }
      return openapiObject as never;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger());
}

export const openApiPlugin = fp(openapi, { name: 'faceprint-openapi' });
