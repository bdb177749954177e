import { Transform } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import multipart from '@fastify/multipart';
import { OverloadedError } from '../admission.js';
import type { MemoryBudget } from '../budget.js';
import type { ServiceMetrics } from '../metrics.js';

/** Memory a buffered body holds per byte received: Fastify's chunks and their concatenation. */
const BODY_BYTES_PER_BYTE = 2;

export interface BodiesOptions {
  bodyLimit: number;
  budget: MemoryBudget;
  metrics: ServiceMetrics;
}

/**
 * What a request may send: raw images and clips, multipart, JSON (never text/plain), and every body held against
 * the memory budget as its bytes arrive.
 */
async function bodies(app: FastifyInstance, { bodyLimit, budget, metrics }: BodiesOptions): Promise<void> {
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(/^image\/[\w.+-]+$/, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  app.addContentTypeParser(/^video\/[\w.+-]+$/, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  await app.register(multipart, { limits: { fileSize: bodyLimit, files: 64, fields: 32, parts: 100 } });

  // A body holds memory budget for what Fastify buffers of it (the chunks, then their concatenation) from its
  // first byte until the answer is sent; bytes arriving past the bodies' share stop it with 503, and one whose
  // declared length cannot fit now is refused before any of it is read. A slow sender holds only what it sent
  // (a multipart body, read by its plugin from the raw request, holds its declared length from the start).
  app.addHook('preParsing', async (req, reply, payload) => {
    const busy = () => {
      metrics.refused.inc({ reason: 'BODY_MEMORY' });
      return new OverloadedError(`server busy: request bodies fill their share of the memory budget (${Math.round(budget.bodyBytes / 2 ** 20)} MiB); retry`, 1);
    };
    const declared = Number(req.headers['content-length']);
    // no body (most GETs, DELETEs): nothing to hold, nothing to count
    if (!(declared > 0) && !req.headers['transfer-encoding']) return payload;
    if (Number.isFinite(declared) && budget.bodyBytes + Math.min(declared, bodyLimit) * BODY_BYTES_PER_BYTE > budget.bodyShare) throw busy();
    const hold = budget.holdBody();
    // the response's socket side closes however the request ends: answered, failed, or its client gone
    reply.raw.once('close', hold.release);
    // (req.isMultipart() is only known after parsing: the header says it now)
    if (/^multipart\//i.test(req.headers['content-type'] ?? '')) {
      // @fastify/multipart reads the raw request itself: its body is held at its declared length (or the limit)
      if (!hold.grow((Number.isFinite(declared) ? Math.min(declared, bodyLimit) : bodyLimit) * BODY_BYTES_PER_BYTE)) throw busy();
      return payload;
    }
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        // answered already (e.g. 413 on its declared length): the rest is read and dropped, never held
        if (hold.released) done();
        else if (hold.grow(chunk.length * BODY_BYTES_PER_BYTE)) done(null, chunk);
        else done(busy());
      },
    });
    // Fastify listens while it reads the body; an error after it stopped reading must not go unhandled
    counted.on('error', () => undefined);
    return payload.pipe(counted);
  });
}

export const bodiesPlugin = fp(bodies, { name: 'faceprint-bodies' });
