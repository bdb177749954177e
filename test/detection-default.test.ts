// The default detection follows today's InsightFace (1.0's Auto: 128 and 640), one size gives exactly 0.7.3's,
// and a gallery keeps the detection its faces were found with — one made by the previous release keeps 640.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUTO_DET_SIZES, FaceAnalyzer, FaceGallery, openStore, recognizerBinding } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';
import { startPostgres, type TestServer } from './helpers/postgres.js';

const tmp = mkdtempSync(join(tmpdir(), 'faceprint-detection-'));
const BBT = join(SHARED, 'faces/identities/bbt');
const photo = (p: string, n: number) => join(BBT, p, `${p}${n}.png`);
/**
 * A SQLite gallery written by faceprint 0.1.0 as released before Auto (commit b6043e9): amy, leonard and penny,
 * photos 1–3 each, enrolled with the fixture models (`FaceGallery.enroll(name, photos, { create: true })`).
 */
const PREVIOUS_RELEASE_STORE = join(import.meta.dirname, 'data/gallery-0.1.0-b6043e9.db');

let auto: FaceAnalyzer;
let single: FaceAnalyzer;
before(async () => {
  auto = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
  single = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET, detSize: 640 });
});
after(async () => {
  await auto.close();
  await single.close();
});

describe('the analyzer\'s detection', () => {
  test('default: InsightFace 1.0\'s Auto; detSize gives one size; detSizes any list within the limits', async () => {
    assert.deepEqual(auto.core.detSizesFor(), [...AUTO_DET_SIZES]);
    assert.deepEqual(single.core.detSizesFor(), [640]);
    assert.deepEqual(auto.core.detSizesFor({ detSizes: [96, 512, 96] }), [96, 512]);
    for (const bad of [[100], [16], [4096], [32, 64, 96, 128, 160], [2048, 1024]]) {
      assert.throws(() => auto.core.detSizesFor({ detSizes: bad }), /INVALID_INPUT|detector sizes/, String(bad));
    }
  });

  test('a per-call detSizes: [640] is exactly the single-size analyzer, Auto differs where the reference says', async () => {
    const lfw = join(SHARED, 'lfw/images/Lindsay_Davenport/Lindsay_Davenport_0005.jpg');
    const [a] = await single.analyze(lfw);
    const [b] = await auto.analyze(lfw, { detSizes: [640] });
    assert.deepEqual(b.bbox, a.bbox);
    assert.deepEqual(b.embedding, a.embedding);
    const [c] = await auto.analyze(lfw);
    assert.notDeepEqual(c.bbox, a.bbox, 'on LFW photos the 128 pass wins the merge');
  });
});

