// A separate process working on a shared gallery, for the durability and concurrency tests.
// argv: storeUrl role(enrol|identify|delete) workerId count bindingJson
// Prints one JSON line per acknowledged operation (after its transaction committed); stdout to a pipe is
// synchronous on Linux, so a line printed is a line the parent sees even if this process is SIGKILLed next.
import { FaceprintError } from '../../src/core/errors.js';
import { Gallery } from '../../src/core/gallery/gallery.js';
import { openStore } from '../../src/storage/open.js';

const [storeUrl, role, workerId, countText, bindingJson] = process.argv.slice(2);
const binding = JSON.parse(bindingJson);
const count = Number(countText);
let seed = [...workerId].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261); // FNV-1a: distinct vectors per worker
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
const vector = () => Float32Array.from({ length: binding.dim }, () => rand() - 0.5);
const say = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

/** Retries only the clear busy error; anything else ends the process with its code. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof FaceprintError && e.code === 'STORE_BUSY') {
        say({ op: 'busy' });
        continue;
      }
      say({ op: 'error', code: e instanceof FaceprintError ? e.code : String(e) });
      process.exit(1);
    }
  }
}

const store = await openStore(storeUrl);
const gallery = await retrying(() => Gallery.open(store, binding));
const face = (tag: string) => ({ imageSha256: tag, source: tag, faces: [{ bbox: [0, 0, 100, 100] as [number, number, number, number], kps: [], score: 0.9, embedding: vector(), embeddingNorm: 20 }] });
for (let i = 0; i < count; i++) {
  if (role === 'identify') {
    const r = await retrying(() => gallery.identify(vector(), { threshold: 0.5, k: 3 }));
    say({ op: 'identified', candidates: r.candidates.length });
    continue;
  }
  const subject = `${workerId}-s${i}`;
  const n = 1 + (i % 3);
  const images = Array.from({ length: n }, (_, j) => face(`${subject}-${j}`));
  const r = await retrying(() => gallery.enroll(subject, images, { minSize: 0 }));
  say({ op: 'enrolled', subject, faces: r.accepted.length });
  if (role === 'delete' && i % 2 === 1) {
    const victim = `${workerId}-s${i - 1}`;
    await retrying(() => gallery.deleteSubject(victim));
    say({ op: 'deleted', subject: victim });
  }
}
await gallery.close();
say({ op: 'done' });
