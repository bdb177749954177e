import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FaceAnalyzer, cosine } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, SHARED, golden } from './fixtures.js';
import { startStaticServer, type StaticServer } from './helpers/static-server.js';
import { greenPixels, launchChromium } from './helpers/chromium.js';

const BBT = join(SHARED, 'faces/identities/bbt');
const photo = (person: string, n: number) => join(BBT, person, `${person}${n}.png`);
const PAGE = '/?detector=/models/det_500m.onnx&recognizer=/models/mobilefacenet.onnx&threads=2';

let site: StaticServer;
let browser: Browser;
/** One browser profile: pages opened in it share IndexedDB and Cache Storage, as tabs do. */
let context: BrowserContext;
let page: Page;
let node: FaceAnalyzer;

async function openPage(): Promise<Page> {
  const p = await context.newPage();
  await p.goto(site.url + PAGE);
  await p.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
  assert.match((await p.textContent('#models-result')) ?? '', /^loaded in .*mobilefacenet\.onnx, 128-d; WASM threads on$/);
  return p;
}

before(async () => {
  site = await startStaticServer();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1400, height: 1800 } });
  // tsx compiles the functions passed to page.evaluate with esbuild's keepNames, which calls a __name helper
  await context.addInitScript('globalThis.__name = (f) => f');
  node = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
  page = await openPage();
});
after(async () => {
  await browser?.close();
  await site?.close();
  await node?.close();
});

test('static page, on-device: models fetched from the static host, no API call, cross-origin isolated', async () => {
  assert.equal(await page.textContent('#mode'), 'on-device');
  assert.equal(await page.evaluate(() => (window as any).faceprint.crossOriginIsolated), true);
  assert.ok(site.requests.includes('GET /models/det_500m.onnx') && site.requests.includes('GET /models/mobilefacenet.onnx'));
  assert.ok(site.requests.every((r) => r.startsWith('GET ') && !r.startsWith('GET /v1/')), site.requests.join(', '));
});

test('the page analyses the golden dev images as Node does: same faces, embeddings cosine ≥ 0.9999', async () => {
  let faces = 0;
  const mismatched: string[] = [];
  for (const g of golden.images) {
    const inPage = await page.evaluate(async (path) => {
      const fp = (window as any).faceprint;
      const blob = await (await fetch(`/fixtures/${path}`)).blob();
      const pixels = await fp.local.analyzer.decode(blob);
      const found = await fp.local.analyzer.core.analyze(pixels);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', pixels.data));
      return {
        pixels: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
        faces: found.map((f: any) => ({ bbox: f.bbox, kps: f.kps, score: f.score, embedding: Array.from(f.embedding as Float32Array) })),
      };
    }, g.path);
    const pixels = await node.decode(join(SHARED, g.path));
    const expected = await node.core.analyze(pixels);
    const samePixels = inPage.pixels === createHash('sha256').update(pixels.data).digest('hex');
    if (!samePixels) {
      mismatched.push(g.id);
      continue; // the browser decoded this file differently from libvips/OpenCV: not a pipeline difference
    }
    assert.equal(inPage.faces.length, expected.length, `${g.id}: face count`);
    inPage.faces.forEach((f, i) => {
      for (let k = 0; k < 4; k++) assert.ok(Math.abs(f.bbox[k] - expected[i].bbox[k]) < 1e-3, `${g.id} face ${i} bbox`);
      const c = cosine(Float32Array.from(f.embedding), expected[i].embedding!);
      assert.ok(c >= 0.9999, `${g.id} face ${i}: cosine ${c}`);
      faces++;
    });
  }
  // Chromium decodes (nearly) every golden image to the same pixels as sharp; the pipeline is then the same
  assert.ok(mismatched.length <= 2, `browser pixels differ on ${mismatched.join(', ')}`);
  assert.ok(faces >= 50, `only ${faces} faces compared`);
  console.log(`golden dev: ${golden.images.length - mismatched.length}/${golden.images.length} images decoded to the same pixels, ${faces} faces compared (decoded differently: ${mismatched.join(', ') || 'none'})`);
});

test('on-device enrol + identify, gallery kept in IndexedDB across a reload, boxes drawn', async () => {
  for (const person of ['amy', 'penny']) {
    await page.fill('#enrol-name', person);
    await page.setInputFiles('#enrol-files', [1, 2, 3].map((n) => photo(person, n)));
    await page.click('#enrol-submit');
    await page.waitForFunction((p) => (document.getElementById('enrol-result')!.textContent ?? '').includes(`of ${p}`), person);
    assert.match((await page.textContent('#enrol-result')) ?? '', new RegExp(`enrolled 3 photos of ${person} \\(now 3\\)`));
  }
  const reloaded = await openPage(); // a new page on the same origin: the gallery comes back from IndexedDB
  try {
    assert.deepEqual(await reloaded.$$eval('#subjects-list li', (lis) => lis.map((li) => (li as HTMLElement).dataset.subject)), ['amy', 'penny']);
    await reloaded.fill('#identify-threshold', '0.3');
    await reloaded.setInputFiles('#identify-file', photo('amy', 5));
    await reloaded.waitForFunction(() => /amy|unknown|no face|:/.test(document.getElementById('identify-result')!.textContent ?? ''));
    assert.match((await reloaded.textContent('#identify-result')) ?? '', /^amy 0\.\d\d$/);
    const green = await greenPixels(await reloaded.locator('#identify-canvas').screenshot());
    assert.ok(green > 300, `only ${green} box pixels`);
  } finally {
    await reloaded.close();
  }
  assert.ok(site.requests.every((r) => r.startsWith('GET ')), 'the page sent something');
  // the second page took its models from Cache Storage
  assert.equal(site.requests.filter((r) => r === 'GET /models/mobilefacenet.onnx').length, 1, site.requests.join(', '));
});

test('models: sha256 checked (a wrong one refused), progress reported', async () => {
  const sha256 = createHash('sha256').update(readFileSync(MOBILEFACENET)).digest('hex');
  const result = await page.evaluate(async (sha) => {
    const fp = (window as any).faceprint;
    const progress: number[] = [];
    const ok = await fp.loadModelBytes('/models/mobilefacenet.onnx?fresh', { sha256: sha, onProgress: (loaded: number) => progress.push(loaded) });
    const bad = await fp.loadModelBytes('/models/det_500m.onnx?fresh', { sha256: sha }).then(() => 'accepted', (e: any) => e.code);
    return { sha: ok.sha256, size: ok.bytes.length, progress, bad };
  }, sha256);
  assert.equal(result.sha, sha256);
  assert.equal(result.size, statSync(MOBILEFACENET).size);
  assert.ok(result.progress.length >= 1 && result.progress[result.progress.length - 1] === result.size);
  assert.equal(result.bad, 'PACK_CORRUPT');
});
