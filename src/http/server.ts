import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Transform } from 'node:stream';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import pinoPretty from 'pino-pretty';
import { EmbeddingBatcher } from '../core/embedding/batcher.js';
import { FaceprintError } from '../core/errors.js';
import type { FaceAnalyzer } from '../node/index.js';
import type { FaceGallery } from '../node/gallery/index.js';
import { imageSize } from '../node/decode.js';
import { Admission, ClientGoneError, OverloadedError } from './admission.js';
import { MemoryBudget } from './budget.js';
import type { RouteContext } from './context.js';
import { AuthFailureLimiter, BrowserGuard, setSecurityHeaders, validRequestId } from './guard.js';
import { ApiError, toErrorReply } from './errors.js';
import type { ImageInputOptions } from './images.js';
import type { KeyStore, Principal, Scope } from './keys.js';
import { ServiceMetrics } from './metrics.js';
import { registerRecognitionRoutes } from './routes-recognition.js';
import { registerGalleryRoutes } from './routes-gallery.js';
import { offeredModels, registerModelRoutes } from './routes-models.js';
import { registerVideoRoute } from './routes-video.js';
import { detSizesSchema } from './schemas.js';
import { packageRoot, packageVersion } from '../node/package-info.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** Epoch ms by which the answer is due (arrival + the deadline). */
    deadline: number;
    /** Aborted when the client goes away before its answer (Fastify's own `signal` also fires on a normal end). */
    clientGone: AbortSignal;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one (health, page, docs) are open. */
    scope?: Scope;
    /** An open route that still tells about the server: refused to other sites' pages like the data routes. */
    guarded?: boolean;
  }
}

export interface ServeOptions {
  analyzer: FaceAnalyzer;
  gallery: FaceGallery;
  /** API keys; null only in single-user mode. */
  keys: KeyStore | null;
  /** No keys: every request acts as admin. Only allowed on a loopback address (checked by listen). */
  singleUser?: boolean;
  /** Dynamic batching of the recognizer: faces per run, and how long the first face waits for company. */
  maxBatch?: number;
  maxWaitMs?: number;
  /** Requests doing model work at once; more wait in a queue of maxQueue. */
  concurrency?: number;
  maxQueue?: number;
  /**
   * A request's deadline, from its arrival: one that cannot start its model work in time (waiting for a slot
   * or for memory, or because a job takes longer than what is left) gets 503 + Retry-After instead. Default 10 s.
   */
  deadlineMs?: number;
  /** Decoded pixels in flight, server-wide, in bytes (default 1 GiB): a request waits for its images' share. */
  memoryBudget?: number;
  /**
   * Faces kept per image, the highest-scoring (default 256): a crowd photo or a low score threshold cannot make
   * one request embed thousands of faces.
   */
  maxFacesPerImage?: number;
  /** Images per request (default 32) and image URLs fetched per request (default 4). */
  maxImages?: number;
  maxUrls?: number;
  /** Host names the server answers to besides loopback names and its listening address (DNS rebinding). */
  allowedHosts?: string[];
  /**
   * Proxies whose X-Forwarded-For is believed for the client's address (rate limits, auth failure counts, logs):
   * addresses or CIDR ranges, or true for any (Fastify's trustProxy). Default: none, the socket's address.
   */
  trustProxy?: boolean | string[];
  /** Failed authentications per client address per minute before 429 (default 20). */
  authFailuresPerMinute?: number;
  /** Largest request body (bytes); images in JSON count in base64. */
  bodyLimit?: number;
  /** Time allowed to receive a whole request (default 30 s). */
  requestTimeoutMs?: number;
  /** Time allowed to receive a request's headers (default 10 s): a slowloris client is cut off after it. */
  headersTimeoutMs?: number;
  /** Open connections one client address may hold (default 512); more are closed at once. */
  maxConnectionsPerAddress?: number;
  /** Requests per minute per key (per address in single-user mode); 0 = no limit. */
  rateLimitPerMinute?: number;
  /** Origins allowed by CORS, and the only other origins whose pages may call the API; none: CORS is off. */
  corsOrigins?: string[];
  /** Hosts (host[:port]) images may be fetched from by URL; none: URL fetching is off. */
  fetchHosts?: string[];
  /** Whole time allowed for one URL fetch (default 10 s). */
  fetchTimeoutMs?: number;
  /** pino options: level, and a stream to write to (default stdout); false: silent. */
  /**
   * Log level and destination (default stdout); `pretty`: readable lines (pino-pretty) instead of JSON, for a
   * person watching a terminal.
   */
  logger?: { level?: string; stream?: NodeJS.WritableStream; pretty?: boolean } | false;
  /** Directory of the built web page (default: the package's dist/page); null: no page. */
  webRoot?: string | null;
  /**
   * Offer the server's model files to its page (GET /models/…, with their sha256 in /v1/info), so the page's
   * on-device mode runs the same models. Default: on in single-user mode, off with keys (the files are then
   * downloadable without a key).
   */
  offerModels?: boolean;
}

