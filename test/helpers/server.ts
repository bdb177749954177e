// A real faceprint server on 127.0.0.1 with the fixture models and a SQLite gallery in a temp directory.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { FaceAnalyzer } from '../../src/node/index.js';
import { FaceGallery } from '../../src/node/gallery/index.js';
import { KeyStore, type Scope } from '../../src/http/keys.js';
import { createServer, type FaceprintServer, type ServeOptions } from '../../src/http/server.js';
import { DET_500M, MOBILEFACENET } from '../fixtures.js';

export interface TestServer {
  url: string;
  server: FaceprintServer;
  analyzer: FaceAnalyzer;
  keys: KeyStore | null;
  /** Keys by scope (read, write, admin), created for this server. */
  key: Record<Scope, string>;
  dir: string;
  /** Every log line the server wrote. */
  logs: string[];
  close(): Promise<void>;
}

export async function startTestServer(options: Partial<Omit<ServeOptions, 'analyzer' | 'gallery' | 'keys'>> & { pixelLimit?: number; headModels?: string[] } = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-serve-'));
  const analyzer = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET, pixelLimit: options.pixelLimit, headModels: options.headModels });
  const gallery = await FaceGallery.open({ analyzer, store: join(dir, 'gallery.db') });
  const keys = options.singleUser ? null : await KeyStore.open(join(dir, 'keys.json'));
  const key = {} as Record<Scope, string>;
  if (keys) for (const scope of ['read', 'write', 'admin'] as Scope[]) key[scope] = (await keys.create(`${scope}-key`, [scope])).key;
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const server = await createServer({ analyzer, gallery, keys, logger: { level: 'info', stream }, ...options });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    url, server, analyzer, keys, key, dir, logs,
    async close() {
      await server.close();
      await analyzer.close();
    },
  };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** One call: JSON, FormData, or raw bytes (with their content type). */
export async function api(url: string, method: string, path: string, options: { key?: string; json?: unknown; form?: FormData; raw?: Uint8Array; type?: string; headers?: Record<string, string> } = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form;
  } else if (options.raw) {
    headers['content-type'] = options.type ?? 'application/octet-stream';
    body = options.raw as Uint8Array<ArrayBuffer>;
  }
  const res = await fetch(url + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics, HTML)
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** A multipart form with files read from disk (field name → paths). */
export function formOf(files: Record<string, { data: Uint8Array; name: string }[]>): FormData {
  const fd = new FormData();
  for (const [field, list] of Object.entries(files)) for (const f of list) fd.append(field, new Blob([f.data as Uint8Array<ArrayBuffer>]), f.name);
  return fd;
}

/** Every error body has one shape and no stack trace. */
export function assertError(res: { status: number; body: any; text: string }, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.deepEqual(Object.keys(res.body), ['error'], res.text);
  assert.equal(res.body.error.code, code, res.text);
  assert.equal(typeof res.body.error.message, 'string');
  assert.doesNotMatch(res.text, /\n\s+at |node_modules|\.ts:\d+/);
}
