import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FaceAnalyzer, FaceGallery, KNOWN_RECOGNIZERS, MemoryGalleryStore } from '../src/node/index.js';
import { quantizeModelFile } from '../src/node/quantize.js';
import { DET_500M, MOBILEFACENET, SHARED, sha256 } from './fixtures.js';
import { readFileSync } from 'node:fs';

const BBT = join(SHARED, 'faces/identities/bbt');
const photo = (person: string, n: number) => join(BBT, person, `${person}${n}.png`);

let fa: FaceAnalyzer;
before(async () => {
  fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
});
after(() => fa?.close());

test('the known-model table holds the fixture MobileFaceNet (LFW-measured 0.29) and InsightFace\'s w600k_r50 (0.40), by sha256', () => {
  const byThreshold = Object.fromEntries(KNOWN_RECOGNIZERS.map((k) => [k.threshold, k.sha256]));
  assert.equal(byThreshold[0.29], sha256(readFileSync(MOBILEFACENET)));
  assert.equal(byThreshold[0.4], '4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43');
});

test('clustering the same photos twice adds each photo once', async () => {
  const g = await FaceGallery.open({ analyzer: fa, store: new MemoryGalleryStore() });
  try {
    const photos = [photo('raj', 1), photo('raj', 2), photo('raj', 3)];
    await g.cluster(photos, { minFaces: 2 });
    const again = await g.cluster(photos, { minFaces: 2 });
    assert.equal((await g.gallery.store.unassignedFaces()).length, 3);
    assert.deepEqual(again.clusters.map((c) => c.faces.map((f) => f.source?.split('/').pop()).sort()), [['raj1.png', 'raj2.png', 'raj3.png']]);
  } finally {
    await g.close();
  }
});

test('a clustering that cannot run (unknown recognizer, no calibration) stores none of its faces', async () => {
  const fp16 = join(mkdtempSync(join(tmpdir(), 'faceprint-first-hour-')), 'mfn.fp16.onnx');
  await quantizeModelFile(MOBILEFACENET, fp16, { mode: 'fp16' });
  const other = await FaceAnalyzer.create({ detector: DET_500M, recognizer: fp16 });
  const g = await FaceGallery.open({ analyzer: other, store: new MemoryGalleryStore() });
  try {
    assert.equal(g.gallery.knownModel, null);
    await assert.rejects(g.cluster([photo('amy', 1), photo('amy', 2)]), (e: any) => e.code === 'NO_THRESHOLD');
    assert.deepEqual(await g.gallery.store.unassignedFaces(), []);
    // with a distance given it runs
    assert.equal((await g.cluster([photo('amy', 1), photo('amy', 2)], { maxDistance: 0.7, minFaces: 2 })).clusters.length, 1);
  } finally {
    await g.close();
    await other.close();
  }
});

test('CLI basics: --version, usage mistakes exit 2 in every command, a closed pipe is no crash', async () => {
  const { cli, ROOT } = await import('./helpers/cli.js');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const version = await cli(['--version']);
  assert.deepEqual([version.code, version.stdout.trim()], [0, pkg.version]);
  for (const args of [['--bogus'], ['analyze'], ['verify'], ['enroll', '--min-score', 'x'], ['serve', '--port', 'eighty'], ['eval', 'identify']]) {
    assert.equal((await cli(args)).code, 2, args.join(' '));
  }
  const { execFile } = await import('node:child_process');
  const piped = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const images = Array.from({ length: 20 }, () => join(SHARED, 'faces/groups/insightface/t1.jpg')).join(' ');
    execFile('sh', ['-c', `node bin/faceprint.js analyze --json --detector ${DET_500M} --recognizer ${MOBILEFACENET} ${images} | head -c 100 > /dev/null; exit \${PIPESTATUS:-0}`], { cwd: ROOT }, (e, _out, stderr) => resolve({ code: e ? (e as { code: number }).code : 0, stderr }));
  });
  assert.doesNotMatch(piped.stderr, /EPIPE|Error/, piped.stderr);
  // npx in the repo: no "Unknown project config" warning (no install setting lives in .npmrc)
  const npx = await new Promise<string>((resolve) => execFile('npx', ['faceprint', '--version'], { cwd: ROOT }, (_e, _o, stderr) => resolve(stderr)));
  assert.doesNotMatch(npx, /Unknown (project|env) config/);
});

test('serve logs no line per static file of the page', async () => {
  const { startTestServer } = await import('./helpers/server.js');
  const s = await startTestServer({ singleUser: true });
  try {
    for (const path of ['/', '/index.html']) assert.equal((await fetch(s.url + path)).status, 200);
    assert.deepEqual(s.logs.filter((l) => /"url":"\/(index\.html)?"/.test(l)), []);
    await fetch(s.url + '/healthz');
    assert.ok(s.logs.some((l) => l.includes('/healthz')), 'API requests are still logged');
  } finally {
    await s.close();
  }
});

test('serve logs readable lines for a terminal (pretty), JSON lines otherwise', async () => {
  const { Writable } = await import('node:stream');
  const { startTestServer } = await import('./helpers/server.js');
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _e, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  const s = await startTestServer({ singleUser: true, logger: { level: 'info', stream, pretty: true } });
  try {
    await fetch(s.url + '/healthz');
    assert.ok(lines.some((l) => l.includes('/healthz')), lines.join('\n'));
    assert.ok(lines.some((l) => /^\[\d\d:\d\d:\d\d\] INFO: /.test(l)), lines.join('\n'));
    assert.ok(lines.every((l) => !l.startsWith('{')), 'no JSON line');
  } finally {
    await s.close();
  }
  // without pretty (not a terminal) every line is JSON, as the other serve tests read them
  const plain = await startTestServer({ singleUser: true });
  try {
    await fetch(plain.url + '/healthz');
    assert.ok(plain.logs.length > 0 && plain.logs.every((l) => typeof JSON.parse(l) === 'object'));
  } finally {
    await plain.close();
  }
});
