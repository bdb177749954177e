// Separate processes on one gallery (test/helpers/gallery-client.ts) and the check of what they acknowledged.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Gallery } from '../../src/core/gallery/gallery.js';
import { templateOf } from '../../src/core/gallery/template.js';
import type { GalleryStore, ModelBinding } from '../../src/core/gallery/types.js';

export const binding: ModelBinding = { recognizerSha256: 'a'.repeat(64), dim: 128, recognizerName: 'test.onnx' };
const CLIENT = new URL('./gallery-client.ts', import.meta.url).pathname;

export interface Client {
  lines: Record<string, unknown>[];
  exit: Promise<{ code: number | null; signal: string | null }>;
  kill: () => void;
}

export function startClient(store: string, role: string, id: string, count: number): Client {
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, store, role, id, String(count), JSON.stringify(binding)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { lines, exit, kill: () => child.kill('SIGKILL') };
}

/** Every acknowledged enrolment is there with its faces (unless acknowledged deleted); templates match faces; the index agrees. */
export async function checkRecords(store: GalleryStore, clients: Client[]): Promise<number> {
  const gallery = await Gallery.open(store, binding);
  let checked = 0;
  try {
    for (const c of clients) {
      const deleted = new Set(c.lines.filter((l) => l.op === 'deleted').map((l) => l.subject));
      for (const l of c.lines.filter((l) => l.op === 'enrolled')) {
        const s = await store.subject(l.subject as string);
        if (deleted.has(l.subject)) {
          assert.equal(s, null, `${l.subject} was deleted`);
          continue;
        }
        assert.ok(s, `acknowledged enrolment ${l.subject} is missing`);
        assert.equal(s.faceCount, l.faces);
        const faces = await store.facesOf(s.id);
        assert.equal(faces.length, l.faces);
        // the index holds the template recomputed from the faces, and finds the subject by it
        const template = templateOf(faces.map((f) => f.embedding))!;
        const hit = (await gallery.identify(template, { threshold: 0.99, k: 1 })).subject;
        assert.equal(hit?.subjectId, s.id);
        assert.ok(Math.abs(hit!.score - 1) < 1e-5);
        checked++;
      }
    }
  } finally {
    await gallery.close();
  }
  return checked;
}

