import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Gallery, MemoryGalleryStore, type Face } from '../src/node/index.js';
import { cli } from './helpers/cli.js';
import { api, formOf, startTestServer, type TestServer } from './helpers/server.js';
import { DET_500M, MOBILEFACENET, MODELS, SHARED, assertParity } from './fixtures.js';

const HEADS = join(MODELS, 'heads');
const HEAD_FILES = ['1k3d68_replica.onnx', '2d106det_replica.onnx', 'genderage_replica.onnx'].map((f) => join(HEADS, f));
const T1 = join(SHARED, 'faces/groups/insightface/t1.jpg');
const RAJ = [1, 2, 3, 4, 5].map((n) => join(SHARED, `faces/identities/bbt/raj/raj${n}.png`));
const golden = JSON.parse(readFileSync(join(SHARED, 'golden/dev/heads.json'), 'utf8'));
const t1 = golden.images.find((g: { path: string }) => g.path.endsWith('t1.jpg'));
const models = ['--detector', DET_500M, '--recognizer', MOBILEFACENET, ...HEAD_FILES.flatMap((f) => ['--head', f])];

/** A face's heads as InsightFace gives them (docs/parity.md: bit for bit on the reference's onnxruntime kernels). */
async function sameHeads(f: any, want: any, label: string): Promise<void> {
  await assertParity(f.bbox, want.bbox, 1e-3, `${label} bbox`);
  await assertParity([f.landmark2d106, f.landmark3d68], [want.landmark_2d_106, want.landmark_3d_68], 0.05, `${label} landmarks`);
  await assertParity([f.pose.pitch, f.pose.yaw, f.pose.roll], want.pose, 0.01, `${label} pose`);
  assert.deepEqual([f.gender, f.sex, f.age], [want.gender, want.sex, want.age], label);
}

let server: TestServer;
before(async () => {
  server = await startTestServer({ singleUser: true, headModels: HEAD_FILES });
});
after(() => server?.close());

test('analyze --json carries every head\'s fields, equal to InsightFace\'s; the table shows sex, age and pose', async () => {
  const { code, stdout } = await cli(['analyze', '--json', ...models, T1]);
  assert.equal(code, 0);
  const [line] = stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(line.faces[0]), ['bbox', 'kps', 'score', 'embedding', 'embeddingNorm', 'landmark2d106', 'landmark3d68', 'pose', 'gender', 'sex', 'age']);
  for (const [i, f] of line.faces.entries()) await sameHeads(f, t1.faces[i], `face ${i}`);
  const table = await cli(['analyze', ...models, T1]);
  const rows = table.stdout.trim().split('\n').slice(1);
  assert.equal(rows.length, 6);
  rows.forEach((r, i) => assert.ok(r.endsWith(`  ${t1.faces[i].sex} ${t1.faces[i].age}  yaw ${t1.faces[i].pose[1].toFixed(0)}° pitch ${t1.faces[i].pose[0].toFixed(0)}° roll ${t1.faces[i].pose[2].toFixed(0)}°`), r));
  const none = await cli(['analyze', '--json', ...models, '--heads', 'none', T1]);
  assert.deepEqual(Object.keys(JSON.parse(none.stdout).faces[0]), ['bbox', 'kps', 'score', 'embedding', 'embeddingNorm']);
  const bad = await cli(['analyze', ...models, '--heads', 'landmark3d68,age', T1]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown head "age"; heads are landmark2d106, landmark3d68, genderage/);
});

test('the API returns the heads\' fields, and its OpenAPI document describes them', async () => {
  const data = readFileSync(T1);
  const r = await api(server.url, 'POST', '/v1/analyze', { form: formOf({ image: [{ data, name: 't1.jpg' }] }) });
  assert.equal(r.status, 200);
  assert.equal(r.body.faces.length, 6);
  for (const [i, f] of r.body.faces.entries()) await sameHeads(f, t1.faces[i], `face ${i}`);
  const identify = await api(server.url, 'POST', '/v1/identify?threshold=0.5', { form: formOf({ image: [{ data, name: 't1.jpg' }] }) });
  assert.equal(identify.body.faces[0].face.age, t1.faces[0].age);
  const doc = (await api(server.url, 'GET', '/openapi.json')).body;
  const face = JSON.stringify(doc);
  for (const field of ['landmark2d106', 'landmark3d68', 'pose', 'gender', 'sex', 'age', 'maxYaw', 'maxPitch']) assert.ok(face.includes(`"${field}"`), field);
});

