// `faceprint serve` as its own process (the built CLI), for probes and benches that measure its memory or load it
// from outside: its URL once it listens, its RSS, and a way to stop it. Killed when the caller exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const BIN = join(resolve(import.meta.dirname, '../..'), 'bin/faceprint.js');

export interface ServeProcess {
  url: string;
  proc: ChildProcess;
  /** The server's resident memory now, MiB. */
  rssMiB(): number;
  /** SIGTERM, resolved when it has exited. */
  stop(): Promise<void>;
}

export async function spawnServe(args: string[]): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  process.once('exit', () => proc.kill('SIGKILL'));
  const url = await new Promise<string>((res, rej) => {
    let err = '';
    proc.stderr!.on('data', (d) => {
      err += d;
      const m = /faceprint serving (http:\/\/[\d.:]+)/.exec(err);
      if (m) res(m[1]);
    });
    proc.on('exit', (code) => rej(new Error(`serve exited ${code}: ${err}`)));
  });
  return {
    url, proc,
    rssMiB: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) / 1024,
    stop: () => new Promise((res) => {
      if (proc.exitCode !== null) return res();
      proc.once('exit', () => res());
      proc.kill('SIGTERM');
    }),
  };
}
