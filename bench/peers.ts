/**
 * faceprint's browser entry against the JS peers users compare it with — @vladmandic/human and @vladmandic/face-api
 * (dev dependencies, their own models, their bundled tfjs on the WASM backend) — in one Chromium run, on the same
 * images, with the same WASM thread count: ms per face of detect + landmarks + embedding from decoded pixels
 * (after 4 s of warm-up over all images, median of --iters), faces found. Each contender runs in a page of its own, one after another.
 *
 * faceprint runs as shipped (InsightFace-exact: detector at 640×640), with the detector sized to the image
 * (detInput=image), and that with INT8 models; then the w600k_r50 replica in INT8 (the page's on-device mode with
 * a w600k_r50-class recognizer).
 *
 *   node --import tsx bench/peers.ts --models DIR [--iters 10] [--threads 1,2]
 *
 * DIR holds det500m-int8.onnx, mbf-int8.onnx, r50.onnx (`faceprint models replica`) and r50-int8.onnx, made by
 * `faceprint models quantize` (see
 * docs/browser.md for the commands). Needs the built page (npm run build) and /usr/bin/chromium.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { SHARED } from '../test/fixtures.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { startStaticServer } from '../test/helpers/static-server.js';

const { values } = parseArgs({ options: { iters: { type: 'string', default: '15' }, threads: { type: 'string', default: '1,2' }, models: { type: 'string' } } });
if (!values.models) throw new Error('--models DIR: det500m-int8.onnx, mbf-int8.onnx, r50.onnx, r50-int8.onnx');
const iters = Number(values.iters);
const NM = resolve(import.meta.dirname, '../node_modules');
const lfwPerson = readdirSync(join(SHARED, 'lfw/images')).sort()[0];
const images = [
  join(SHARED, 'lfw/images', lfwPerson, readdirSync(join(SHARED, 'lfw/images', lfwPerson)).sort()[0]),
  join(SHARED, 'faces/groups/insightface/t1.jpg'),
].map((p) => `/fixtures/${relative(SHARED, p)}`);

interface Timing { ms: number; faces: number; threads: number }

/** The median ms of `iters` runs of the contender's whole job on each image, after a warm-up, in the page. */
const TIMER = `async (job, urls, iters) => {
  const inputs = [];
  for (const url of urls) inputs.push(await job.prepare(await createImageBitmap(await (await fetch(url)).blob())));
  // warm-up over every image: V8 tiers WASM up to optimised code in the background over the first seconds, and the
  // first image of a page grows its memory; until both settle, times wander by 3× (measured): 4 s, 3 rounds at least
  const warm = performance.now();
  for (let round = 0; round < 3 || performance.now() - warm < 4000; round++) for (const input of inputs) await job.run(input);
  const out = [];
  for (const input of inputs) {
    const times = [];
    let faces = 0;
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      faces = await job.run(input);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    out.push({ ms: times[Math.floor(times.length / 2)], faces });
  }
  return out;
}`;

/** The peers take a canvas: the image drawn once, before timing. */
const CANVAS_OF = `(bitmap) => {
  const c = document.createElement('canvas');
  c.width = bitmap.width;
  c.height = bitmap.height;
  c.getContext('2d').drawImage(bitmap, 0, 0);
  return c;
}`;

