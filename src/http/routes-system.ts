import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import * as ort from 'onnxruntime-node';
import type { FaceAnalyzer } from '../node/index.js';
import type { FaceGallery } from '../node/gallery/index.js';
import type { MonitorManager } from '../node/monitors/manager.js';
import { packageVersion } from '../node/package-info.js';
import type { ServiceMetrics } from './metrics.js';
import { offeredModels } from './routes-models.js';
import { detSizesSchema } from './schemas.js';

export interface SystemDeps {
  analyzer: FaceAnalyzer;
  gallery: FaceGallery;
  metrics: ServiceMetrics;
  monitors: () => MonitorManager | null;
  startedAt: number;
}

let ffmpeg: Promise<string | null> | null = null;
/** The system ffmpeg's version (its first line), once per process; null when there is none. */
function ffmpegVersion(): Promise<string | null> {
  ffmpeg ??= new Promise((resolve) => execFile('ffmpeg', ['-hide_banner', '-version'], { timeout: 5000 }, (err, out) => resolve(err ? null : (/ffmpeg version (\S+)/.exec(out)?.[1] ?? null))));
  return ffmpeg;
}

const obj = (properties: Record<string, unknown>) => ({ type: 'object', properties });
const systemSchema = obj({
  versions: obj({ faceprint: { type: 'string' }, node: { type: 'string' }, onnxruntime: { type: 'string' }, ffmpeg: { type: ['string', 'null'] } }),
  models: { type: 'array', items: obj({ role: { type: 'string' }, file: { type: 'string' }, sha256: { type: 'string' }, bytes: { type: 'integer' } }) },
  executionProviders: { type: 'array', items: { type: 'string' } },
  embeddingSize: { type: 'integer' },
  detSizes: detSizesSchema,
  store: obj({ kind: { type: 'string' }, subjects: { type: 'integer' }, bytes: { type: ['integer', 'null'] } }),
  index: obj({ templates: { type: 'integer' }, unassignedFaces: { type: 'integer' } }),
  monitors: { type: ['integer', 'null'] },
  uptimeS: { type: 'number' },
  errorsLastHour: { type: 'object', additionalProperties: { type: 'integer' } },
});

/**
 * GET /v1/system: what this server runs — versions, models with their sha256, execution providers, store and
 * index sizes, uptime, the last hour's error answers by code. Read scope: it names no path and no secret.
 */
export async function registerSystemRoute(app: FastifyInstance, deps: SystemDeps): Promise<void> {
  // hashing the models once: they do not change under a running server
  const models = (await offeredModels(deps.analyzer)).models.map((m) => ({ role: m.role, file: decodeURIComponent(m.url.split('/').pop()!), sha256: m.sha256, bytes: m.bytes }));
  app.get('/v1/system', { config: { scope: 'read' }, schema: { tags: ['health'], summary: 'versions, models, execution providers, store and index sizes, uptime, recent errors', response: { 200: systemSchema } } }, async () => {
    const g = deps.gallery.gallery;
    const store = g.store;
    const bytes = store.kind === 'sqlite' ? await stat(store.location).then((s) => s.size, () => null) : null;
    return {
      versions: { faceprint: packageVersion(), node: process.version, onnxruntime: ort.env.versions.node ?? ort.env.versions.common, ffmpeg: await ffmpegVersion() },
      models,
      executionProviders: deps.analyzer.executionProviders,
      embeddingSize: deps.analyzer.embeddingSize,
      detSizes: g.detSizes,
      store: { kind: store.kind ?? basename(store.constructor.name), subjects: (await g.listSubjects({ limit: 1 })).total, bytes },
      index: { templates: g.templates.size, unassignedFaces: g.unassigned.size },
      monitors: deps.monitors()?.list().length ?? null,
      uptimeS: Math.round((Date.now() - deps.startedAt) / 100) / 10,
      errorsLastHour: deps.metrics.recentErrors(),
    };
  });
}
