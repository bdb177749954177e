import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { cli, ROOT } from './helpers/cli.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'faceprint-gallery-cli-'));
const store = ['--store', join(tmp, 'people.db')];
const models = ['--detector', DET_500M, '--recognizer', MOBILEFACENET];
const BBT = join(SHARED, 'faces/identities/bbt');

const json = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l));

test('faceprint enroll --dir, identify, verify, subjects and calibrate on one SQLite gallery', async () => {
  const enrolled = await cli(['enroll', '--dir', BBT, ...store, ...models, '--json']);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  const results = json(enrolled.stdout);
  assert.deepEqual(results.map((r) => r.subject.name), ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart']);
  assert.ok(results.every((r) => r.accepted.length === 5 && r.refused.length === 0));

  const list = json((await cli(['subjects', 'list', ...store, '--json'])).stdout)[0];
  assert.equal(list.total, 8);

  // the group photo holds none of them; its faces are "unknown" at the LFW threshold
  const group = json((await cli(['identify', join(SHARED, 'faces/groups/insightface/t1.jpg'), ...store, ...models, '--threshold', '0.29', '--json'])).stdout)[0];
  assert.equal(group.faces.length, 6);
  assert.ok(group.faces.every((f: { subject: unknown; candidates: unknown[] }) => f.subject === null && f.candidates.length === 5));

  const text = await cli(['identify', join(BBT, 'penny', 'penny3.png'), ...store, ...models, '--threshold', '0.29']);
  assert.match(text.stdout, /→ penny \(/);
  // the same answer through the usearch accelerator (exactly rescored), whose cache lands beside the database
  const accelerated = await cli(['identify', join(BBT, 'penny', 'penny3.png'), ...store, ...models, '--threshold', '0.29', '--usearch', '--search-threads', '2']);
  assert.equal(accelerated.stdout, text.stdout);
  const usearchMap = join(tmp, 'people.db.usearch.json');
  assert.ok(existsSync(usearchMap) && existsSync(join(tmp, JSON.parse(readFileSync(usearchMap, 'utf8')).indexFile)));
  // and through the 1-bit sketch stage, split over two threads
  const sketched = await cli(['identify', join(BBT, 'penny', 'penny3.png'), ...store, ...models, '--threshold', '0.29', '--sketch', '--search-threads', '2']);
  assert.equal(sketched.stdout, text.stdout);

  const hadDb = existsSync(join(ROOT, 'faceprint.db'));
  // no --threshold and no calibration: the fixture recognizer's known threshold decides; exit 0 same, 1 different
  const knownSame = await cli(['verify', join(BBT, 'amy', 'amy1.png'), '--subject', 'amy', ...store, ...models]);
  assert.equal(knownSame.code, 0, knownSame.stderr);
  assert.match(knownSame.stdout, /^same person: cosine 0\.\d+, threshold 0\.2700 \(known model mobilefacenet\.onnx/);
  const knownDiff = await cli(['verify', join(BBT, 'amy', 'amy1.png'), join(BBT, 'howard', 'howard1.png'), ...store, ...models]);
  assert.equal(knownDiff.code, 1);
  assert.match(knownDiff.stdout, /^different people/);
  const identified = await cli(['identify', join(BBT, 'penny', 'penny3.png'), ...store, ...models]);
  assert.match(identified.stdout, /→ penny \(0\.\d+\)   threshold 0\.2700 \(known model/);
  // an unknown recognizer (an FP16 copy: another sha256) without calibration still says how to get a threshold
  const fp16 = join(tmp, 'mobilefacenet.fp16.onnx');
  assert.equal((await cli(['models', 'quantize', MOBILEFACENET, fp16, '--mode', 'fp16'])).code, 0);
  const unknown = await cli(['verify', join(BBT, 'amy', 'amy1.png'), join(BBT, 'amy', 'amy2.png'), '--detector', DET_500M, '--recognizer', fp16]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /NO_THRESHOLD: no threshold for this recognizer .*faceprint eval identify --dir PEOPLE --json > report\.json && faceprint calibrate --report report\.json/);
  // comparing two photos created no gallery file
  assert.equal(existsSync(join(ROOT, 'faceprint.db')), hadDb, 'verify a b must not create ./faceprint.db');

  // calibrate from a real eval report over pairs of the bbt images, then verify by FAR
  const csv = join(tmp, 'pairs.csv');
  const files = ['amy/amy1', 'amy/amy2', 'howard/howard1', 'howard/howard2', 'penny/penny1', 'penny/penny2', 'raj/raj1', 'raj/raj2', 'leonard/leonard1', 'sheldon/sheldon1', 'stuart/stuart1'].map((f) => join(BBT, `${f}.png`));
  const pairs = files.flatMap((a, i) => files.slice(i + 1).map((b) => `${a},${b},${dirname(a) === dirname(b) ? 1 : 0}`));
  writeFileSync(csv, 'a,b,same\n' + pairs.join('\n') + '\n');
  const evalOut = await cli(['eval', 'pairs', '--pairs', csv, ...models, '--no-cache', '--pad-retry', '--json']);
  assert.equal(evalOut.code, 0, evalOut.stderr);
  const reportFile = join(tmp, 'report.json');
  writeFileSync(reportFile, evalOut.stdout);
  const cal = await cli(['calibrate', '--report', reportFile, ...store]);
  assert.equal(cal.code, 0, cal.stderr);
  const v = json((await cli(['verify', join(BBT, 'amy', 'amy1.png'), '--subject', 'amy', ...store, ...models, '--far', '0.1', '--json'])).stdout)[0];
  assert.equal(v.same, true);
  assert.match(v.basis, /FAR 0.1/);

  assert.equal((await cli(['subjects', 'rename', 'amy', 'Amy Farrah Fowler', ...store])).code, 0);
  assert.equal((await cli(['subjects', 'update', 'Amy Farrah Fowler', '--metadata', '{"team":"lab"}', ...store])).code, 0);
  const only = json((await cli(['identify', join(BBT, 'amy', 'amy1.png'), ...store, ...models, '--threshold', '0.29', '--where', 'team=lab', '--json'])).stdout)[0];
  assert.deepEqual(only.faces[0].candidates.map((c: { name: string }) => c.name), ['Amy Farrah Fowler']);
  const shown = json((await cli(['subjects', 'show', 'Amy Farrah Fowler', ...store, '--json'])).stdout)[0];
  assert.equal(shown.faces.length, 5);
  assert.equal((await cli(['subjects', 'rm-face', shown.faces[0].id, ...store])).code, 0);
  assert.equal((await cli(['subjects', 'merge', 'howard', 'raj', ...store])).code, 0);
  const rm = json((await cli(['subjects', 'rm', 'Amy Farrah Fowler', ...store, '--json'])).stdout)[0];
  assert.equal(rm.faces, 4);
  assert.equal(json((await cli(['subjects', 'list', ...store, '--json'])).stdout)[0].total, 6);

  const missing = await cli(['subjects', 'rm', 'nobody', ...store]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /SUBJECT_NOT_FOUND/);
  // a gallery opened with another real recognizer (the FP16 copy made above: another file, another sha256)
  const other = await cli(['identify', join(BBT, 'amy', 'amy1.png'), ...store, '--detector', DET_500M, '--recognizer', fp16, '--threshold', '0.3']);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /GALLERY_MODEL_MISMATCH: .*mobilefacenet\.onnx/);
});

test('faceprint cluster: groups unknown photos, then --promote makes a subject', async () => {
  const s = ['--store', join(tmp, 'cluster.db')];
  const people = ['amy', 'penny', 'sheldon'];
  const images = people.flatMap((p) => [1, 2, 3, 4].map((i) => join(BBT, p, `${p}${i}.png`)));
  const out = await cli(['cluster', ...images, ...s, ...models, '--max-distance', '0.65', '--min-faces', '2', '--json']);
  assert.equal(out.code, 0, out.stderr);
  const report = json(out.stdout)[0];
  assert.equal(report.clusters.length, 3);
  const first = report.clusters[0];
  const promoted = await cli(['cluster', '--promote', first.id, '--name', 'someone', ...s, '--json']);
  assert.equal(promoted.code, 0, promoted.stderr);
  assert.equal(json(promoted.stdout)[0].faceCount, first.size);
});