describe('a gallery records its detection', () => {
  test('a new gallery records the analyzer\'s sizes and decides with their threshold (fixture MobileFaceNet: 0.27 under Auto)', async () => {
    const store = join(tmp, 'new.db');
    const g = await FaceGallery.open({ analyzer: auto, store });
    try {
      assert.deepEqual(g.detSizes, [128, 640]);
      assert.deepEqual((await g.gallery.store.binding())?.detSizes, [128, 640]);
      assert.equal((await g.gallery.resolveThreshold()).threshold, 0.27);
      await g.enroll('amy', [1, 2, 3].map((n) => photo('amy', n)), { create: true });
    } finally {
      await g.close();
    }
    // reopened by an analyzer made for one size: the gallery's own detection still applies
    const again = await FaceGallery.open({ analyzer: single, store });
    try {
      assert.deepEqual(again.detSizes, [128, 640]);
      const [face] = await again.identify(photo('amy', 4));
      assert.equal(face.subject?.name, 'amy');
      assert.equal(face.threshold, 0.27);
    } finally {
      await again.close();
    }
    const told = await FaceGallery.open({ analyzer: auto, store, detSizes: [640] });
    try {
      assert.deepEqual(told.detSizes, [640]);
      assert.deepEqual((await told.gallery.store.binding())?.detSizes, [128, 640], 'the record is not rewritten');
    } finally {
      await told.close();
    }
  });

  test('a SQLite gallery written by the previous release opens unchanged and keeps 640 (threshold 0.29)', async () => {
    const store = join(tmp, 'previous.db');
    copyFileSync(PREVIOUS_RELEASE_STORE, store);
    const g = await FaceGallery.open({ analyzer: auto, store });
    try {
      assert.equal((await g.gallery.store.binding())?.detSizes, undefined, 'written before Auto');
      assert.deepEqual(g.detSizes, [640]);
      const t = await g.gallery.resolveThreshold();
      assert.equal(t.threshold, 0.29);
      assert.deepEqual((await g.gallery.store.listSubjects()).subjects.map((s) => s.name).sort(), ['amy', 'leonard', 'penny']);
      for (const p of ['amy', 'leonard', 'penny']) {
        const [face] = await g.identify(photo(p, 5));
        assert.equal(face.subject?.name, p, `${p}5 is ${p}`);
      }
      // an enrolment now finds the face as the old ones were found: 640 alone
      const r = await g.enroll('amy', [photo('amy', 4)]);
      assert.equal(r.accepted.length, 1);
      const stored = (await g.gallery.store.face(r.accepted[0].faceId))!;
      const [check] = await single.analyze(photo('amy', 4), { padRetry: true });
      assert.deepEqual(stored.bbox.map((v) => Math.fround(v)), check.bbox.map((v) => Math.fround(v)));
    } finally {
      await g.close();
    }
  });

  describe('PostgreSQL', () => {
    let pg: TestServer;
    before(async () => {
      pg = await startPostgres();
    });
    after(() => pg.stop());

    test('a store bound by the previous release (no detection recorded) keeps 640; a new one records Auto', async () => {
      const old = await pg.database('previous');
      const s = await openStore(old);
      // what the previous release's bind() wrote: the binding without detSizes
      const { recognizerSha256 } = await recognizerBinding(auto);
      await s.bind({ recognizerSha256, dim: 128, recognizerName: 'mobilefacenet.onnx' });
      await s.close();
      const g = await FaceGallery.open({ analyzer: auto, store: old });
      try {
        assert.deepEqual(g.detSizes, [640]);
        assert.equal((await g.gallery.resolveThreshold()).threshold, 0.29);
      } finally {
        await g.close();
      }
      const fresh = await FaceGallery.open({ analyzer: auto, store: await pg.database('fresh') });
      try {
        assert.deepEqual(fresh.detSizes, [128, 640]);
        assert.equal((await fresh.gallery.resolveThreshold()).threshold, 0.27);
      } finally {
        await fresh.close();
      }
    });
  });
});

describe('over HTTP', () => {
  test('answers name the detection in force; ?detSizes= chooses another; sizes outside the limits are a 400', async () => {
    const { startTestServer, api, assertError } = await import('./helpers/server.js');
    const s = await startTestServer({ rateLimitPerMinute: 0 });
    const single640 = await FaceAnalyzer.create({ detector: DET_500M, detSize: 640 });
    try {
      const lfw = readFileSync(join(SHARED, 'lfw/images/Lindsay_Davenport/Lindsay_Davenport_0005.jpg'));
      const info = await api(s.url, 'GET', '/v1/info');
      assert.deepEqual(info.body.detSizes, [128, 640]);
      assert.deepEqual((await api(s.url, 'GET', '/v1/threshold', { key: s.key.read })).body.detSizes, [128, 640]);
      const auto = await api(s.url, 'POST', '/v1/analyze', { key: s.key.read, raw: lfw, type: 'image/jpeg' });
      assert.deepEqual(auto.body.detSizes, [128, 640]);
      const single = await api(s.url, 'POST', '/v1/analyze?detSizes=640', { key: s.key.read, raw: lfw, type: 'image/jpeg' });
      assert.deepEqual(single.body.detSizes, [640]);
      const [expected] = await single640.analyze(lfw);
      assert.deepEqual(single.body.faces[0].bbox, expected.bbox);
      assert.notDeepEqual(auto.body.faces[0].bbox, expected.bbox);
      assert.deepEqual((await api(s.url, 'POST', '/v1/identify', { key: s.key.read, raw: lfw, type: 'image/jpeg' })).body.detSizes, [128, 640]);
      for (const bad of ['100', '16', '4096', '32,64,96,128,160', 'abc']) {
        assertError(await api(s.url, 'POST', `/v1/analyze?detSizes=${bad}`, { key: s.key.read, raw: lfw, type: 'image/jpeg' }), 400, 'INVALID_INPUT');
      }
    } finally {
      await s.close();
      await single640.close();
    }
  });
});
