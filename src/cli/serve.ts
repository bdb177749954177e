import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { FaceprintError } from '../core/errors.js';
import { FaceAnalyzer } from '../node/index.js';
import { FaceGallery } from '../node/gallery/index.js';
import { KeyStore, parseScopes } from '../http/keys.js';
import { createServer } from '../http/server.js';
import { join } from 'node:path';
import { faceprintHome } from '../node/package-info.js';
import { addAnalyzerOptions } from './options.js';

type PrintLine = (line: string) => void;
type Parse = (v: string) => number;

const DEFAULT_KEYS = './faceprint-keys.json';
const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

function keysOption(cmd: Command): Command {
  return cmd.option('--keys <file>', 'API key file (hashed keys)', process.env.FACEPRINT_KEYS ?? DEFAULT_KEYS);
}

/** serve's own options (the models' are addAnalyzerOptions'), each with its default. */
function serveOptions(serve: Command, int: Parse, float: Parse): Command {
  return addAnalyzerOptions(serve, int, float)
    .option('--store <url>', 'gallery: a SQLite file or postgres://… URL', process.env.FACEPRINT_STORE ?? './faceprint.db')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', int, 8080)
    .option('--single-user', 'no API keys: every request is admin (loopback addresses only)')
    .option('--offer-models', 'offer the model files to the page\'s on-device mode (GET /models/…, no key needed); default on with --single-user')
    .option('--no-offer-models', 'do not offer them')
    .option('--max-batch <n>', 'faces per recognizer run (dynamic batching; 1 = off)', int, 32)
    .option('--max-wait-ms <ms>', 'how long a face waits for others to share its run', float, 5)
    .option('--concurrency <n>', 'requests doing model work at once', int, 8)
    .option('--max-queue <n>', 'requests waiting for a slot before 503', int, 64)
    .option('--deadline-ms <ms>', 'a request that cannot be answered this long after its arrival gets 503 + Retry-After', int, 10_000)
    .option('--memory-budget-mb <mb>', 'decoded pixels in flight, server-wide (requests wait for their share)', float, 1024)
    .option('--max-images <n>', 'images per request', int, 32)
    .option('--max-faces-per-image <n>', 'faces kept per image, the highest-scoring (bounds the work of one crowd photo)', int, 256)
    .option('--max-urls <n>', 'image URLs fetched per request', int, 4)
    .option('--trust-proxy <addrs>', 'comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For gives the client address (rate limits, auth failures, logs)', list)
    .option('--allowed-hosts <hosts>', 'comma-separated host names the server answers to besides loopback names and --host (e.g. behind a proxy)', list)
    .option('--request-timeout-ms <ms>', 'time allowed to receive a request', int, 30_000)
    .option('--headers-timeout-ms <ms>', 'time allowed to receive a request\'s headers', int, 10_000)
    .option('--max-connections-per-address <n>', 'open connections one client address may hold', int, 512)
    .option('--body-limit-mb <mb>', 'largest request body', float, 20)
    .option('--pixel-limit <n>', 'largest image in pixels (checked before decoding)', int, 40_000_000)
    .option('--rate-limit <n>', 'requests per minute per key (0: none)', int, 600)
    .option('--cors <origins>', 'comma-separated origins allowed by CORS (default: CORS off)', list)
    .option('--fetch-hosts <hosts>', 'comma-separated hosts images may be fetched from by URL (default: URL fetching off)', list)
    .option('--search-threads <n>', 'threads for the exact search scan', int, 1)
    .option('--log-level <level>', 'pino level: fatal, error, warn, info, debug', 'info')
    .option('--open', 'open the web page in the desktop browser once listening')
    .option('--max-monitors <n>', 'camera monitors at most (0: none)', int, 4)
    .option('--monitor-secret <file>', 'key that seals the cameras\' sources (with their passwords) in the store; made on first use', join(faceprintHome(), 'monitor.key'))
    .option('--webhook <url>', 'post every camera event here (signed), besides each monitor\'s own webhook')
    .option('--webhook-hosts <hosts>', 'comma-separated host:port that monitors\' webhooks may post to', list)
    .option('--webhook-secret <file>', 'secret that webhook bodies are signed with (X-Faceprint-Signature: sha256=HMAC); made on first use', join(faceprintHome(), 'webhook.secret'));
}

