import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import pinoPretty from 'pino-pretty';
import { EmbeddingBatcher } from '../core/embedding/batcher.js';
import { FaceprintError } from '../core/errors.js';
import type { FaceAnalyzer } from '../node/index.js';
import type { FaceGallery } from '../node/gallery/index.js';
import { Admission } from './admission.js';
import { MemoryBudget } from './budget.js';
import { workRunner, type RouteContext } from './context.js';
import { BrowserGuard, validRequestId } from './guard.js';
import type { KeyStore, Principal, Scope } from './keys.js';
import { ServiceMetrics } from './metrics.js';
import { authPlugin } from './plugins/auth.js';
import { bodiesPlugin } from './plugins/bodies.js';
import { openApiPlugin } from './plugins/openapi.js';
import { pagePlugin } from './plugins/page.js';
import { repliesPlugin } from './plugins/replies.js';
import { registerFaceRoutes, registerGalleryRoutes } from './routes-gallery.js';
import { registerHealthRoutes } from './routes-health.js';
import { registerSystemRoute } from './routes-system.js';
import { Collections } from './collections.js';
import { collectionsRoutePlugin } from './plugins/collections.js';
import { registerCollectionRoutes } from './routes-collections.js';
import { registerEmbeddingRoutes } from './routes-embeddings.js';
import { registerClusterRoutes, registerRecognitionRoutes } from './routes-recognition.js';
import { registerVideoRoute } from './routes-video.js';
import { registerMonitorRoutes } from './routes-monitors.js';
import { galleryIdentifier } from '../core/video/gallery-identifier.js';
import { MonitorManager } from '../node/monitors/manager.js';
import { SourceBox } from '../node/monitors/source.js';
import { checkWebhook, webhookSecret } from '../node/monitors/webhooks.js';

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
  /**
   * Log level and destination (default stdout); `pretty`: readable lines (pino-pretty) instead of JSON, for a
   * person watching a terminal; false: silent.
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
  /** Camera monitors (GET/POST /v1/monitors …); absent: none. */
  monitors?: MonitorServiceOptions;
}

export interface MonitorServiceOptions {
  /** The key that seals monitors' sources in the store (made, 0600, on first use). */
  secretFile: string;
  /** Monitors at most (default 4). */
  maxMonitors?: number;
  /** Hosts (host:port) webhooks may be posted to. */
  webhookHosts?: string[];
  /** A URL every monitor's events are posted to. */
  webhook?: string | null;
  /** The secret webhooks are signed with (made, 0600, on first use). */
  webhookSecretFile?: string;
  /** First retry delay of a failed post (default 1 s). */
  webhookBackoffMs?: number;
  /** A camera that sends no frame for this long is read again (default 10 s). */
  stallMs?: number;
}

