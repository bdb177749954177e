// The first hour at the command line, as a newcomer meets it (issue: "The first hour, second pass").
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { cli, ROOT } from './helpers/cli.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';

const run = promisify(execFile);
const M = ['--detector', DET_500M, '--recognizer', MOBILEFACENET];
const BBT = join(SHARED, 'faces/identities/bbt');

/** An old Node: the machine's own (Debian's 20) where there is one, else a stub of the version check. */
test('under Node < 22 the bin says which Node it needs and how to get one, and exits 2 before loading anything', async () => {
  const system = '/usr/bin/node';
  const major = existsSync(system) ? Number((await run(system, ['-p', 'process.versions.node'])).stdout.split('.')[0]) : 99;
  const [node, args] = major < 22
    ? [system, [join(ROOT, 'bin/faceprint.js'), 'analyze', '--help']]
    // the bin's check, with process.versions.node reading 20.0.0
    : [process.execPath, ['--input-type=module', '-e', `Object.defineProperty(process.versions, 'node', { value: '20.0.0' }); await import(${JSON.stringify(join(ROOT, 'bin/faceprint.js'))});`]];
  const result = await run(node, args as string[]).then(() => ({ code: 0, stderr: '' }), (e) => ({ code: e.code as number, stderr: String(e.stderr) }));
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^faceprint needs Node ≥ 22 \(this is v\d+/);
  assert.match(result.stderr, /npm install --prefix ~\/\.local\/node24 node@24/);
  assert.doesNotMatch(result.stderr, /Segmentation|Error:/);
});

test('analyze finds the face of a tight crop as enroll and identify do (padded retry by default; --no-pad-retry: 0 faces)', async () => {
  // at 0.7.3's single 640 pass the crop's face is too large to be found without the retry (Auto's 128 pass finds it)
  const amy = join(BBT, 'amy/amy1.png');
  const found = await cli(['analyze', amy, '--det-size', '640', ...M]);
  assert.equal(found.code, 0);
  assert.match(found.stdout, /amy1\.png {2}\d+×\d+ {2}1 face\n {2}#1 {2}score/);
  const plain = await cli(['analyze', amy, '--det-size', '640', '--no-pad-retry', ...M]);
  assert.match(plain.stdout, /amy1\.png {2}\d+×\d+ {2}0 faces\n/);
});

test('reads of a gallery that is not there are refused (no ./faceprint.db created); the threshold\'s basis is printed once', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'faceprint-first-hour-cli-'));
  const bin = join(ROOT, 'bin/faceprint.js');
  const inDir = (args: string[]) => run('node', [bin, ...args], { cwd }).then((r) => ({ code: 0, ...r }), (e) => ({ code: e.code as number, stdout: String(e.stdout), stderr: String(e.stderr) }));
  for (const args of [['identify', join(BBT, 'amy/amy5.png'), ...M], ['subjects', 'list'], ['verify', join(BBT, 'amy/amy5.png'), '--subject', 'amy', ...M]]) {
    const r = await inDir(args);
    assert.equal(r.code, 2, args[0]);
    assert.match(r.stderr, /GALLERY_NOT_FOUND.*no gallery at \.\/faceprint\.db — enrol people first/, args[0]);
    assert.equal(existsSync(join(cwd, 'faceprint.db')), false, `${args[0]} created no gallery`);
  }
  const enrolled = await inDir(['enroll', 'amy', join(BBT, 'amy/amy1.png'), join(BBT, 'amy/amy2.png'), ...M]);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  const who = await inDir(['identify', join(BBT, 'amy/amy5.png'), join(BBT, 'penny/penny5.png'), ...M]);
  assert.equal(who.code, 0, who.stderr);
  assert.equal(who.stdout.match(/threshold 0\.2700 \(known model/g)?.length, 1, who.stdout);
});