export function addServeCommands(program: Command, out: PrintLine, int: Parse, float: Parse): void {
  const serve = program
    .command('serve')
    .description('HTTP API (OpenAPI at /openapi.json, docs at /docs) and the web page at /, on a gallery store');
  keysOption(serveOptions(serve, int, float)).action(async (opts) => {
    if (!opts.pack && !opts.detector) throw new FaceprintError('MODEL_MISSING', 'give --pack NAME|DIR, or --detector FILE and --recognizer FILE');
    const keys = opts.singleUser ? null : await KeyStore.open(opts.keys);
    if (keys && keys.activeCount === 0) {
      throw new FaceprintError('INVALID_INPUT', `no API key in ${opts.keys}: create one with \`faceprint keys create --name me --scope admin\`, or run on localhost with --single-user`);
    }
    const analyzer = await FaceAnalyzer.create({
      pack: opts.pack, detector: opts.detector, recognizer: opts.recognizer, detSize: opts.detSize, detSizes: opts.detSizes, detThresh: opts.detThresh, detInput: opts.detInput,
      intraOpNumThreads: opts.threads, pixelLimit: opts.pixelLimit, maxBatch: Math.max(opts.maxBatch, 1), heads: opts.heads, headModels: opts.head,
    });
    let server: Awaited<ReturnType<typeof createServer>>;
    try {
      const gallery = await FaceGallery.open({ analyzer, store: opts.store, searchThreads: opts.searchThreads });
      server = await createServer({
        analyzer, gallery, keys, singleUser: !!opts.singleUser, offerModels: opts.offerModels,
        maxBatch: opts.maxBatch, maxWaitMs: opts.maxWaitMs, concurrency: opts.concurrency, maxQueue: opts.maxQueue,
        deadlineMs: opts.deadlineMs, memoryBudget: Math.round(opts.memoryBudgetMb * 2 ** 20), maxImages: opts.maxImages, maxFacesPerImage: opts.maxFacesPerImage, maxUrls: opts.maxUrls, allowedHosts: opts.allowedHosts, trustProxy: opts.trustProxy, requestTimeoutMs: opts.requestTimeoutMs, headersTimeoutMs: opts.headersTimeoutMs, maxConnectionsPerAddress: opts.maxConnectionsPerAddress, bodyLimit: Math.round(opts.bodyLimitMb * 1024 * 1024),
        rateLimitPerMinute: opts.rateLimit, corsOrigins: opts.cors, fetchHosts: opts.fetchHosts, logger: { level: opts.logLevel, pretty: process.stdout.isTTY === true }, // JSON lines when not a terminal
        monitors: opts.maxMonitors > 0 ? { secretFile: opts.monitorSecret, maxMonitors: opts.maxMonitors, webhook: opts.webhook ?? null, webhookHosts: opts.webhookHosts, webhookSecretFile: opts.webhookSecret } : undefined,
      });
    } catch (e) {
      await analyzer.close();
      throw e;
    }
    const url = await server.listen({ host: opts.host, port: opts.port }).catch(async (e) => {
      await server.close();
      await analyzer.close();
      throw e;
    });
    process.stderr.write(`faceprint serving ${url} — web page ${url}/, API document ${url}/openapi.json, docs ${url}/docs${opts.singleUser ? ' (single-user: no keys)' : ''}\n`);
    if (opts.open) openBrowser(`${url}/`);
    let stopping = false;
    const stop = async (signal: string): Promise<void> => {
      if (stopping) {
        process.stderr.write(`faceprint: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      server.app.log.info({ signal }, 'shutting down: no new requests; finishing the ones in flight');
      await server.close();
      await analyzer.close();
      server.app.log.info('stopped');
      process.exitCode = 0;
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });

  const keys = program.command('keys').description('API keys of `faceprint serve` (stored hashed; a key is shown once)');
  keysOption(keys.command('create').description('creates a key and prints it (once)'))
    .requiredOption('--name <name>', 'who or what the key is for')
    .option('--scope <scopes>', 'read, write, admin (each includes the ones before it)', 'read')
    .option('--json', 'JSON output')
    .action(async (opts) => {
      const ks = await KeyStore.open(opts.keys);
      const { record, key } = await ks.create(opts.name, parseScopes(opts.scope));
      out(opts.json ? JSON.stringify({ ...record, sha256: undefined, key }) : `${key}\n(key ${record.id} "${record.name}", scopes ${record.scopes.join(',')}; it is not shown again)`);
    });
  keysOption(keys.command('list').description('keys: id, name, scopes, created, revoked'))
    .option('--json', 'JSON output')
    .action(async (opts) => {
      const records = (await KeyStore.open(opts.keys)).list().map(({ sha256: _hash, ...r }) => r);
      if (opts.json) out(JSON.stringify(records));
      else for (const r of records) out(`${r.id}  ${r.name}  ${r.scopes.join(',')}  created ${r.createdAt}${r.revokedAt ? `  REVOKED ${r.revokedAt}` : ''}`);
    });
  keysOption(keys.command('revoke').description('revokes a key (a running server stops accepting it within a second)').argument('<key>', 'key id or name'))
    .action(async (ref: string, opts) => {
      const r = await (await KeyStore.open(opts.keys)).revoke(ref);
      out(`revoked ${r.id} "${r.name}"`);
    });
}

/** Best effort: the desktop's browser (xdg-open, open, start); a machine without one just prints the URL. */
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  const cannot = (why: string) => process.stderr.write(`faceprint: could not open a browser (${cmd}: ${why}); open ${url} yourself\n`);
  try {
    const child = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', (e: NodeJS.ErrnoException) => cannot(e.code ?? e.message));
    child.on('exit', (code) => code && cannot(`exit ${code}`));
    child.unref();
  } catch (e) {
    cannot((e as Error).message);
  }
}
