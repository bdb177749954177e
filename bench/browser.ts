/**
 * On-device speed: ms per face of the whole pipeline (detect → align → embed, from decoded pixels) in headless
 * Chromium (Debian's) on onnxruntime-web WASM with 1 and 2 threads, against Node (onnxruntime-node) with the same
 * thread counts, same models, same images, same run. Goal: Chromium ≤ 3× Node.
 *
 *   node --import tsx bench/browser.ts [--iters 20] [--images t1.jpg,lfw]
 *
 * Needs the built page (npm run build) and /usr/bin/chromium.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { FaceAnalyzer } from '../src/node/index.js';
import { time } from '../src/node/bench.js';
import { DET_500M, MOBILEFACENET, SHARED } from '../test/fixtures.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { startStaticServer } from '../test/helpers/static-server.js';

const { values } = parseArgs({ options: { iters: { type: 'string', default: '20' }, threads: { type: 'string', default: '1,2' } } });
const iters = Number(values.iters);
const lfwPerson = readdirSync(join(SHARED, 'lfw/images')).sort()[0];
const images = [
  join(SHARED, 'faces/groups/insightface/t1.jpg'),
  join(SHARED, 'lfw/images', lfwPerson, readdirSync(join(SHARED, 'lfw/images', lfwPerson)).sort()[0]),
];

/** Median ms of the detector (letterbox + run + decode) and of one recognizer run over all the image's crops. */
interface Stages { detect: number; embedAll: number }

async function nodeMsPerFace(threads: number, image: string): Promise<{ ms: number; faces: number; stages: Stages }> {
  const fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET, intraOpNumThreads: threads });
  try {
    const pixels = await fa.decode(image);
    const faces = (await fa.core.analyze(pixels)).length;
    const crops = (await fa.core.analyze(pixels, { includeCrops: true })).map((f) => f.crop!);
    const whole = await time(iters, 3, () => fa.core.analyze(pixels));
    const detect = await time(iters, 0, () => fa.core.detector.detect(pixels));
    const embedAll = await time(iters, 0, () => fa.core.recognizer!.embedRaw(crops));
    return { ms: whole.median / faces, faces, stages: { detect: detect.median, embedAll: embedAll.median } };
  } finally {
    await fa.close();
  }
}

// Node first, then Chromium with its worker threads gone between settings: neither measures beside the other.
const nodeMs = new Map<string, { ms: number; faces: number; stages: Stages }>();
for (const threads of values.threads.split(',').map(Number)) for (const image of images) nodeMs.set(`${threads}:${image}`, await nodeMsPerFace(threads, image));

const site = await startStaticServer();
const browser = await launchChromium();
const rows: { threads: number; image: string; faces: number; node: number; chromium: number; nodeStages: Stages; chromiumStages: Stages }[] = [];
try {
  for (const threads of values.threads.split(',').map(Number)) {
    const context = await browser.newContext();
    await context.addInitScript('globalThis.__name = (f) => f'); // tsx's keepNames helper
    const page = await context.newPage();
    await page.goto(`${site.url}/?detector=/models/det_500m.onnx&recognizer=/models/mobilefacenet.onnx&threads=${threads}`);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
    for (const image of images) {
      const url = `/fixtures/${relative(SHARED, image)}`;
      const inPage = await page.evaluate(async ([u, n]) => {
        const fa = (window as any).faceprint.local.analyzer;
        const pixels = await fa.decode(await (await fetch(u)).blob());
        // warm-up long enough for V8's background tier-up of onnxruntime-web's WASM, which otherwise competes with
        // a second thread for 10 s and more (bench/peers.ts has the measurement)
        const warm = performance.now();
        for (let i = 0; i < 3 || performance.now() - warm < 20_000; i++) await fa.core.analyze(pixels);
        const times: number[] = [];
        let faces = 0;
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          faces = (await fa.core.analyze(pixels)).length;
          times.push(performance.now() - t0);
        }
        const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
        const crops = (await fa.core.analyze(pixels, { includeCrops: true })).map((f: any) => f.crop);
        const stage = async (f: () => Promise<unknown>): Promise<number> => {
          const t: number[] = [];
          for (let i = 0; i < n; i++) {
            const t0 = performance.now();
            await f();
            t.push(performance.now() - t0);
          }
          return mid(t);
        };
        const stages = { detect: await stage(() => fa.core.detector.detect(pixels)), embedAll: await stage(() => fa.core.recognizer.embedRaw(crops)) };
        return { ms: mid(times) / faces, faces, stages, isolated: self.crossOriginIsolated };
      }, [url, iters] as const);
      if (!inPage.isolated && threads > 1) throw new Error('page not cross-origin isolated: no WASM threads');
      const node = nodeMs.get(`${threads}:${image}`)!;
      rows.push({ threads, image: relative(SHARED, image), faces: inPage.faces, node: node.ms, chromium: inPage.ms, nodeStages: node.stages, chromiumStages: inPage.stages });
      console.log(`${threads} thread(s)  ${relative(SHARED, image).padEnd(44)} ${inPage.faces} face(s)  Node ${node.ms.toFixed(1)} ms/face  Chromium ${inPage.ms.toFixed(1)} ms/face  ratio ${(inPage.ms / node.ms).toFixed(2)}×` +
        `  | detector ${node.stages.detect.toFixed(1)} vs ${inPage.stages.detect.toFixed(1)} ms, recognizer on all crops ${node.stages.embedAll.toFixed(1)} vs ${inPage.stages.embedAll.toFixed(1)} ms`);
    }
    await context.close();
  }
} finally {
  await browser.close();
  await site.close();
}
console.log(JSON.stringify({ iters, rows }));
