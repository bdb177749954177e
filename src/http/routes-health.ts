import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { FaceAnalyzer } from '../node/index.js';
import type { FaceGallery } from '../node/gallery/index.js';
import type { ServiceMetrics } from './metrics.js';
import { offeredModels, registerModelRoutes } from './routes-models.js';
import { detSizesSchema } from './schemas.js';

export interface HealthDeps {
  analyzer: FaceAnalyzer;
  gallery: FaceGallery;
  metrics: ServiceMetrics;
  singleUser: boolean;
  /** Offer the model files to the page (GET /models/…). */
  offerModels: boolean;
  /** True once the server is closing (readyz then says so). */
  closing: () => boolean;
}

const modelSchema = { type: 'object', properties: { role: { type: 'string' }, url: { type: 'string' }, sha256: { type: 'string' }, bytes: { type: 'integer' } } };

/** /healthz, /readyz, /v1/info (and the models it offers), /metrics. */
export async function registerHealthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get('/healthz', {
    config: { rateLimit: false },
    schema: { tags: ['health'], summary: 'the process is up', security: [], response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } },
  }, async () => ({ ok: true }));
  const readiness = { type: 'object', properties: { ready: { type: 'boolean' }, store: { type: 'boolean' }, closing: { type: 'boolean' } } };
  app.get('/readyz', {
    config: { rateLimit: false, guarded: true },
    schema: { tags: ['health'], summary: 'models loaded and store open', security: [], response: { 200: readiness, 503: readiness } },
  }, async (_req, reply) => {
    let store = true;
    try {
      await deps.gallery.gallery.sync();
    } catch {
      store = false;
    }
    const ready = !deps.closing() && store && !!deps.analyzer.core.recognizer;
    reply.code(ready ? 200 : 503);
    // no file paths or model names: anyone may ask this
    return { ready, store, closing: deps.closing() };
  });
  // what the page needs before it has a key: whether to ask for one, and which model it talks to (a file name,
  // never a path); refused to other sites' pages like the data routes
  const offered = deps.offerModels ? await offeredModels(deps.analyzer) : null;
  if (offered) registerModelRoutes(app, offered.files);
  app.get('/v1/info', {
    config: { rateLimit: false, guarded: true },
    schema: {
      tags: ['health'], summary: 'how to talk to this server: auth mode and the recognizer\'s file name', security: [],
      response: { 200: { type: 'object', properties: { auth: { type: 'string', enum: ['keys', 'single-user'] }, recognizer: { type: 'string' }, embeddingSize: { type: 'integer' }, detSizes: detSizesSchema, models: { type: 'array', items: modelSchema } } } },
    },
  }, async () => ({
    auth: deps.singleUser ? 'single-user' : 'keys',
    recognizer: basename(deps.analyzer.recognizerPath ?? ''),
    embeddingSize: deps.analyzer.embeddingSize,
    detSizes: deps.gallery.detSizes,
    // the models the page may run on the device (serve --offer-models); absent when none are offered
    ...(offered ? { models: offered.models } : {}),
  }));
  app.get('/metrics', { config: { scope: 'admin' }, schema: { tags: ['health'], summary: 'Prometheus metrics (admin scope)' } }, async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