async function faceprint(page: Page, base: string, query: string): Promise<Timing[]> {
  await page.goto(`${base}/?${query}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 });
  return page.evaluate(async ([timer, urls, n, t]) => {
    const fa = (window as any).faceprint.local.analyzer;
    const job = { prepare: (b: ImageBitmap) => fa.decode(b), run: async (pixels: unknown) => (await fa.core.analyze(pixels)).length };
    return ((0, eval)(timer) as (j: unknown, u: string[], n: number) => Promise<{ ms: number; faces: number }[]>)(job, urls, n).then((r) => r.map((x) => ({ ...x, threads: t })));
  }, [TIMER, images, iters, Number(/threads=(\d+)/.exec(query)![1])] as const);
}

async function human(page: Page, base: string, threads: number): Promise<Timing[]> {
  await page.goto(`${base}/peers-blank/`);
  return page.evaluate(async ([timer, canvasOf, urls, n, t]) => {
    const humanUrl = '/peers/human/dist/human.esm.js';
    const H: any = await import(humanUrl);
    // face detection, mesh (its alignment) and the descriptor: the job faceprint does; the rest off, no caching
    const human = new H.Human({
      backend: 'wasm', wasmPath: '/peers/tfjs-wasm/', modelBasePath: '/peers/human/models/', cacheSensitivity: 0, warmup: 'none', debug: false,
      face: { enabled: true, detector: { skipFrames: 0, skipTime: 0, maxDetected: 50, rotation: false }, mesh: { enabled: true }, iris: { enabled: false }, description: { enabled: true, skipFrames: 0, skipTime: 0 }, emotion: { enabled: false }, antispoof: { enabled: false }, liveness: { enabled: false } },
      body: { enabled: false }, hand: { enabled: false }, object: { enabled: false }, gesture: { enabled: false }, segmentation: { enabled: false }, filter: { enabled: false },
    });
    human.tf.setThreadsCount(t);
    await human.load();
    const job = {
      prepare: (0, eval)(canvasOf),
      run: async (c: HTMLCanvasElement) => (await human.detect(c)).face.filter((f: any) => f.embedding?.length).length,
    };
    const res = await ((0, eval)(timer) as (j: unknown, u: string[], n: number) => Promise<{ ms: number; faces: number }[]>)(job, urls, n);
    return res.map((r) => ({ ...r, threads: human.tf.getThreadsCount?.() ?? t, backend: human.tf.getBackend() }));
  }, [TIMER, CANVAS_OF, images, iters, threads] as const);
}

async function faceApi(page: Page, base: string, threads: number, detector: 'ssd' | 'tiny'): Promise<Timing[]> {
  await page.goto(`${base}/peers-blank/`);
  return page.evaluate(async ([timer, canvasOf, urls, n, t, kind]) => {
    const faceApiUrl = '/peers/face-api/dist/face-api.esm.js';
    const F: any = await import(faceApiUrl);
    F.tf.setWasmPaths('/peers/tfjs-wasm/');
    F.tf.setThreadsCount(t);
    await F.tf.setBackend('wasm');
    await F.tf.ready();
    const net = kind === 'ssd' ? F.nets.ssdMobilenetv1 : F.nets.tinyFaceDetector;
    await net.loadFromUri('/peers/face-api/model');
    await F.nets.faceLandmark68Net.loadFromUri('/peers/face-api/model');
    await F.nets.faceRecognitionNet.loadFromUri('/peers/face-api/model');
    const options = kind === 'ssd' ? new F.SsdMobilenetv1Options() : new F.TinyFaceDetectorOptions();
    const job = {
      prepare: (0, eval)(canvasOf),
      run: async (c: HTMLCanvasElement) => (await F.detectAllFaces(c, options).withFaceLandmarks().withFaceDescriptors()).length,
    };
    const res = await ((0, eval)(timer) as (j: unknown, u: string[], n: number) => Promise<{ ms: number; faces: number }[]>)(job, urls, n);
    return res.map((r) => ({ ...r, threads: F.tf.getThreadsCount?.() ?? t, backend: F.tf.getBackend() }));
  }, [TIMER, CANVAS_OF, images, iters, threads, detector] as const);
}

// an empty page of the same origin (cross-origin isolated like the rest) for the peers
const blank = mkdtempSync(join(tmpdir(), 'faceprint-peers-'));
writeFileSync(join(blank, 'index.html'), '<!doctype html><title>peers</title>');
const site = await startStaticServer([
  ['/peers-blank/', blank],
  ['/peers/human/', join(NM, '@vladmandic/human')], ['/peers/face-api/', join(NM, '@vladmandic/face-api')],
  ['/peers/tfjs-wasm/', join(NM, '@tensorflow/tfjs-backend-wasm/dist')], ['/bench-models/', resolve(values.models)],
]);
const browser = await launchChromium();
const rows: { threads: number; who: string; image: string; ms: number; faces: number; perFace: number }[] = [];
try {
  for (const threads of values.threads.split(',').map(Number)) {
    const fp = `threads=${threads}`;
    const contenders: [string, (p: Page) => Promise<Timing[]>][] = [
      ['faceprint (exact: det 640×640, FP32)', (p) => faceprint(p, site.url, `detector=/models/det_500m.onnx&recognizer=/models/mobilefacenet.onnx&${fp}`)],
      ['faceprint (det sized to the image, FP32)', (p) => faceprint(p, site.url, `detector=/models/det_500m.onnx&recognizer=/models/mobilefacenet.onnx&detInput=image&${fp}`)],
      ['faceprint (det sized to the image, INT8)', (p) => faceprint(p, site.url, `detector=/bench-models/det500m-int8.onnx&recognizer=/bench-models/mbf-int8.onnx&detInput=image&${fp}`)],
      ['faceprint w600k_r50 replica FP32 (det sized, INT8)', (p) => faceprint(p, site.url, `detector=/bench-models/det500m-int8.onnx&recognizer=/bench-models/r50.onnx&detInput=image&${fp}`)],
      ['faceprint w600k_r50 replica INT8 (det sized, INT8)', (p) => faceprint(p, site.url, `detector=/bench-models/det500m-int8.onnx&recognizer=/bench-models/r50-int8.onnx&detInput=image&${fp}`)],
      ['human 3.3.6', (p) => human(p, site.url, threads)],
      ['face-api 1.7.15 (SSD MobileNet)', (p) => faceApi(p, site.url, threads, 'ssd')],
      ['face-api 1.7.15 (tiny detector)', (p) => faceApi(p, site.url, threads, 'tiny')],
    ];
    for (const [who, run] of contenders) {
      // a context of its own: no two contenders' WASM threads at once
      const context = await browser.newContext();
      await context.addInitScript('globalThis.__name = (f) => f');
      const page = await context.newPage();
      const result = await run(page);
      await context.close();
      result.forEach((r, i) => {
        rows.push({ threads, who, image: images[i].split('/').pop()!, ms: r.ms, faces: r.faces, perFace: r.ms / Math.max(1, r.faces) });
        process.stderr.write(`${threads} thread(s) ${who.padEnd(52)} ${images[i].split('/').pop()!.padEnd(28)} ${r.faces} faces ${r.ms.toFixed(1)} ms  ${(r.ms / Math.max(1, r.faces)).toFixed(1)} ms/face\n`);
      });
    }
  }
} finally {
  await browser.close();
  await site.close();
}

console.log('| threads | contender | image | faces found | ms per image | ms per face | fastest peer ÷ this |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const peers = rows.filter((x) => x.threads === r.threads && x.image === r.image && !x.who.startsWith('faceprint'));
  const fastest = Math.min(...peers.map((x) => x.perFace));
  console.log(`| ${r.threads} | ${r.who} | ${r.image} | ${r.faces} | ${r.ms.toFixed(1)} | ${r.perFace.toFixed(1)} | ${(fastest / r.perFace).toFixed(2)}× |`);
}
