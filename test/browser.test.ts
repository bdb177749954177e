import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { FaceAnalyzer, cosine } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, SHARED, golden } from './fixtures.js';
import { startStaticServer, type StaticServer } from './helpers/static-server.js';
import { enrolThroughPage, greenPixels, launchChromium, showView } from './helpers/chromium.js';

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
  // one probe for a server (GET /v1/info, 404 here), then no API call
  assert.ok(site.requests.every((r) => r.startsWith('GET ') && (!r.startsWith('GET /v1/') || r === 'GET /v1/info')), site.requests.join(', '));
});

test('the page holds InsightFace 1.0.1\'s Auto golden (its default) and equals Node with detSizes [640] (0.7.3): same pixels, every face, boxes and landmarks < 0.01 px, scores < 1e-5, cosine ≥ 0.99999', async () => {
  const auto: { images: { id: string; path: string; faces: { bbox: number[]; kps: number[][]; det_score: number; normed_embedding: number[] }[] }[] } =
    JSON.parse(readFileSync(join(SHARED, 'golden/dev/auto_insightface_1_0_1.json'), 'utf8'));
  const single = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET, detSize: 640 });
  const worst = { auto: { px: 0, score: 0, cos: 1, faces: 0 }, single: { px: 0, score: 0, cos: 1, faces: 0 } };
  const compare = (w: typeof worst.auto, f: { bbox: number[]; kps: number[][]; score: number; embedding: number[] }, e: { bbox: number[]; kps: number[][]; score: number; embedding: ArrayLike<number> }) => {
    w.px = Math.max(w.px, ...f.bbox.map((v, k) => Math.abs(v - e.bbox[k])), ...f.kps.flat().map((v, k) => Math.abs(v - e.kps.flat()[k])));
    w.score = Math.max(w.score, Math.abs(f.score - e.score));
    w.cos = Math.min(w.cos, cosine(Float32Array.from(f.embedding), Float32Array.from(e.embedding)));
    w.faces++;
  };
  const mismatched: string[] = [];
  try {
    for (const g of golden.images) {
      const inPage = await page.evaluate(async (path) => {
        const fp = (window as any).faceprint;
        const blob = await (await fetch(`/fixtures/${path}`)).blob();
        const pixels = await fp.local.analyzer.decode(blob);
        const json = (found: any[]) => found.map((f: any) => ({ bbox: f.bbox, kps: f.kps, score: f.score, embedding: Array.from(f.embedding as Float32Array) }));
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', pixels.data));
        return {
          pixels: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
          auto: json(await fp.local.analyzer.core.analyze(pixels)),
          single: json(await fp.local.analyzer.core.analyze(pixels, { detSizes: [640] })),
        };
      }, g.path);
      const pixels = await node.decode(join(SHARED, g.path));
      if (inPage.pixels !== createHash('sha256').update(pixels.data).digest('hex')) mismatched.push(g.id);
      const ref = auto.images.find((a) => a.id === g.id)!;
      assert.equal(inPage.auto.length, ref.faces.length, `${g.id}: face count (Auto)`);
      inPage.auto.forEach((f, i) => compare(worst.auto, f, { ...ref.faces[i], score: ref.faces[i].det_score, embedding: ref.faces[i].normed_embedding }));
      const expected = await single.core.analyze(pixels);
      assert.equal(inPage.single.length, expected.length, `${g.id}: face count (640)`);
      inPage.single.forEach((f, i) => compare(worst.single, f, { ...expected[i], embedding: expected[i].embedding! }));
    }
  } finally {
    await single.close();
  }
  console.log(`golden dev in Chromium: Auto ${JSON.stringify(worst.auto)}; 640 ${JSON.stringify(worst.single)}`);
  assert.deepEqual(mismatched, [], 'Chromium decodes every golden image to the same pixels as sharp');
  assert.equal(worst.auto.faces, 65);
  assert.equal(worst.single.faces, 63);
  for (const w of [worst.auto, worst.single]) {
    assert.ok(w.px < 0.01, `boxes/landmarks off by ${w.px} px`);
    assert.ok(w.score < 1e-5, `scores off by ${w.score}`);
    assert.ok(w.cos >= 0.99999, `worst cosine ${w.cos}`);
  }
});

