import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './helpers/cli.js';
import { SHARED } from './fixtures.js';

const run = promisify(execFile);

test('npm pack, installed into a fresh project: the README example runs, and a strict tsc (skipLibCheck false) passes', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-consumer-'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  await run('npm', ['pack', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 64 << 20 });
  const tarball = join(dir, `faceprint-${pkg.version}.tgz`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  // onnxruntime-node's install step would download CUDA files on Linux: skipped as the README says
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, `@types/node@${pkg.devDependencies['@types/node']}`], { cwd: dir, env, maxBuffer: 64 << 20 });

  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const example = /## Library quick start[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)![1].replaceAll('../shared/fixtures', SHARED);
  writeFileSync(join(dir, 'quickstart.mjs'), example);
  const { stdout } = await run('node', ['quickstart.mjs'], { cwd: dir });
  assert.match(stdout, /^6 \[[\s\S]*same person\n$/);

  writeFileSync(join(dir, 'quickstart.ts'), example.replace('cosine(a.embedding, b.embedding)', 'cosine(a.embedding!, b.embedding!)') +
    "\nimport type { Face, FaceJson, HeadName } from 'faceprint/core';\nexport type Used = [Face, FaceJson, HeadName];\n");
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] },
    files: ['quickstart.ts'],
  }));
  const tsc = await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: dir }).then(() => '', (e) => String(e.stdout));
  assert.equal(tsc, '', 'the public type declarations compile in a strict consumer');
});
