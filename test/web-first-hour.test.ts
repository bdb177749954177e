// The page as a newcomer meets it under `serve` (issue: "The first hour, second pass"): the on-device mode runs
// the models the server offers, the mode switch says one thing, results do not leak between modes, a keyed
// server's header follows the key, and the layout holds at desktop and phone widths (screenshots in scratch/).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { labelLeft } from '../web/src/draw.js';
import { ROOT } from './helpers/cli.js';
import { enrolThroughPage, launchChromium, showView } from './helpers/chromium.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const BBT = join(SHARED, 'faces/identities/bbt');
const photo = (person: string, n: number) => join(BBT, person, `${person}${n}.png`);
const SHOTS = join(ROOT, 'scratch/screens');
mkdirSync(SHOTS, { recursive: true });
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let s: TestServer;
let browser: Browser;
before(async () => {
  s = await startTestServer({ singleUser: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await s?.close();
});

async function open(url: string, width = 1400, height = 1600): Promise<Page> {
  const p = await browser.newPage({ viewport: { width, height } });
  await p.goto(url + '/');
  await p.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return p;
}
const pressed = (p: Page) => Promise.all(['#mode-server', '#mode-device'].map((id) => p.getAttribute(id, 'aria-pressed')));

test('single-user serve offers its models to the page (sha256 in /v1/info); on-device mode loads them with no file picked', async () => {
  const info = await (await fetch(`${s.url}/v1/info`)).json() as { models: { role: string; url: string; sha256: string }[] };
  assert.deepEqual(info.models.map((m) => [m.role, m.url, m.sha256]), [
    ['detector', '/models/det_500m.onnx', sha256(DET_500M)],
    ['recognizer', '/models/mobilefacenet.onnx', sha256(MOBILEFACENET)],
  ]);
  assert.equal((await fetch(`${s.url}/models/..%2Fkeys.json`)).status, 404);
  const p = await open(s.url);
  try {
    // server mode first: a result, then the switch to a device without models yet
    await showView(p, 'detect');
    await p.setInputFiles('#analyze-file', photo('amy', 1));
    await p.waitForFunction(() => /face/.test(document.getElementById('analyze-result')!.textContent ?? ''));
    await p.click('#mode-device');
    assert.deepEqual(await pressed(p), ['false', 'true'], 'one mode button pressed');
    assert.equal(await p.textContent('#mode'), 'on-device: load models');
    assert.equal(await p.textContent('#status'), 'on this device: no models loaded yet');
    assert.equal(await p.textContent('#analyze-result'), '', 'the server\'s result is not left on screen');
    assert.match((await p.textContent('#models-offer')) ?? '', /offers its own models \(det_500m\.onnx, mobilefacenet\.onnx\)/);
    await p.click('#models-load');
    await p.waitForFunction(() => /loaded in|:/.test(document.getElementById('models-result')!.textContent ?? ''), undefined, { timeout: 60_000 });
    assert.match((await p.textContent('#models-result')) ?? '', /^loaded in .* mobilefacenet\.onnx, 128-d/);
    assert.equal(await p.textContent('#mode'), 'on-device');
    assert.equal(await p.textContent('#status'), 'on this device: mobilefacenet.onnx');
    // an on-device enrolment, then back to the server: its words do not stay beside the server's people
    assert.match(await enrolThroughPage(p, 'leonard', [photo('leonard', 1)]), /^enrolled 1 photo of leonard/);
    await p.click('#mode-server');
    assert.deepEqual(await pressed(p), ['true', 'false']);
    assert.equal(await p.textContent('#enrol-result'), '');
    assert.match((await p.textContent('#status')) ?? '', /^server models: mobilefacenet\.onnx · single-user$/);
  } finally {
    await p.close();
  }
});

test('a model copy that differs from the offered sha256 is refused', async () => {
  const p = await open(s.url);
  try {
    const bytes = readFileSync(DET_500M);
    bytes[bytes.length - 1] ^= 0xff;
    await p.route('**/models/det_500m.onnx', (route) => route.fulfill({ status: 200, body: bytes, contentType: 'application/octet-stream' }));
    await p.click('#mode-device');
    await p.click('#models-load');
    await p.waitForFunction(() => document.getElementById('models-result')!.classList.contains('error'), undefined, { timeout: 60_000 });
    assert.match((await p.textContent('#models-result')) ?? '', /sha256/i);
  } finally {
    await p.close();
  }
});

test('identify: choosing the same photo again after an enrolment answers anew', async () => {
  const keyless = await startTestServer({ singleUser: true });
  const p = await open(keyless.url);
  try {
    const choose = async () => {
      await showView(p, 'identify');
      const [chooser] = await Promise.all([p.waitForEvent('filechooser'), p.click('label[for="identify-file"]')]);
      await p.evaluate(() => { document.getElementById('identify-result')!.textContent = ''; });
      await chooser.setFiles(photo('amy', 5));
      await p.waitForFunction(() => /^[^…\s]/.test(document.getElementById('identify-result')!.textContent ?? ''));
      return (await p.textContent('#identify-result')) ?? '';
    };
    assert.match(await enrolThroughPage(p, 'penny', [1, 2, 3].map((n) => photo('penny', n))), /^enrolled 3/);
    assert.match(await choose(), /^unknown /);
    assert.match(await enrolThroughPage(p, 'amy', [1, 2, 3].map((n) => photo('amy', n))), /^enrolled 3/);
    assert.match(await choose(), /^amy 0\.\d\d /);
  } finally {
    await p.close();
    await keyless.close();
  }
});

test('a keyed server offers no models by default; its header asks for a key, then shows the threshold without a reload', async () => {
  const keyed = await startTestServer();
  const p = await open(keyed.url);
  try {
    assert.equal((await fetch(`${keyed.url}/models/mobilefacenet.onnx`)).status, 404);
    assert.equal(await p.textContent('#threshold-basis'), 'enter an API key to use this server');
    assert.match((await p.textContent('#models-offer')) ?? '', /^No models are offered here: pick the detector and recognizer \.onnx files/);
    await p.fill('#api-key', keyed.key.read);
    await p.dispatchEvent('#api-key', 'change');
    await p.waitForFunction(() => /^threshold /.test(document.getElementById('threshold-basis')!.textContent ?? ''));
    assert.match((await p.textContent('#threshold-basis')) ?? '', /^threshold 0\.27: known model mobilefacenet\.onnx/);
  } finally {
    await p.close();
    await keyed.close();
  }
});

test('layout at 1400 and 390 px: no blank webcam box, nothing wider than the screen, compare shows both photos', async () => {
  for (const [name, width] of [['desktop', 1400], ['phone', 390]] as const) {
    const p = await open(s.url, width, 1200);
    try {
      await showView(p, 'detect');
      assert.equal(await p.locator('#webcam').boundingBox(), null, `${name}: the hidden webcam takes no room`);
      await showView(p, 'compare');
      await p.fill('#compare-threshold', '0.3');
      await p.setInputFiles('#compare-a', photo('amy', 4));
      await p.setInputFiles('#compare-b', photo('penny', 4));
      await p.click('#compare-submit');
      await p.waitForFunction(() => /same person|different people|:/.test(document.getElementById('compare-result')!.textContent ?? ''));
      assert.match((await p.textContent('#compare-result')) ?? '', /^different people: /);
      for (const id of ['#compare-canvas-a', '#compare-canvas-b']) assert.ok(((await p.locator(id).boundingBox())?.height ?? 0) > 50, `${name}: ${id} shows the photo`);
      const overflow = await p.evaluate(() => ({ page: document.documentElement.scrollWidth, widest: Math.max(...[...document.querySelectorAll('section')].map((e) => e.getBoundingClientRect().right)) }));
      assert.ok(overflow.page <= width && overflow.widest <= width, `${name}: ${JSON.stringify(overflow)} within ${width} px`);
      await p.screenshot({ path: join(SHOTS, `page-${name}.png`), fullPage: true });
    } finally {
      await p.close();
    }
  }
});

test('a label at the picture\'s right edge moves left to stay whole', () => {
  assert.equal(labelLeft(600, 72, 640), 568);
  assert.equal(labelLeft(100, 72, 640), 100);
  assert.equal(labelLeft(10, 700, 640), 0);
});
