import { networkInterfaces } from 'node:os';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/**
 * What a web page in the user's browser may do to this server: nothing, unless it is the server's own page or
 * an origin the operator configured. Two checks, on every route that reads or writes data:
 * - Host must name this server (loopback names, the listening address, `--allowed-hosts`): a DNS-rebinding
 *   page reaches 127.0.0.1 under its own name, and is refused here.
 * - A cross-site request (Origin of another site, or Sec-Fetch-Site cross-site / same-site) is refused, unless
 *   its origin is allowed by CORS. Clients that are not browsers (curl, SDKs) send neither and pass.
 */
export class BrowserGuard {
  private readonly hosts = new Set(['localhost', '127.0.0.1', '[::1]']);
  private readonly origins: ReadonlySet<string>;

  constructor(options: { allowedHosts?: readonly string[]; corsOrigins?: readonly string[] }) {
    for (const h of options.allowedHosts ?? []) this.hosts.add(h.toLowerCase());
    this.origins = new Set((options.corsOrigins ?? []).map((o) => o.toLowerCase().replace(/\/$/, '')));
  }

  /** Adds the names of the address the server now listens on (every interface's, for a wildcard address). */
  listeningOn(address: string): void {
    const add = (a: string) => this.hosts.add(a.includes(':') ? `[${a.toLowerCase()}]` : a.toLowerCase());
    if (address === '0.0.0.0' || address === '::') {
      for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) add(i.address.split('%')[0]);
    } else {
      add(address);
    }
  }

  /** Host without the port, lower case; IPv6 literals keep their brackets. */
  private static hostName(host: string): string {
    const h = host.toLowerCase();
    if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
    const colon = h.lastIndexOf(':');
    return colon >= 0 ? h.slice(0, colon) : h;
  }

  /** The Host header names this server. */
  checkHost(req: FastifyRequest): string {
    const host = req.headers.host;
    if (!host || !this.hosts.has(BrowserGuard.hostName(host))) {
      throw new ApiError('HOST_NOT_ALLOWED', `this server does not answer to the host ${JSON.stringify(host ?? '')} (add it with --allowed-hosts)`);
    }
    return host;
  }

  /** The Host header names this server and the request does not come from another site's page. */
  check(req: FastifyRequest): void {
    const host = this.checkHost(req);
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const o = origin.toLowerCase();
      const sameOrigin = o === `http://${host.toLowerCase()}` || o === `https://${host.toLowerCase()}`;
      if (!sameOrigin && !this.origins.has(o)) {
        throw new ApiError('CROSS_ORIGIN', `requests from ${origin} are refused (allow an origin with --cors)`);
      }
      return;
    }
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      throw new ApiError('CROSS_ORIGIN', 'a request from another site is refused');
    }
  }
}

/**
 * Headers on every response. The page loads only its own scripts (ONNX Runtime Web needs `wasm-unsafe-eval`
 * and blob workers), can't be framed, and nothing is sniffed into another type.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self' blob: data:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function setSecurityHeaders(req: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-resource-policy', 'same-origin');
  // cross-origin isolation: the page's on-device mode gets WASM threads (SharedArrayBuffer)
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-embedder-policy', 'require-corp');
  // Swagger UI (/docs) brings inline scripts of its own and sets its own policy
  if (!req.url.startsWith('/docs')) reply.header('content-security-policy', PAGE_CSP);
  else reply.header('content-security-policy', "frame-ancestors 'none'");
}

/**
 * Failed authentications per client address: past `max` in a minute, the address gets 429 until the window
 * ends, so keys cannot be guessed at speed (they are 256-bit; this keeps the log and the CPU quiet too).
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, { count: number; until: number }>();
  constructor(private readonly max = 20, private readonly windowMs = 60_000) {}

  check(address: string): void {
    const f = this.failures.get(address);
    if (f && f.until > Date.now() && f.count >= this.max) {
      throw new ApiError('TOO_MANY_AUTH_FAILURES', `too many failed authentications from this address; retry in ${Math.ceil((f.until - Date.now()) / 1000)} s`, { 'retry-after': String(Math.ceil((f.until - Date.now()) / 1000)) });
    }
  }

  failed(address: string): void {
    const now = Date.now();
    const f = this.failures.get(address);
    if (!f || f.until <= now) this.failures.set(address, { count: 1, until: now + this.windowMs });
    else f.count++;
    if (this.failures.size > 10_000) for (const [k, v] of this.failures) if (v.until <= now) this.failures.delete(k);
  }
}

/** A client's X-Request-Id is kept only when it is short and plain; otherwise the server makes one. */
export function validRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(value) ? value : undefined;
}