test('pose gate: enrolment refuses faces turned past --max-yaw / --max-pitch, with the pose in the reason', async () => {
  // The replica heads give poses of ±20° (meaningless for these photos, but real numbers to gate on).
  const created = await api(server.url, 'POST', '/v1/subjects', { json: { name: 'raj' } });
  assert.equal(created.status, 201);
  const form = formOf({ images: RAJ.map((p) => ({ data: readFileSync(p), name: p.split('/').pop()! })) });
  const r = await api(server.url, 'POST', '/v1/subjects/raj/faces?maxYaw=20&maxPitch=10', { form });
  const analyzed = await server.analyzer.analyzeMany(RAJ, { padRetry: true });
  const within = analyzed.map((faces) => Math.abs(faces[0].pose!.yaw) <= 20 && Math.abs(faces[0].pose!.pitch) <= 10);
  assert.ok(within.includes(false) && within.includes(true), `the gate must split these photos: ${analyzed.map((f) => JSON.stringify(f[0].pose))}`);
  assert.deepEqual(r.body.accepted.map((a: any) => a.source), RAJ.filter((_, i) => within[i]).map((p) => p.split('/').pop()));
  for (const refusal of r.body.refused) assert.match(refusal.message, /^face turned too far: yaw -?\d+\.\d°, pitch -?\d+\.\d° \(limits ±20°, ±10°\)$/);
  assert.deepEqual(r.body.refused.map((x: any) => x.reason), within.filter((w) => !w).map(() => 'POSE'));

  const store = join(mkdtempSync(join(tmpdir(), 'faceprint-pose-')), 'g.db');
  const cliRun = await cli(['enroll', '--json', '--store', store, ...models, '--max-yaw', '20', '--max-pitch', '10', 'raj', ...RAJ]);
  assert.equal(cliRun.code, 1, 'refusals exit 1');
  assert.deepEqual(JSON.parse(cliRun.stdout).refused.map((x: any) => x.reason), r.body.refused.map((x: any) => x.reason));
  const without3d = await cli(['enroll', '--store', store, '--detector', DET_500M, '--recognizer', MOBILEFACENET, '--max-yaw', '30', 'raj', ...RAJ]);
  assert.equal(without3d.code, 2);
  assert.match(without3d.stderr, /MODEL_MISSING: a pose limit \(maxYaw, maxPitch\) needs the 3-D landmark head/);
});

test('the pose gate is checked: out-of-range limits are INVALID_INPUT; faces without a pose cannot pass it', async () => {
  const g = await Gallery.open(new MemoryGalleryStore(), { recognizerSha256: 'x', dim: 2, recognizerName: 'x' });
  const face: Face = { bbox: [0, 0, 100, 100], kps: [], score: 0.9, embedding: Float32Array.of(1, 0) };
  await assert.rejects(g.enroll('a', [{ imageSha256: 'a', faces: [face] }], { maxYaw: -1 }), (e: any) => e.code === 'INVALID_INPUT');
  await assert.rejects(g.enroll('a', [{ imageSha256: 'a', faces: [face] }], { maxPitch: 10 }), (e: any) => e.code === 'MODEL_MISSING');
  const r = await g.enroll('a', [{ imageSha256: 'a', faces: [{ ...face, pose: { yaw: 40, pitch: 0, roll: 0 } }] }, { imageSha256: 'b', faces: [{ ...face, pose: { yaw: -10, pitch: 5, roll: 0 } }] }], { maxYaw: 30 });
  assert.deepEqual([r.accepted.length, r.refused.map((x) => x.reason)], [1, ['POSE']]);
  await g.close();
});

test('eval identify --max-yaw/--max-pitch keeps turned faces out of the galleries and reports rank-1 with and without the gate', async () => {
  const dir = join(SHARED, 'faces/identities/bbt');
  const { code, stdout } = await cli(['eval', 'identify', '--json', '--no-cache', '--dir', dir, '--detector', DET_500M, '--recognizer', MOBILEFACENET, '--head', HEAD_FILES[0], '--max-yaw', '10', '--max-pitch', '10']);
  assert.equal(code, 0);
  const r = JSON.parse(stdout);
  // the same count from the analyzer's own poses, image by image
  const { readIdentityDir } = await import('../src/node/eval/datasets.js');
  const items = await readIdentityDir(dir);
  const faces = await server.analyzer.analyzeMany(items.map((i) => i.path), { maxFaces: 1, padRetry: true });
  const within = faces.map((f) => Math.abs(f[0].pose!.yaw) <= 10 && Math.abs(f[0].pose!.pitch) <= 10);
  assert.equal(r.poseGate.refused, within.filter((w) => !w).length);
  const byLabel = new Map<string, number>();
  items.forEach((it, i) => within[i] && byLabel.set(it.label, (byLabel.get(it.label) ?? 0) + 1));
  const mated = items.filter((it, i) => (byLabel.get(it.label) ?? 0) - (within[i] ? 1 : 0) >= 1).length;
  assert.equal(r.matedProbes, mated);
  assert.equal(r.poseGate.ungated.matedProbes, 40);
  assert.ok(r.matedProbes < 40);
  const without3d = await cli(['eval', 'identify', '--no-cache', '--dir', dir, '--detector', DET_500M, '--recognizer', MOBILEFACENET, '--max-yaw', '10']);
  assert.equal(without3d.code, 2);
});

test('on real buffalo_l poses (test_person.jpg, 17 faces, yaw −78.6…52.3°) the gate refuses exactly the faces turned past it', async () => {
  const ref: { faces: { bbox: number[]; det_score: number; pose: number[] }[] } = JSON.parse(readFileSync(join(SHARED, 'golden/buffalo_l_test_person.json'), 'utf8'));
  const g = await Gallery.open(new MemoryGalleryStore(), { recognizerSha256: 'x', dim: 2, recognizerName: 'x' });
  const images = ref.faces.map((f, i) => ({
    imageSha256: `face${i}`, source: `face${i}`,
    faces: [{ bbox: f.bbox as Face['bbox'], kps: [], score: f.det_score, embedding: Float32Array.of(1, 0), pose: { pitch: f.pose[0], yaw: f.pose[1], roll: f.pose[2] } }],
  }));
  const r = await g.enroll('crowd', images, { maxYaw: 30, maxPitch: 20, minSize: 0, minScore: 0 });
  const turned = ref.faces.map((f, i) => (Math.abs(f.pose[1]) > 30 || Math.abs(f.pose[0]) > 20 ? `face${i}` : null)).filter(Boolean);
  assert.equal(turned.length, 4);
  assert.deepEqual(r.refused.map((x) => x.source), turned);
  assert.ok(r.refused.every((x) => x.reason === 'POSE'));
  assert.equal(r.accepted.length, 13);
  await g.close();
});
