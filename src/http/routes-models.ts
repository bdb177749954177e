import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { FaceAnalyzer } from '../node/index.js';
import { ApiError } from './errors.js';

/** A model file the server offers its page, for the page's on-device mode. */
export interface OfferedModel {
  role: 'detector' | 'recognizer' | 'head';
  /** Where the page fetches it: /models/<file name>. */
  url: string;
  sha256: string;
  bytes: number;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The server's own model files (detector, recognizer, heads) with their sha256, so that its page can run the same
 * models on the device and check the copies it downloads.
 */
export async function offeredModels(analyzer: FaceAnalyzer): Promise<{ models: OfferedModel[]; files: Map<string, string> }> {
  const paths: [OfferedModel['role'], string][] = [['detector', analyzer.detectorPath]];
  if (analyzer.recognizerPath) paths.push(['recognizer', analyzer.recognizerPath]);
  for (const h of analyzer.core.heads) paths.push(['head', h.session.source]);
  const files = new Map<string, string>();
  const models: OfferedModel[] = [];
  for (const [role, path] of paths) {
    let name = basename(path);
    // two files of one name (packs in different folders): the second gets its role in front
    if (files.has(name)) name = `${role}-${name}`;
    files.set(name, path);
    models.push({ role, url: `/models/${encodeURIComponent(name)}`, sha256: await sha256Of(path), bytes: (await stat(path)).size });
  }
  return { models, files };
}

/** GET /models/<name>: only the files offered, by name (no path from the request reaches the file system). */
export function registerModelRoutes(app: FastifyInstance, files: Map<string, string>): void {
  app.get<{ Params: { name: string } }>('/models/:name', {
    config: { rateLimit: false, guarded: true },
    schema: { tags: ['health'], summary: 'a model file this server offers its page (serve --offer-models)', security: [], params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
  }, async (req, reply) => {
    const path = files.get(req.params.name);
    if (!path) throw new ApiError('NOT_FOUND', `this server offers no model ${JSON.stringify(req.params.name)}`);
    const { size } = await stat(path);
    return reply.type('application/octet-stream').header('content-length', String(size)).header('cache-control', 'no-cache').send(createReadStream(path));
  });
}
