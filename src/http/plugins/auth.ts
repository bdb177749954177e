import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import { ClientGoneError } from '../admission.js';
import { ApiError } from '../errors.js';
import { AuthFailureLimiter, type BrowserGuard } from '../guard.js';
import type { KeyStore, Principal, Scope } from '../keys.js';

export interface AuthOptions {
  /** API keys; null in single-user mode (every request is admin). */
  keys: KeyStore | null;
  guard: BrowserGuard;
  deadlineMs: number;
  authFailuresPerMinute: number;
  /** Requests a minute per key (per address without one); 0: no limit. */
  rateLimitPerMinute: number;
}

/**
 * Who is asking and by when: each request gets its deadline and a signal for its client leaving, passes the
 * browser guard (Host, Origin), and — on a route with a scope — a key with that scope; then the per-key rate limit.
 */
async function auth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const authFailures = new AuthFailureLimiter(options.authFailuresPerMinute);
  app.addHook('onRequest', async (req, reply) => {
    req.deadline = Date.now() + options.deadlineMs;
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort(new ClientGoneError());
    });
    req.clientGone = gone.signal;
    const scope = req.routeOptions.config?.scope;
    // the page's static files are the same for everyone; the data routes are the server's own page's and API clients'
    if (scope || req.routeOptions.config?.guarded) options.guard.check(req);
    else options.guard.checkHost(req);
    if (!scope) return;
    if (!options.keys) {
      req.principal = { keyId: 'single-user', name: 'single-user', scopes: new Set<Scope>(['read', 'write', 'admin']) };
    } else {
      // the key is checked first: a valid key works whatever others from its address (a NAT, a proxy) got wrong;
      // only failures are throttled, so a guesser gets 429s, not more answers
      try {
        req.principal = await authenticate(req, options.keys);
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
  if (options.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      global: true,
      hook: 'preHandler', // after onRequest: the key is known
      max: options.rateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (req) => req.principal?.keyId ?? req.ip,
      errorResponseBuilder: (_req, ctx) => new ApiError('RATE_LIMITED', `rate limit of ${ctx.max} requests a minute reached; retry in ${ctx.after}`, { 'retry-after': String(Math.ceil(ctx.ttl / 1000)) }),
    });
  }
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

export const authPlugin = fp(auth, { name: 'faceprint-auth' });
