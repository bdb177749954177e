// Real PostgreSQL servers for the tests: Debian's PostgreSQL 15 (no pgvector) in a temporary cluster, and PGlite
// with pgvector behind a socket server (the pgvector SQL path). Both on 127.0.0.1, reached with the `pg` client.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin/initdb'))) return join(root, v, 'bin');
  throw new Error('PostgreSQL server binaries not found (apt-get install postgresql; .ci/run does)');
}

export interface TestServer {
  /** A new empty database on the server, as a postgres:// URL. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

async function waitForServer(url: string, child?: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child && child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}`);
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      return;
    } catch {
      await c.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`no PostgreSQL at ${url}`);
}

async function createDatabase(admin: string, name: string): Promise<void> {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name}`);
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
}

/** initdb + postgres in a temporary directory (as the postgres user when the tests run as root). */
export async function startPostgres(): Promise<TestServer> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const run = (cmd: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  execFileSync(...run(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']), { stdio: 'ignore' });
  const port = await freePort();
  const child = spawn(...run(join(bin, 'postgres'), ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=100']), { stdio: 'ignore' });
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitForServer(admin, child);
  return {
    async database(name) {
      await createDatabase(admin, name);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      // pg_ctl, not a signal to the child: under runuser the signal would stop runuser, not the server
      const exited = new Promise((r) => child.once('exit', r));
      execFileSync(...run(join(bin, 'pg_ctl'), ['stop', '-D', join(dir, 'data'), '-m', 'fast']), { stdio: 'ignore' });
      await exited;
    },
  };
}

/** PGlite 0.5.14 with pgvector 0.0.15, served on 127.0.0.1 by pglite-socket: the pgvector SQL path. */
export async function startPglite(): Promise<TestServer & { url: string }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, port: await freePort(), host: '127.0.0.1', maxConnections: 32 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  await waitForServer(url);
  return {
    url,
    // PGlite holds one database: every caller shares it (the tests use it once)
    async database() {
      return url;
    },
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
