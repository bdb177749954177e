import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';
import { packageRoot } from '../../node/package-info.js';

export interface PageOptions {
  /** Directory of the built page (default: the package's dist/page); null: no page. */
  webRoot?: string | null;
}

/** The web page at / (built by Vite into dist/page), or a line saying how to build it. */
async function page(app: FastifyInstance, options: PageOptions): Promise<void> {
  const webRoot = options.webRoot === undefined ? join(packageRoot(), 'dist', 'page') : options.webRoot;
  if (webRoot && existsSync(join(webRoot, 'index.html'))) {
    // the page's files are not worth a log line each
    await app.register(fastifyStatic, { root: webRoot, prefix: '/', decorateReply: false, index: 'index.html', logLevel: 'warn' });
  } else {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/plain').send('faceprint: the web page is not built (npm run build); the API is at /v1, its document at /openapi.json\n'));
  }
}

export const pagePlugin = fp(page, { name: 'faceprint-page' });
