import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import { ApiError, toErrorReply } from '../errors.js';
import { setSecurityHeaders } from '../guard.js';
import type { ServiceMetrics } from '../metrics.js';

export interface RepliesOptions {
  metrics: ServiceMetrics;
  corsOrigins?: string[];
}

/**
 * How every answer leaves: the request id and security headers on each, errors in the one shape (a fault of
 * ours logged, never described), CORS when configured, and the request metrics.
 */
async function replies(app: FastifyInstance, { metrics, corsOrigins }: RepliesOptions): Promise<void> {
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    setSecurityHeaders(req, reply);
  });
  if (corsOrigins?.length) await app.register(cors, { origin: corsOrigins });
  app.setErrorHandler((error, req, reply) => {
    const out = toErrorReply(error, req.id);
    metrics.noteError(out.body.error.code);
    if (out.internal) req.log.error({ err: error }, 'request failed');
    else if (out.status === 499) req.log.info('client gone: work stopped');
    else if (out.status === 503) metrics.refused.inc({ reason: out.body.error.code });
    reply.code(out.status).headers(out.headers).send(out.body);
  });
  app.setNotFoundHandler((req) => {
    throw new ApiError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });
}

export const repliesPlugin = fp(replies, { name: 'faceprint-replies' });
