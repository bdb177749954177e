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

test('npm pack, installed into a project made as the README says: its examples run, `tsc --init`\'s tsc and a strict tsc (skipLibCheck false) pass', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-consumer-'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  await run('npm', ['pack', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 64 << 20 });
  const tarball = join(dir, `faceprint-${pkg.version}.tgz`);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  // `npm init -y`, then the install-script policy the README gives consumers
  await run('npm', ['init', '-y'], { cwd: dir });
  const policy = JSON.parse(/"allowScripts": (\{[^\n]*\})/.exec(readme)![1]);
  const consumer = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  // the README's entry for the tarball's own prepare, by its absolute source
  assert.match(readme, /"file:\/abs\/path\/faceprint-0\.1\.0\.tgz": false/);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...consumer, allowScripts: { ...policy, [`file:${tarball}`]: false } }, null, 2));
  // strict: an install script of faceprint's dependencies that the README's policy does not cover fails here
  const env = { ...process.env };
  delete env.ONNXRUNTIME_NODE_INSTALL;
  await run('npm', ['install', '--strict-allow-scripts', '--prefer-offline', '--no-audit', '--no-fund', `file:faceprint-${pkg.version}.tgz`, `@types/node@${pkg.devDependencies['@types/node']}`], { cwd: dir, env, maxBuffer: 64 << 20 });

  const example = /## Library quick start[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)![1].replaceAll('../shared/fixtures', SHARED);
  for (const name of ['quickstart.mjs', 'quickstart.mts']) {
    writeFileSync(join(dir, name), example);
    const { stdout } = await run('node', [name], { cwd: dir });
    assert.match(stdout, /^6 \[[\s\S]*same person\n$/, name);
  }

  const tsc = join(ROOT, 'node_modules/.bin/tsc');
  await run(tsc, ['--init'], { cwd: dir });
  const initTsc = await run(tsc, ['-p', '.', '--noEmit'], { cwd: dir }).then(() => '', (e) => String(e.stdout));
  assert.equal(initTsc, '', 'the quick start type-checks as quickstart.mts under tsc --init');

  writeFileSync(join(dir, 'typed.ts'), "import type { Face, FaceJson, HeadName } from 'faceprint/core';\nexport type Used = [Face, FaceJson, HeadName];\n");
  writeFileSync(join(dir, 'tsconfig.strict.json'), JSON.stringify({
    compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] },
    files: ['quickstart.mts', 'typed.ts'],
  }));
  const strict = await run(tsc, ['-p', 'tsconfig.strict.json'], { cwd: dir }).then(() => '', (e) => String(e.stdout));
  assert.equal(strict, '', 'the public type declarations compile in a strict consumer');
});
