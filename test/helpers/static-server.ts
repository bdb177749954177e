// The built page (dist/page) from a plain static file server, as any static host would serve it: no faceprint API.
// /models/* and /fixtures/* map to ../shared/fixtures in place (read, never copied). COOP/COEP on every response,
// so the page is cross-origin isolated and onnxruntime-web can use WASM threads (unless asked to leave them out).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { ROOT } from './cli.js';
import { MODELS, SHARED } from '../fixtures.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.json': 'application/json', '.bin': 'application/octet-stream', '.onnx': 'application/octet-stream', '.jpg': 'image/jpeg', '.png': 'image/png', '.map': 'application/json',
};

export interface StaticServer {
  url: string;
  /** Every request path the server saw, with its method. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * `extraRoots`: more URL prefixes → directories (the peer libraries of bench/peers.ts), matched first.
 * `isolation: false`: no COOP/COEP, as most static hosts.
 */
export async function startStaticServer(extraRoots: [string, string][] = [], { isolation = true } = {}): Promise<StaticServer> {
  const roots: [string, string][] = [...extraRoots, ['/models/', MODELS], ['/fixtures/', SHARED], ['/', join(ROOT, 'dist/page')]];
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    requests.push(`${req.method} ${path}`);
    const [prefix, dir] = roots.find(([p]) => path.startsWith(p))!;
    const file = normalize(join(dir, path.slice(prefix.length) || 'index.html'));
    if (isolation) {
      res.setHeader('cross-origin-opener-policy', 'same-origin');
      res.setHeader('cross-origin-embedder-policy', 'require-corp');
    }
    if (req.method !== 'GET' || !file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(req.method === 'GET' ? 404 : 405).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