test('?detInput=image&detSize=256 (the speed setting): a 256×192 detector for t1.jpg, the same faces as Node with those options', async () => {
  const fast = await context.newPage();
  const small = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET, detInput: 'image', detSize: 256 });
  try {
    await fast.goto(`${site.url}${PAGE}&detInput=image&detSize=256`);
    await fast.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
    const path = golden.images.find((g) => g.path.endsWith('t1.jpg'))!.path;
    const inPage = await fast.evaluate(async (p) => {
      const fa = (window as any).faceprint.local.analyzer;
      const pixels = await fa.decode(await (await fetch(`/fixtures/${p}`)).blob());
      const detector = fa.core.detectorFor(pixels);
      const found = await fa.core.analyze(pixels);
      return { size: [detector.inputWidth, detector.inputHeight], faces: found.map((f: any) => ({ bbox: f.bbox, embedding: Array.from(f.embedding as Float32Array) })) };
    }, path);
    const expected = await small.core.analyze(await small.decode(join(SHARED, path)));
    assert.deepEqual(inPage.size, [256, 192]);
    assert.equal(inPage.faces.length, expected.length);
    assert.equal(expected.length, 6);
    inPage.faces.forEach((f: { bbox: number[]; embedding: number[] }, i: number) => {
      assert.ok(Math.max(...f.bbox.map((v, k) => Math.abs(v - expected[i].bbox[k]))) < 1e-3, `face ${i} box`);
      assert.ok(cosine(Float32Array.from(f.embedding), expected[i].embedding!) >= 0.9999, `face ${i} embedding`);
    });
  } finally {
    await fast.close();
    await small.close();
  }
});

test('a static host without COOP/COEP: the page isolates itself through its service worker (one reload) and runs WASM threads; other documents in its scope are left alone', async () => {
  const otherApp = mkdtempSync(join(tmpdir(), 'faceprint-other-app-'));
  writeFileSync(join(otherApp, 'index.html'), '<!doctype html><title>another app on the same host</title><p>hello</p>');
  const plain = await startStaticServer([['/other/', otherApp]], { isolation: false });
  const ctx = await browser.newContext();
  try {
    await ctx.addInitScript('globalThis.__name = (f) => f');
    const p = await ctx.newPage();
    await p.goto(plain.url + PAGE);
    await p.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
    assert.match((await p.textContent('#models-result')) ?? '', /WASM threads on$/);
    assert.equal(await p.evaluate(() => self.crossOriginIsolated), true);
    // the document twice (the reload), the worker script (fetched again by the browser's update check on the
    // reload); the models once, from the isolated page
    assert.equal(plain.requests.filter((r) => r === 'GET /').length, 2, plain.requests.join(', '));
    assert.ok(plain.requests.includes('GET /isolate-sw.js'));
    assert.equal(plain.requests.filter((r) => r === 'GET /models/mobilefacenet.onnx').length, 1);
    // a second page of the same profile is isolated from its first load
    const again = await ctx.newPage();
    await again.goto(plain.url + PAGE);
    await again.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
    assert.equal(await again.evaluate(() => self.crossOriginIsolated), true);
    assert.equal(plain.requests.filter((r) => r === 'GET /').length, 3);
    // another document under the worker's scope, opened in the same profile: served as the host serves it
    const other = await ctx.newPage();
    const response = await other.goto(`${plain.url}/other/index.html`);
    assert.equal(await other.textContent('p'), 'hello');
    assert.equal(await other.evaluate(() => self.crossOriginIsolated), false);
    assert.equal(response?.headers()['cross-origin-opener-policy'], undefined);
  } finally {
    await ctx.close();
    await plain.close();
  }
});

test('every browser image source gives the same faces: File/Blob, <img>, <canvas>, ImageBitmap, VideoFrame, ImageData', async () => {
  const result = await page.evaluate(async () => {
    const fa = (window as any).faceprint.local.analyzer;
    const blob = await (await fetch('/fixtures/faces/groups/insightface/t1.jpg')).blob();
    const img = new Image();
    img.src = URL.createObjectURL(blob);
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    canvas.getContext('2d')!.drawImage(img, 0, 0);
    const bitmap = await createImageBitmap(blob);
    const frame = new VideoFrame(bitmap, { timestamp: 0 });
    const imageData = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const file = new File([blob], 't1.jpg', { type: 'image/jpeg' });
    const out: Record<string, number[][]> = {};
    for (const [name, input] of Object.entries({ blob, file, img, canvas, bitmap, frame, imageData })) {
      out[name] = (await fa.analyze(input)).map((f: any) => Array.from(f.embedding as Float32Array));
    }
    frame.close();
    return out;
  });
  const reference = result.blob;
  assert.ok(reference.length >= 6);
  for (const [name, faces] of Object.entries(result)) {
    assert.equal(faces.length, reference.length, `${name}: face count`);
    faces.forEach((e, i) => assert.ok(cosine(Float32Array.from(e), Float32Array.from(reference[i])) >= 0.9999, `${name} face ${i}`));
  }
});