export interface FaceprintServer {
  app: FastifyInstance;
  metrics: ServiceMetrics;
  batcher: EmbeddingBatcher;
  admission: Admission;
  budget: MemoryBudget;
  /** Starts listening; returns the base URL. */
  listen(options: { host?: string; port?: number }): Promise<string>;
  /** Graceful: stop accepting, finish the requests in flight, drain the batcher, close the gallery. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Memory a decode holds per pixel while its request works, measured (docs/security.md): libvips' output
 * (RGB/RGBA), our RGB copy, and the padded canvas of a face-less image's retry.
 */
const DECODE_BYTES_PER_PIXEL = 16;
/** Memory a buffered body holds per byte received: Fastify's chunks and their concatenation. */
const BODY_BYTES_PER_BYTE = 2;

/** The package's built web page (dist/page), from src/http or dist/http alike. */
function defaultWebRoot(): string {
  return join(packageRoot(), 'dist', 'page');
}

export async function createServer(options: ServeOptions): Promise<FaceprintServer> {
  if (!options.singleUser && !options.keys) throw new FaceprintError('INVALID_INPUT', 'a server needs API keys, or single-user mode');
  const bodyLimit = options.bodyLimit ?? 20 * 1024 * 1024;
  const deadlineMs = options.deadlineMs ?? 10_000;
  const admission = new Admission({ concurrency: options.concurrency ?? 8, maxQueue: options.maxQueue ?? 64, deadlineMs });
  const budget = new MemoryBudget(options.memoryBudget ?? 2 ** 30);
  const guard = new BrowserGuard({ allowedHosts: options.allowedHosts, corsOrigins: options.corsOrigins });
  const authFailures = new AuthFailureLimiter(options.authFailuresPerMinute ?? 20);
  const recognizer = options.analyzer.core.recognizer;
  if (!recognizer) throw new FaceprintError('MODEL_MISSING', 'the server needs a recognizer model (--recognizer or a pack with one)');
  // the queue-depth gauge reads the batcher when scraped, after both exist
  const metrics: ServiceMetrics = new ServiceMetrics(() => ({ admission: admission.queued, running: admission.running, embedder: batcher.pending }));
  const batcher = new EmbeddingBatcher(recognizer, {
    maxBatch: options.maxBatch ?? 32,
    maxWaitMs: options.maxWaitMs ?? 5,
    onBatch: (size, ms) => {
      metrics.batchSize.observe(size);
      metrics.batchSeconds.observe(ms / 1000);
    },
  });

  const app = Fastify({
    logger: options.logger === false ? false : {
      level: options.logger?.level ?? 'info',
      stream: options.logger?.pretty
        ? pinoPretty({ destination: options.logger.stream ?? 1, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', colorize: !options.logger.stream && process.stdout.isTTY, sync: true })
        : options.logger?.stream,
      // keys never reach the log; bodies (images) are not logged by fastify at all; nor are query strings
      // (a key sent as ?key=…, a subject's name), only the path
      redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
      serializers: {
        req: (req: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) => ({ method: req.method, url: req.url.split('?')[0], remoteAddress: req.ip ?? req.socket?.remoteAddress }),
      },
    },
    bodyLimit,
    trustProxy: options.trustProxy ?? false,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    serverFactory: (handler) => boundedHttpServer(handler, {
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 512,
    }),
    // a client's X-Request-Id is kept when it is short and plain, else replaced (it reaches logs and headers)
    requestIdHeader: false,
    genReqId: (req) => validRequestId(req.headers['x-request-id']) ?? randomUUID(),
    // subject names up to 100 characters reach every route, whatever their UTF-8 percent-encoding's length
    routerOptions: { maxParamLength: 2048 },
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    setSecurityHeaders(req, reply);
  });

  // Raw image bodies; text/plain is no way to send an image.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(/^image\/[\w.+-]+$/, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  app.addContentTypeParser(/^video\/[\w.+-]+$/, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  await app.register(multipart, { limits: { fileSize: bodyLimit, files: 64, fields: 32, parts: 100 } });
  if (options.corsOrigins?.length) await app.register(cors, { origin: options.corsOrigins });

  app.setErrorHandler((error, req, reply) => {
    const out = toErrorReply(error, req.id);
    if (out.internal) req.log.error({ err: error }, 'request failed');
    else if (out.status === 499) req.log.info('client gone: work stopped');
    else if (out.status === 503) metrics.refused.inc({ reason: out.body.error.code });
    reply.code(out.status).headers(out.headers).send(out.body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  app.addHook('onRequest', async (req, reply) => {
    req.deadline = Date.now() + deadlineMs;
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort(new ClientGoneError());
    });
    req.clientGone = gone.signal;
    const scope = req.routeOptions.config?.scope;
    // the page's static files are the same for everyone; the data routes are the server's own page's and API clients'
    if (scope || req.routeOptions.config?.guarded) guard.check(req);
    else guard.checkHost(req);
    if (!scope) return;
    if (options.singleUser) {
      req.principal = { keyId: 'single-user', name: 'single-user', scopes: new Set<Scope>(['read', 'write', 'admin']) };
    } else {
      // the key is checked first: a valid key works whatever others from its address (a NAT, a proxy) got wrong;
      // only failures are throttled, so a guesser gets 429s, not more answers
      try {
        req.principal = await authenticate(req, options.keys!);
      } catch (e) {
        authFailures.check(req.ip);
        authFailures.failed(req.ip);
        throw e;
      }
    }
    if (!req.principal.scopes.has(scope)) throw new ApiError('FORBIDDEN', `this key lacks the ${scope} scope`);
    // the key's id (never the key) on this request's log lines, "request completed" included
    req.log = req.log.child({ key: req.principal.keyId });
    reply.log = req.log;
  });
  if ((options.rateLimitPerMinute ?? 600) > 0) {
    await app.register(rateLimit, {
      global: true,
      hook: 'preHandler', // after onRequest: the key is known
      max: options.rateLimitPerMinute ?? 600,
      timeWindow: 60_000,
      keyGenerator: (req) => req.principal?.keyId ?? req.ip,
      errorResponseBuilder: (_req, ctx) => new ApiError('RATE_LIMITED', `rate limit of ${ctx.max} requests a minute reached; retry in ${ctx.after}`, { 'retry-after': String(Math.ceil(ctx.ttl / 1000)) }),
    });
  }
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
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  const requestBodies = new Map<string, Record<string, unknown>>();
  await app.register(swagger, {
    openapi: {
      info: { title: 'faceprint', version: packageVersion(), description: 'Face detection, verification, identification and clustering (InsightFace-exact pipeline).' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'a key from `faceprint keys create` (also accepted in X-API-Key)' } } },
      security: [{ apiKey: [] }],
    },
    transformObject: (doc) => {
      const openapiObject = (doc as { openapiObject: { paths?: Record<string, unknown> } }).openapiObject;
      // image routes read their bodies themselves (multipart, raw, JSON): their request bodies are documented here
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

  const images: ImageInputOptions = { fetchHosts: options.fetchHosts ?? [], maxBytes: bodyLimit, fetchTimeoutMs: options.fetchTimeoutMs ?? 10_000, maxImages: options.maxImages ?? 32, maxUrls: options.maxUrls ?? 4 };
  const pixelLimit = options.analyzer.pixelLimit;
  const ctx: RouteContext = {
    analyzer: options.analyzer, gallery: options.gallery, images,
    documentBody: (method, url, body) => requestBodies.set(`${method} ${url}`, body),
    async work(req, uploaded, job, extraBytes = 0) {
      // what decoding these images will cost, from their headers; an image whose header cannot be read costs
      // nothing here and is refused by its decode with its own error
      const sizes = await Promise.all(uploaded.map((i) => imageSize(i.data, { pixelLimit }).catch(() => null)));
      const need = extraBytes + sizes.reduce((sum, s) => sum + (s ? s.width * s.height * DECODE_BYTES_PER_PIXEL : 0), 0);
      const signal = AbortSignal.any([req.clientGone, AbortSignal.timeout(Math.max(1, req.deadline - Date.now()))]);
      return admission.run(async () => {
        const release = await budget.acquire(need, req.deadline, req.clientGone);
        try {
          return await job(signal);
        } finally {
          release();
        }
      }, { deadline: req.deadline, signal: req.clientGone });
    },
  };

  let closing = false;
  let inFlight = 0;
  app.get('/healthz', { config: { rateLimit: false }, schema: { tags: ['health'], summary: 'the process is up', security: [] } }, async () => ({ ok: true }));
  app.get('/readyz', { config: { rateLimit: false, guarded: true }, schema: { tags: ['health'], summary: 'models loaded and store open', security: [] } }, async (_req, reply) => {
    let store = true;
    try {
      await options.gallery.gallery.sync();
    } catch {
      store = false;
    }
    const ready = !closing && store && !!options.analyzer.core.recognizer;
    reply.code(ready ? 200 : 503);
    // no file paths or model names: anyone may ask this
    return { ready, store, closing };
  });
  // what the page needs before it has a key: whether to ask for one, and which model it talks to (a file name,
  // never a path); refused to other sites' pages like the data routes
  const offered = (options.offerModels ?? !!options.singleUser) ? await offeredModels(options.analyzer) : null;
  if (offered) registerModelRoutes(app, offered.files);
  const modelSchema = { type: 'object', properties: { role: { type: 'string' }, url: { type: 'string' }, sha256: { type: 'string' }, bytes: { type: 'integer' } } };
  app.get('/v1/info', {
    config: { rateLimit: false, guarded: true },
    schema: {
      tags: ['health'], summary: 'how to talk to this server: auth mode and the recognizer\'s file name', security: [],
      response: { 200: { type: 'object', properties: { auth: { type: 'string', enum: ['keys', 'single-user'] }, recognizer: { type: 'string' }, embeddingSize: { type: 'integer' }, detSizes: detSizesSchema, models: { type: 'array', items: modelSchema } } } },
    },
  }, async () => ({
    auth: options.singleUser ? 'single-user' : 'keys',
    recognizer: basename(options.analyzer.recognizerPath ?? ''),
    embeddingSize: options.analyzer.embeddingSize,
    detSizes: options.gallery.detSizes,
    // the models the page may run on the device (serve --offer-models); absent when none are offered
    ...(offered ? { models: offered.models } : {}),
  }));
  app.get('/metrics', { config: { scope: 'admin' }, schema: { tags: ['health'], summary: 'Prometheus metrics (admin scope)' } }, async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  registerRecognitionRoutes(app, ctx);
  registerGalleryRoutes(app, ctx);
  registerVideoRoute(app, ctx);

  const webRoot = options.webRoot === undefined ? defaultWebRoot() : options.webRoot;
  if (webRoot && existsSync(join(webRoot, 'index.html'))) {
    // the page's files are not worth a log line each
    await app.register(fastifyStatic, { root: webRoot, prefix: '/', decorateReply: false, index: 'index.html', logLevel: 'warn' });
  } else {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/plain').send('faceprint: the web page is not built (npm run build); the API is at /v1, its document at /openapi.json\n'));
  }

  options.analyzer.core.useEmbedder(batcher);
  options.analyzer.core.useFaceLimit(options.maxFacesPerImage ?? 256);
  options.analyzer.useDecodeTimeout(deadlineMs);
  app.addHook('onClose', async () => {
    await batcher.drain();
    options.analyzer.core.useEmbedder(null);
    options.analyzer.core.useFaceLimit(0);
    options.analyzer.useDecodeTimeout(0);
    await options.gallery.close();
  });

  return {
    app, metrics, batcher, admission, budget,
    async listen({ host = '127.0.0.1', port = 8080 }) {
      // requests being answered, counted at the socket: close() waits for these and no other connection
      app.server.on('request', (_req, res) => {
        inFlight++;
        res.once('close', () => inFlight--);
      });
      if (options.singleUser && !LOOPBACK.has(host)) throw new FaceprintError('INVALID_INPUT', `single-user mode (no keys) only listens on a loopback address, not ${host}`);
      guard.listeningOn(host);
      try {
        return await app.listen({ host, port });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new FaceprintError('INVALID_INPUT', `cannot listen on ${host}:${port}: ${code === 'EADDRINUSE' ? 'the port is in use' : code}`, { cause: e });
        }
        throw e;
      }
    },
    async close() {
      closing = true;
      // Fastify closes the connections idle at this moment; one that finishes its request later would otherwise
      // keep the process for its keep-alive time (72 s)
      const sweep = setInterval(() => (inFlight === 0 ? app.server.closeAllConnections() : app.server.closeIdleConnections()), 100);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
    },
  };
}

/**
 * Node's HTTP server with its clocks tight enough to mean what they say: it checks header and request time every
 * second (Node's default of 30 s let a body drip run twice its limit), and one address holds at most so many
 * open connections (a slowloris from one host cannot fill the server's sockets).
 */
function boundedHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void, limits: { requestTimeoutMs: number; headersTimeoutMs: number; maxConnectionsPerAddress: number }): Server {
  const server = createHttpServer({
    connectionsCheckingInterval: 1000,
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs || limits.headersTimeoutMs),
  }, handler);
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (open.get(address) ?? 0) + 1;
    if (count > limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
  return server;
}

async function authenticate(req: FastifyRequest, keys: KeyStore): Promise<Principal> {
  const header = req.headers.authorization;
  // the scheme is case-insensitive (RFC 9110 §11.1)
  const bearer = header && /^bearer\s+(\S+)\s*$/i.exec(header);
  const presented = bearer ? bearer[1] : (req.headers['x-api-key'] as string | undefined);
  if (!presented) throw new ApiError('UNAUTHORIZED', 'an API key is required: Authorization: Bearer <key>', { 'www-authenticate': 'Bearer' });
  const principal = await keys.authenticate(presented);
  if (!principal) throw new ApiError('UNAUTHORIZED', 'unknown or revoked API key', { 'www-authenticate': 'Bearer' });
  return principal;
}
