// A process that keeps changing a gallery and saving its usearch cache, for the crash test (SIGKILLed at a random
// moment). argv: sqlitePath cachePath. Prints {"op":"saved"} after each save returned.
import { Gallery } from '../../src/core/gallery/gallery.js';
import { UsearchAccelerator } from '../../src/node/gallery/usearch-accelerator.js';
import { SqliteGalleryStore } from '../../src/storage/sqlite.js';
import { binding } from './gallery-clients.js';
import { gaussian } from './vectors.js';

const [path, cachePath] = process.argv.slice(2);
const gallery = await Gallery.open(SqliteGalleryStore.open(path), binding);
const { accelerator } = await UsearchAccelerator.attach(gallery, { cachePath });
for (let i = 0; ; i++) {
  const name = `p${process.pid}-${i}`;
  await gallery.enroll(name, [{ imageSha256: name, faces: [{ bbox: [0, 0, 100, 100], kps: [], score: 0.9, embedding: gaussian(binding.dim, process.pid * 1000 + i) }] }], { minSize: 0 });
  await accelerator.save(gallery);
  process.stdout.write(JSON.stringify({ op: 'saved', i }) + '\n');
}