export interface FaceprintServer {
  app: FastifyInstance;
  metrics: ServiceMetrics;
  batcher: EmbeddingBatcher;
  monitors: MonitorManager | null;
  admission: Admission;
  budget: MemoryBudget;
  /** Starts listening; returns the base URL. */
  listen(options: { host?: string; port?: number }): Promise<string>;
  /** Graceful: stop accepting, finish the requests in flight, drain the batcher, close the gallery. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * The service: Fastify with its plugins in order — how answers leave (replies), what bodies may come (bodies),
 * who is asking (auth), the document (openapi) — then the routes and the page. Each plugin is one concern in
 * src/http/plugins/; the routes are in routes-*.ts.
 */
export async function createServer(options: ServeOptions): Promise<FaceprintServer> {
  if (!options.singleUser && !options.keys) throw new FaceprintError('INVALID_INPUT', 'a server needs API keys, or single-user mode');
  const recognizer = options.analyzer.core.recognizer;
  if (!recognizer) throw new FaceprintError('MODEL_MISSING', 'the server needs a recognizer model (--recognizer or a pack with one)');
  const startedAt = Date.now();
  const bodyLimit = options.bodyLimit ?? 20 * 1024 * 1024;
  const deadlineMs = options.deadlineMs ?? 10_000;
  const admission = new Admission({ concurrency: options.concurrency ?? 8, maxQueue: options.maxQueue ?? 64, deadlineMs });
  const budget = new MemoryBudget(options.memoryBudget ?? 2 ** 30);
  const guard = new BrowserGuard({ allowedHosts: options.allowedHosts, corsOrigins: options.corsOrigins });
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

  const app = Fastify(fastifyOptions(options, bodyLimit));
  await app.register(repliesPlugin, { metrics, corsOrigins: options.corsOrigins });
  await app.register(bodiesPlugin, { bodyLimit, budget, metrics });
  await app.register(authPlugin, { keys: options.singleUser ? null : options.keys, guard, deadlineMs, authFailuresPerMinute: options.authFailuresPerMinute ?? 20, rateLimitPerMinute: options.rateLimitPerMinute ?? 600 });
  const requestBodies = new Map<string, Record<string, unknown>>();
  await app.register(openApiPlugin, { requestBodies });

  const ctx: RouteContext = {
    analyzer: options.analyzer, gallery: options.gallery,
    images: { fetchHosts: options.fetchHosts ?? [], maxBytes: bodyLimit, fetchTimeoutMs: options.fetchTimeoutMs ?? 10_000, maxImages: options.maxImages ?? 32, maxUrls: options.maxUrls ?? 4 },
    documentBody: (method, url, body) => requestBodies.set(`${method} ${url}`, body),
    work: workRunner(admission, budget, options.analyzer.pixelLimit),
  };
  const collections = new Collections(options.gallery, options.analyzer);
  await app.register(collectionsRoutePlugin, { collections });
  let closing = false;
  let inFlight = 0;
  await registerHealthRoutes(app, {
    analyzer: options.analyzer, gallery: options.gallery, metrics, singleUser: !!options.singleUser,
    offerModels: options.offerModels ?? !!options.singleUser, closing: () => closing,
  });
  registerRecognitionRoutes(app, ctx);
  registerClusterRoutes(app, ctx);
  registerGalleryRoutes(app, ctx);
  registerFaceRoutes(app, ctx);
  registerVideoRoute(app, ctx);
  registerEmbeddingRoutes(app, ctx);
  registerCollectionRoutes(app, collections);
  const monitors = options.monitors ? await openMonitors(options, options.monitors, admission, budget, app, collections) : null;
  if (monitors) registerMonitorRoutes(app, monitors, (name) => collections.info(name));
  await registerSystemRoute(app, { analyzer: options.analyzer, gallery: options.gallery, metrics, monitors: () => monitors, startedAt });
  await app.register(pagePlugin, { webRoot: options.webRoot });

  options.analyzer.core.useEmbedder(batcher);
  options.analyzer.core.useFaceLimit(options.maxFacesPerImage ?? 256);
  options.analyzer.useDecodeTimeout(deadlineMs);
  app.addHook('onClose', async () => {
    await monitors?.close();
    await batcher.drain();
    await collections.close();
    options.analyzer.core.useEmbedder(null);
    options.analyzer.core.useFaceLimit(0);
    options.analyzer.useDecodeTimeout(0);
    await options.gallery.close();
  });

  return {
    app, metrics, batcher, admission, budget, monitors,
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

/** A function's first answer, kept. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= fn());
}

/** The monitors kept in the store, started, each frame analysed within the service's capacity. */
async function openMonitors(options: ServeOptions, m: MonitorServiceOptions, admission: Admission, budget: MemoryBudget, app: FastifyInstance, collections: Collections): Promise<MonitorManager> {
  const hostOf = (url: string) => URL.canParse(url) ? new URL(url).host : '';
  const webhook = m.webhook ? checkWebhook(m.webhook, [hostOf(m.webhook)]) : null;
  return MonitorManager.open({
    store: options.gallery.gallery.store, box: new SourceBox(m.secretFile), maxMonitors: m.maxMonitors,
    webhookHosts: m.webhookHosts ?? [], globalWebhook: webhook,
    webhookSecret: m.webhookSecretFile ? once(() => webhookSecret(m.webhookSecretFile!)) : null, webhookBackoffMs: m.webhookBackoffMs,
    deps: {
      core: options.analyzer.core,
      log: app.log,
      stallMs: m.stallMs,
      // no threshold for this recognizer (unknown model, no calibration): the tracks stay unnamed
      identifier: async (threshold, collection) => {
        const g = await collections.get(collection).catch(() => null);
        return g ? galleryIdentifier(g.gallery, threshold === null ? {} : { threshold }).catch(() => null) : null;
      },
      // a frame waits at most 2 s for a slot and its memory: a busy API drops camera frames, never the reverse
      runFrame: (bytes, job) => admission.run(async () => {
        const release = await budget.acquire(bytes, Date.now() + 2000);
        try {
          return await job();
        } finally {
          release();
        }
      }, { deadline: Date.now() + 2000 }),
    },
  });
}

/** Fastify's own options: logging (keys and query strings never logged), limits, request ids, the HTTP server. */
function fastifyOptions(options: ServeOptions, bodyLimit: number): FastifyServerOptions {
  return {
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