test('on-device enrol + identify, gallery kept in IndexedDB across a reload, boxes drawn', async () => {
  for (const person of ['amy', 'penny']) {
    assert.match(await enrolThroughPage(page, person, [1, 2, 3].map((n) => photo(person, n))), new RegExp(`^enrolled 3 photos of ${person} \\(now 3\\)`));
  }
  const reloaded = await openPage(); // a new page on the same origin: the gallery comes back from IndexedDB
  try {
    assert.deepEqual(await reloaded.$$eval('#subjects-list li', (lis) => lis.map((li) => (li as HTMLElement).dataset.subject)), ['amy', 'penny']);
    await showView(reloaded, 'identify');
    await reloaded.fill('#identify-threshold', '0.3');
    await reloaded.setInputFiles('#identify-file', photo('amy', 5));
    await reloaded.waitForFunction(() => /amy|unknown|no face|:/.test(document.getElementById('identify-result')!.textContent ?? ''));
    assert.match((await reloaded.textContent('#identify-result')) ?? '', /^amy 0\.\d\d \(threshold 0\.30, given\)$/);
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

/**
 * A one-frame Y4M video of a photo (Chromium's fake webcam plays it in a loop): the face 240 px tall in the
 * middle of a grey room, as a webcam sees someone at a desk.
 */
async function y4mOf(photoPath: string, width = 640, height = 480): Promise<string> {
  const face = await sharp(photoPath).resize({ height: 240 }).removeAlpha().toBuffer();
  const { data } = await sharp({ create: { width, height, channels: 3, background: '#78828c' } }).composite([{ input: face, gravity: 'centre' }]).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const y = Buffer.alloc(width * height);
  const u = Buffer.alloc((width / 2) * (height / 2));
  const v = Buffer.alloc((width / 2) * (height / 2));
  for (let i = 0; i < width * height; i++) y[i] = Math.round(0.299 * data[3 * i] + 0.587 * data[3 * i + 1] + 0.114 * data[3 * i + 2]);
  for (let cy = 0; cy < height / 2; cy++) {
    for (let cx = 0; cx < width / 2; cx++) {
      let r = 0, g = 0, b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const p = 3 * ((2 * cy + dy) * width + 2 * cx + dx);
        r += data[p] / 4;
        g += data[p + 1] / 4;
        b += data[p + 2] / 4;
      }
      u[cy * (width / 2) + cx] = Math.max(0, Math.min(255, Math.round(-0.1687 * r - 0.3313 * g + 0.5 * b + 128)));
      v[cy * (width / 2) + cx] = Math.max(0, Math.min(255, Math.round(0.5 * r - 0.4187 * g - 0.0813 * b + 128)));
    }
  }
  const path = join(mkdtempSync(join(tmpdir(), 'faceprint-webcam-')), 'webcam.y4m');
  writeFileSync(path, Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\nFRAME\n`), y, u, v]));
  return path;
}

test('webcam: live identify on Chromium\'s fake camera playing a photo of an enrolled person', async () => {
  const camera = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${await y4mOf(photo('amy', 5))}`]);
  try {
    const ctx = await camera.newContext({ viewport: { width: 1400, height: 1800 }, permissions: ['camera'] });
    await ctx.addInitScript('globalThis.__name = (f) => f');
    const p = await ctx.newPage();
    await p.goto(site.url + PAGE);
    await p.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
    assert.match(await enrolThroughPage(p, 'amy', [1, 2, 3].map((n) => photo('amy', n))), /^enrolled 3 photos of amy/);
    await showView(p, 'identify');
    await p.fill('#identify-threshold', '0.3');
    await showView(p, 'detect');
    await p.click('#webcam-start');
    await p.waitForSelector('#webcam-live', { state: 'visible' });
    const liveStarted = Date.now();
    await p.click('#webcam-live');
    await p.waitForFunction(() => /^live: /.test(document.getElementById('analyze-result')!.textContent ?? ''), undefined, { timeout: 30_000 });
    await p.waitForFunction(() => /^live: amy · [\d.]+ fps/.test(document.getElementById('analyze-result')!.textContent ?? ''), undefined, { timeout: 30_000 });
    assert.ok((await greenPixels(await p.locator('#analyze-canvas').screenshot())) > 300);
    // the tracker: 60 more frames, the name holds and the recognizer has run for the one track only
    await p.waitForFunction(() => (window as any).faceprint.live.frames >= 60, undefined, { timeout: 60_000 });
    const text = (await p.textContent('#analyze-result')) ?? '';
    assert.match(text, /^live: amy · [\d.]+ fps · \d+ recognizer runs in \d+ frames$/);
    const stats = await p.evaluate(() => ({ ...(window as any).faceprint.live }));
    // one track: its first embedding, at most two clearly better faces, and the identity guard's one every 2 s of
    // video time (the page's clock; a loaded machine plays the same 60 frames over more seconds)
    const seconds = (Date.now() - liveStarted) / 1000;
    assert.ok(stats.recognizerRuns <= 3 + Math.floor(seconds / 2), `${JSON.stringify(stats)} over ${seconds} s`);
    assert.equal(stats.detectorRuns, stats.frames);
    await p.click('#webcam-live'); // stop
  } finally {
    await camera.close();
  }
});
