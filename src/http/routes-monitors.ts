import type { FastifyInstance, FastifyReply } from 'fastify';
import sharp from 'sharp';
import type { MonitorEvent } from '../core/monitors/visits.js';
import type { MonitorManager } from '../node/monitors/manager.js';
import type { MonitorRunner } from '../node/monitors/runner.js';
import { FrameAnnotator } from '../node/video/annotate.js';
import { setSecurityHeaders } from './guard.js';

const settingsSchema = {
  type: 'object', additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    source: { type: 'string', minLength: 1, maxLength: 2048, description: 'rtsp(s)://, http(s):// (MJPEG, MPEG-TS, HLS), /dev/videoN, or an absolute file path (played in a loop)' },
    enabled: { type: 'boolean' },
    fps: { type: 'number', minimum: 0.2, maximum: 30 },
    detEvery: { type: 'integer', minimum: 1, maximum: 30 },
    maxFaces: { type: 'integer', minimum: 0, maximum: 256 },
    threshold: { type: ['number', 'null'], minimum: -1, maximum: 1 },
    cooldownS: { type: 'number', minimum: 0, maximum: 3600 },
    keepFaces: { type: 'boolean' },
    webhook: { type: ['string', 'null'], maxLength: 2048 },
    collection: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$', description: 'the collection whose people it names (default: default)' },
  },
} as const;
const idParams = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const;

const num = { type: 'number' } as const;
const subjectRef = { type: ['object', 'null'], properties: { id: { type: 'string' }, name: { type: 'string' } } } as const;
/** A monitor as the API shows it (the source with its password masked). */
export const monitorSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, ...settingsSchema.properties,
    state: { type: 'string', enum: ['starting', 'running', 'degraded', 'reconnecting', 'stopped'] },
    lastError: { type: ['string', 'null'] },
    stats: { type: 'object', properties: { frames: num, analysed: num, dropped: num, reconnects: num, faces: num, lagP50Ms: num, lagP99Ms: num } },
    delivery: { type: ['object', 'null'], properties: { delivered: num, failed: num, queued: num, lastError: { type: ['string', 'null'] }, failing: { type: 'boolean' } } },
  },
} as const;
export const monitorEventSchema = {
  type: 'object',
  properties: {
    id: num, type: { type: 'string' }, monitorId: { type: 'string' }, time: { type: 'string' }, trackId: { type: ['number', 'null'] },
    subject: subjectRef, score: { type: ['number', 'null'] }, bbox: { type: ['array', 'null'], items: num }, previous: subjectRef,
    message: { type: 'string' }, face: { type: 'string', description: 'JPEG, base64 (monitors that keep faces)' },
  },
} as const;
const PREVIEW_FPS = 5;

/** Server-Sent Events: the raw response, the page's own headers (the reply's hooks do not run for it). */
function openEventStream(reply: FastifyReply): void {
  setSecurityHeaders(reply.request, reply);
  reply.hijack();
  reply.raw.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
}

const sse = (e: MonitorEvent): string => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

/** Each monitor's last JPEG, by the time of its frame: watchers and snapshots of one frame share one encoding. */
const encoded = new WeakMap<MonitorRunner, { at: number; jpeg: Promise<Buffer | null> }>();

/** The latest analysed frame with its boxes and names, as JPEG (encoded once per frame). */
function annotatedJpeg(runner: MonitorRunner, annotator: FrameAnnotator): Promise<Buffer | null> {
  const at = runner.latest?.at ?? 0;
  const cached = encoded.get(runner);
  if (cached?.at === at) return cached.jpeg;
  const jpeg = encode(runner, annotator);
  encoded.set(runner, { at, jpeg });
  return jpeg;
}

async function encode(runner: MonitorRunner, annotator: FrameAnnotator): Promise<Buffer | null> {
  const latest = runner.latest;
  if (!latest) return null;
  const image = { ...latest.image, data: Uint8Array.from(latest.image.data) };
  await annotator.draw(image, latest.result.faces);
  return sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), { raw: { width: image.width, height: image.height, channels: 3 } }).jpeg({ quality: 75 }).toBuffer();
}

/**
 * Camera monitors: configured with the admin scope, their events, snapshot and preview read with the read scope.
 * An event stream and a preview stay open as long as their client does (the request deadline does not end them).
 */
