import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import yazl from 'yazl';
import { FaceAnalyzer, KNOWN_PACKS, loadPackDir, pullPack, routeModel, loadModel } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, MODELS } from './fixtures.js';

const HEADS = join(MODELS, 'heads');
/** A buffalo_s-shaped pack of the fixture models, under InsightFace's file names. */
const PACK_FILES: [string, string][] = [
  ['det_500m.onnx', DET_500M], ['w600k_mbf.onnx', MOBILEFACENET], ['2d106det.onnx', join(HEADS, '2d106det_replica.onnx')],
  ['1k3d68.onnx', join(HEADS, '1k3d68_replica.onnx')], ['genderage.onnx', join(HEADS, 'genderage_replica.onnx')],
];

let server: Server;
let mirror: string;
let zipRequests = 0;

before(async () => {
  const zip = new yazl.ZipFile();
  for (const [name, path] of PACK_FILES) zip.addFile(path, `fixture_heads/${name}`);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  server = createServer((req, res) => {
    if (req.url !== '/fixture_heads.zip') return void res.writeHead(404).end();
    zipRequests++;
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  mirror = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  KNOWN_PACKS.fixture_heads = {
    name: 'fixture_heads', description: 'test pack: fixture detector, recognizer and replica heads',
    files: [
      { name: 'det_500m.onnx' }, { name: 'w600k_mbf.onnx' }, { name: '2d106det.onnx', head: 'landmark2d106' },
      { name: '1k3d68.onnx', head: 'landmark3d68' }, { name: 'genderage.onnx', head: 'genderage' },
    ],
  };
});
after(async () => {
  delete KNOWN_PACKS.fixture_heads;
  await new Promise<void>((r) => server.close(() => r()));
});

test('the router places each head by its shapes: 192² → landmark, 96² → attribute', async () => {
  for (const [name, kind] of [['1k3d68_replica.onnx', 'landmark'], ['2d106det_replica.onnx', 'landmark'], ['genderage_replica.onnx', 'attribute']] as const) {
    const m = await loadModel(join(HEADS, name));
    assert.equal(m.kind, kind, name);
    assert.equal(routeModel(name, m.session.inputs, m.session.outputs), kind);
    await m.session.close();
  }
});

test('a pull with heads asked for extracts only those; a later analyzer that wants all adds the rest', async () => {
  const home = mkdtempSync(join(tmpdir(), 'faceprint-heads-home-'));
  const pull = { home, mirror };
  const dir = await pullPack('fixture_heads', { ...pull, heads: ['genderage'] });
  assert.deepEqual(readdirSync(dir).sort(), ['det_500m.onnx', 'genderage.onnx', 'w600k_mbf.onnx']);
  const before = zipRequests;

  const some = await FaceAnalyzer.create({ pack: 'fixture_heads', pull, heads: ['genderage'] });
  assert.deepEqual(some.core.heads.map((h) => h.name), ['genderage']);
  assert.equal(zipRequests, before, 'the installed pack has what was asked: no download');
  const [face] = await some.analyze(join(MODELS, '../faces/identities/bbt/raj/raj1.png'), { padRetry: true });
  assert.ok(face.age !== undefined && face.landmark2d106 === undefined && face.pose === undefined);
  await some.close();

  const all = await FaceAnalyzer.create({ pack: 'fixture_heads', pull });
  assert.equal(zipRequests, before + 1, 'the missing heads are pulled');
  assert.deepEqual(readdirSync(dir).sort(), PACK_FILES.map(([n]) => n).sort());
  // InsightFace's model order: sorted file names
  assert.deepEqual(all.core.heads.map((h) => h.name), ['landmark3d68', 'landmark2d106', 'genderage']);
  await all.close();
  assert.deepEqual(readdirSync(home).filter((f) => f.startsWith('.staging') || f.startsWith('.trash')), []);
});

test('a head not asked for is never read or opened: a broken 1k3d68.onnx does not matter unless it is wanted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-heads-dir-'));
  for (const [name, path] of PACK_FILES) copyFileSync(path, join(dir, name));
  writeFileSync(join(dir, '1k3d68.onnx'), 'not a model');
  const pack = await loadPackDir(dir, {}, ['landmark2d106', 'genderage']);
  assert.deepEqual(pack.heads.map((h) => h.path.split('/').pop()), ['2d106det.onnx', 'genderage.onnx']);
  for (const m of [pack.detector, pack.recognizer!, ...pack.heads]) await m.session.close();
  const none = await FaceAnalyzer.create({ pack: dir, heads: [] });
  assert.deepEqual(none.core.heads, []);
  await none.close();
  await assert.rejects(FaceAnalyzer.create({ pack: dir }), (e: any) => e.code === 'MODEL_INVALID' && /1k3d68\.onnx/.test(e.message));
  await assert.rejects(FaceAnalyzer.create({ pack: dir, heads: ['age' as never] }), (e: any) => e.code === 'INVALID_INPUT' && /landmark2d106/.test(e.message));
});

test('a head file passed explicitly runs; a detector passed as a head is refused', async () => {
  const fa = await FaceAnalyzer.create({ detector: DET_500M, headModels: [join(HEADS, 'genderage_replica.onnx')] });
  assert.deepEqual(fa.core.heads.map((h) => h.name), ['genderage']);
  await fa.close();
  await assert.rejects(FaceAnalyzer.create({ detector: DET_500M, headModels: [DET_500M] }), (e: any) => e.code === 'MODEL_UNRECOGNISED');
});

test('known packs carry InsightFace\'s published sha256; a download that differs from a pinned hash installs nothing', async () => {
  const l = KNOWN_PACKS.buffalo_l;
  assert.equal(l.zipSha256, '80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f');
  assert.deepEqual(Object.fromEntries(l.files.map((f) => [f.name, f.sha256])), {
    'det_10g.onnx': '5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91',
    'w600k_r50.onnx': '4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43',
    '2d106det.onnx': 'f001b856447c413801ef5c42091ed0cd516fcd21f2d6b79635b1e733a7109dbf',
    '1k3d68.onnx': 'df5c06b8a0c12e422b2ed8947b8869faa4105387f199c477af038aa01f9a45cc',
    'genderage.onnx': '4fde69b1c810857b88c64a335084f1c3fe8f01246c9a191b48c7bb756d6652fb',
  });
  // the fixture det_500m is byte-identical to the packs' (fixtures README): its pinned hash holds
  assert.equal(KNOWN_PACKS.buffalo_sc.files[0].sha256, createHash('sha256').update(readFileSync(DET_500M)).digest('hex'));
  // a pack whose pinned zip hash the mirror's zip does not match
  const home = mkdtempSync(join(tmpdir(), 'faceprint-pinned-'));
  KNOWN_PACKS.fixture_heads.zipSha256 = '0'.repeat(64);
  try {
    await assert.rejects(pullPack('fixture_heads', { home, mirror }), (e: any) => e.code === 'PACK_CORRUPT' && /does not match the pinned/.test(e.message));
    assert.deepEqual(readdirSync(home).filter((f) => !f.startsWith('.')), []);
  } finally {
    delete KNOWN_PACKS.fixture_heads.zipSha256;
  }
  // a pinned file hash that differs is refused too
  KNOWN_PACKS.fixture_heads.files[0].sha256 = '1'.repeat(64);
  try {
    await assert.rejects(pullPack('fixture_heads', { home, mirror }), (e: any) => e.code === 'PACK_CORRUPT' && /det_500m\.onnx sha256/.test(e.message));
  } finally {
    delete KNOWN_PACKS.fixture_heads.files[0].sha256;
  }
});
