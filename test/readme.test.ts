import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './helpers/cli.js';

const run = promisify(execFile);
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const quickstart = /## Library quick start[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)![1];
// inside the package (scratch/ is git-ignored), so `import 'faceprint'` resolves to this package as a dependency would
const dir = join(ROOT, 'scratch');
mkdirSync(dir, { recursive: true });

test('the README\'s library quick start runs as written', async () => {
  const file = join(dir, 'readme-quickstart.mjs');
  writeFileSync(file, quickstart);
  const { stdout } = await run('node', [file], { cwd: ROOT });
  assert.match(stdout, /^6 \[\n\s+745\.\d+,/);
  assert.match(stdout, /0\.879\d+\nsame person\n$/);
});

test('its TypeScript form type-checks in strict mode with the one change the README names', async () => {
  const file = join(dir, 'readme-quickstart.ts');
  writeFileSync(file, quickstart.replace('cosine(a.embedding, b.embedding)', 'cosine(a.embedding!, b.embedding!)'));
  assert.notEqual(readFileSync(file, 'utf8'), quickstart, 'the README example changed: update the replacement');
  await run(join(ROOT, 'node_modules/.bin/tsc'), ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', '--types', 'node', file], { cwd: ROOT });
});
