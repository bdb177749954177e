import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './helpers/cli.js';
import { SHARED } from './fixtures.js';

const run = promisify(execFile);
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const quickstart = /## Library quick start[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)![1];
// inside the package (scratch/ is git-ignored), so `import 'faceprint'` resolves to this package as a dependency would
const dir = join(ROOT, 'scratch');
mkdirSync(dir, { recursive: true });

test('the README\'s library quick start runs as written, as JavaScript and as TypeScript (.mts)', async () => {
  for (const name of ['readme-quickstart.mjs', 'readme-quickstart.mts']) {
    const file = join(dir, name);
    writeFileSync(file, quickstart);
    const { stdout } = await run('node', [file], { cwd: ROOT });
    assert.match(stdout, /^6 \[\n\s+745\.\d+,/, name);
    assert.match(stdout, /0\.879\d+\nsame person\n$/, name);
  }
});

test('its text type-checks unchanged as quickstart.mts under `tsc --init`\'s defaults', async () => {
  const tsc = join(ROOT, 'node_modules/.bin/tsc');
  const project = join(dir, 'readme-tsc');
  mkdirSync(project, { recursive: true });
  // the tsconfig a newcomer gets, made by tsc itself rather than copied here
  await run(tsc, ['--init', '--force'], { cwd: project }).catch(() => run(tsc, ['--init'], { cwd: project }));
  const config = readFileSync(join(project, 'tsconfig.json'), 'utf8');
  assert.match(config, /"noUncheckedIndexedAccess": true/);
  writeFileSync(join(project, 'quickstart.mts'), quickstart);
  const out = await run(tsc, ['-p', project, '--noEmit'], { cwd: project }).then(() => '', (e) => String(e.stdout));
  assert.equal(out, '');
});

test('the README\'s command-line lines run as written: the held-out photos are named, verify says different people', { timeout: 120_000 }, async () => {
  const block = /The same from the command line[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1];
  const cwd = mkdtempSync(join(tmpdir(), 'faceprint-readme-cli-'));
  const script = block.replaceAll('../shared/fixtures', join(SHARED)).replaceAll('npx faceprint', `node ${join(ROOT, 'bin/faceprint.js')}`);
  assert.notEqual(script, block);
  // verify's last line exits 1 ("different people"), as its comment says
  const result = await run('sh', ['-c', script], { cwd }).then((r) => ({ code: 0, ...r }), (e) => ({ code: e.code as number, stdout: String(e.stdout), stderr: String(e.stderr) }));
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stdout, /amy5\.png: 1 face\n.*→ amy \(/);
  assert.match(result.stdout, /penny5\.png: 1 face\n.*→ penny \(/);
  assert.match(result.stdout, /^different people: cosine/m);
});
