/**
 * Probe: the page on WebGPU (`?ep=webgpu`) in Debian's Chromium with the only adapter this machine has, SwiftShader
 * (software). Prints the faces and time on t1.jpg and each face's embedding cosine to Node's (WASM/Node are what the
 * tests check; this shows whether the WebGPU path can be trusted on a given machine).
 *
 *   node --import tsx bench/webgpu.ts      (needs npm run build and /usr/bin/chromium)
 */
import { join } from 'node:path';
import { FaceAnalyzer, cosine } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, SHARED } from '../test/fixtures.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { startStaticServer } from '../test/helpers/static-server.js';

const site = await startStaticServer();
const browser = await launchChromium(['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader']);
try {
  const context = await browser.newContext();
  await context.addInitScript('globalThis.__name = (f) => f'); // tsx's keepNames helper
  const page = await context.newPage();
  await page.goto(`${site.url}/?detector=/models/det_500m.onnx&recognizer=/models/mobilefacenet.onnx&ep=webgpu`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 });
  console.log(await page.textContent('#models-result'));
  const inPage = await page.evaluate(async () => {
    const fa = (window as any).faceprint.local.analyzer;
    const pixels = await fa.decode(await (await fetch('/fixtures/faces/groups/insightface/t1.jpg')).blob());
    const t0 = performance.now();
    const faces = await fa.core.analyze(pixels);
    return { ms: performance.now() - t0, embeddings: faces.map((f: any) => Array.from(f.embedding as Float32Array)) };
  });
  const node = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
  const reference = await node.analyze(join(SHARED, 'faces/groups/insightface/t1.jpg'));
  await node.close();
  const cosines = inPage.embeddings.slice(0, reference.length).map((e: number[], i: number) => cosine(Float32Array.from(e), reference[i].embedding!).toFixed(6));
  console.log(`WebGPU (SwiftShader): ${inPage.embeddings.length} faces (Node: ${reference.length}) in ${inPage.ms.toFixed(0)} ms; cosine to Node, face by face: ${cosines.join(' ')}`);
} finally {
  await browser.close();
  await site.close();
}