export function registerMonitorRoutes(app: FastifyInstance, monitors: MonitorManager, collectionExists: (name: string) => Promise<unknown> = async () => undefined): void {
  const annotator = new FrameAnnotator();
  // event streams and previews never finish by themselves: a closing server ends them, or it would wait for ever
  const open = new Set<import('node:http').ServerResponse>();
  const keep = (res: import('node:http').ServerResponse) => {
    open.add(res);
    res.once('close', () => open.delete(res));
  };
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });
  app.get('/v1/monitors', {
    config: { scope: 'read' },
    schema: { tags: ['monitors'], summary: 'the camera monitors, their state and counters', response: { 200: { type: 'object', properties: { monitors: { type: 'array', items: monitorSchema } } } } },
  }, async () => ({ monitors: monitors.list() }));
  app.post<{ Body: Record<string, unknown> }>('/v1/monitors', {
    config: { scope: 'admin' },
    schema: { tags: ['monitors'], summary: 'adds a camera (started unless enabled is false)', body: { ...settingsSchema, required: ['name', 'source'] }, response: { 201: monitorSchema } },
  }, async (req, reply) => {
    // a camera naming the people of a collection that is not there: 404 now, not a silent camera later
    if (typeof req.body.collection === 'string') await collectionExists(req.body.collection);
    reply.code(201);
    return monitors.create(req.body);
  });
  app.get<{ Params: { id: string } }>('/v1/monitors/:id', { config: { scope: 'read' }, schema: { tags: ['monitors'], summary: 'one monitor', params: idParams, response: { 200: monitorSchema } } }, async (req) => monitors.get(req.params.id));
  app.patch<{ Params: { id: string }; Body: Record<string, unknown> }>('/v1/monitors/:id', {
    config: { scope: 'admin' }, schema: { tags: ['monitors'], summary: 'changes a monitor (restarted if running)', params: idParams, body: { ...settingsSchema, minProperties: 1 }, response: { 200: monitorSchema } },
  }, async (req) => {
    if (typeof req.body.collection === 'string') await collectionExists(req.body.collection);
    return monitors.update(req.params.id, req.body);
  });
  app.delete<{ Params: { id: string } }>('/v1/monitors/:id', { config: { scope: 'admin' }, schema: { tags: ['monitors'], summary: 'stops and removes a monitor', params: idParams, response: { 200: { type: 'object', properties: { deleted: { type: 'boolean' } } } } } }, async (req) => {
    await monitors.remove(req.params.id);
    return { deleted: true };
  });
  for (const action of ['start', 'stop'] as const) {
    app.post<{ Params: { id: string } }>(`/v1/monitors/:id/${action}`, { config: { scope: 'admin' }, schema: { tags: ['monitors'], summary: `${action}s a monitor (kept across restarts)`, params: idParams, response: { 200: monitorSchema } } }, async (req) => monitors.setEnabled(req.params.id, action === 'start'));
  }
  app.get<{ Params: { id: string }; Querystring: { after?: number; limit?: number } }>('/v1/monitors/:id/events', {
    config: { scope: 'read' },
    schema: { tags: ['monitors'], summary: 'events after a cursor (the last id seen); dropped: some were lost to the ring\'s bound', params: idParams, querystring: { type: 'object', properties: { after: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
      response: { 200: { type: 'object', properties: { events: { type: 'array', items: monitorEventSchema }, dropped: { type: 'boolean' }, last: num } } } },
  }, async (req) => monitors.runner(req.params.id).events.after(req.query.after ?? 0, req.query.limit ?? 100));
  app.get<{ Params: { id: string } }>('/v1/monitors/:id/events/stream', {
    config: { scope: 'read', rateLimit: false },
    schema: { tags: ['monitors'], summary: 'the events live (Server-Sent Events); resumes after Last-Event-ID', params: idParams },
  }, async (req, reply) => {
    const runner = monitors.runner(req.params.id);
    openEventStream(reply);
    keep(reply.raw);
    const last = Number(req.headers['last-event-id'] ?? 0);
    for (const e of runner.events.after(Number.isFinite(last) ? last : 0).events) reply.raw.write(sse(e));
    const unsubscribe = runner.events.subscribe((e) => reply.raw.write(sse(e)));
    const ping = setInterval(() => reply.raw.write(': ping\n\n'), 15_000);
    reply.raw.once('close', () => {
      unsubscribe();
      clearInterval(ping);
    });
  });
  app.get<{ Params: { id: string } }>('/v1/monitors/:id/snapshot.jpg', {
    config: { scope: 'read' }, schema: { tags: ['monitors'], summary: 'the latest analysed frame, boxes and names drawn', params: idParams },
  }, async (req, reply) => {
    const jpeg = await annotatedJpeg(monitors.runner(req.params.id), annotator);
    if (!jpeg) return reply.code(204).send();
    return reply.type('image/jpeg').header('cache-control', 'no-store').send(jpeg);
  });
  app.get<{ Params: { id: string } }>('/v1/monitors/:id/preview.mjpeg', {
    config: { scope: 'read', rateLimit: false }, schema: { tags: ['monitors'], summary: `the analysed frames with boxes and names, MJPEG, at most ${PREVIEW_FPS} fps, encoded only while watched`, params: idParams },
  }, async (req, reply) => {
    const runner = monitors.runner(req.params.id);
    setSecurityHeaders(req, reply);
    reply.hijack();
    reply.raw.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), 'content-type': 'multipart/x-mixed-replace; boundary=frame', 'cache-control': 'no-store' });
    keep(reply.raw);
    let sent = 0;
    let busy = false;
    const timer = setInterval(async () => {
      const at = runner.latest?.at ?? 0;
      if (busy || at === sent) return;
      busy = true;
      try {
        const jpeg = await annotatedJpeg(runner, annotator);
        if (jpeg && !reply.raw.destroyed) reply.raw.write(Buffer.concat([Buffer.from(`--frame\r\ncontent-type: image/jpeg\r\ncontent-length: ${jpeg.length}\r\n\r\n`), jpeg, Buffer.from('\r\n')]));
        sent = at;
      } finally {
        busy = false;
      }
    }, 1000 / PREVIEW_FPS);
    reply.raw.once('close', () => clearInterval(timer));
  });
}
