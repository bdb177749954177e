import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { enrolThroughPage, greenPixels, launchChromium, showView } from './helpers/chromium.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';
import { api, startTestServer, type TestServer } from './helpers/server.js';

const BBT = join(SHARED, 'faces/identities/bbt');
const photo = (person: string, n: number) => join(BBT, person, `${person}${n}.png`);
const GROUP = join(SHARED, 'faces/groups/insightface/t1.jpg');

let s: TestServer;
let browser: Browser;
let page: Page;

before(async () => {
  s = await startTestServer({ singleUser: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
  await page.goto(s.url + '/');
  await page.waitForSelector('body[data-ready="true"]');
});
after(async () => {
  await browser?.close();
  await s?.close();
});

test('the page is served at / and shows the server mode', async () => {
  assert.equal(await page.textContent('#mode'), 'server');
  assert.match((await page.textContent('#status')) ?? '', /mobilefacenet\.onnx · single-user/);
  assert.equal(await page.isHidden('#key-box'), true);
});

test('detect: upload a group photo, boxes drawn', async () => {
  await showView(page, 'detect');
  await page.setInputFiles('#analyze-file', GROUP);
  await page.waitForFunction(() => /faces? in/.test(document.getElementById('analyze-result')!.textContent ?? ''));
  const expected = (await s.analyzer.analyze(GROUP)).length;
  assert.equal(await page.textContent('#analyze-result'), `${expected} faces in 1280×886`);
  const shot = await page.locator('#analyze-canvas').screenshot();
  assert.ok((await greenPixels(shot)) > 100 * expected, 'too few box pixels in the canvas');
});

test('enrol two people, identify a third photo, compare two photos, list people', async () => {
  for (const person of ['amy', 'penny']) {
    assert.match(await enrolThroughPage(page, person, [1, 2, 3].map((n) => photo(person, n))), new RegExp(`^enrolled 3 photos of ${person} \\(now 3\\)`));
  }
  assert.deepEqual(await page.$$eval('#subjects-list li', (lis) => lis.map((li) => (li as HTMLElement).dataset.subject)), ['amy', 'penny']);

  await showView(page, 'identify');
  await page.fill('#identify-threshold', '0.3');
  await page.setInputFiles('#identify-file', photo('penny', 5));
  await page.waitForFunction(() => /penny|unknown|no face/.test(document.getElementById('identify-result')!.textContent ?? ''));
  assert.match((await page.textContent('#identify-result')) ?? '', /^penny 0\.\d\d \(threshold 0\.30, given\)$/);
  const shot = await page.locator('#identify-canvas').screenshot();
  assert.ok((await greenPixels(shot)) > 300, 'no box or label drawn on the identify canvas');

  await showView(page, 'compare');
  await page.fill('#compare-threshold', '0.3');
  await page.setInputFiles('#compare-a', photo('amy', 4));
  await page.setInputFiles('#compare-b', photo('amy', 5));
  await page.click('#compare-submit');
  await page.waitForFunction(() => /person|people|:/.test(document.getElementById('compare-result')!.textContent ?? ''));
  assert.match((await page.textContent('#compare-result')) ?? '', /^same person: cosine 0\.\d+/);

  // the score on a bar in the decision's colour, and the two faces as the recognizer sees them
  assert.equal(await page.isVisible('#compare-meter.same'), true);
  await page.waitForFunction(() => document.querySelectorAll('#compare-crops canvas').length === 2);
});

test('first hour: the threshold fields show the known model\'s threshold in force, and decisions use it with no extra step', async () => {
  const fresh = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
  try {
    await fresh.goto(s.url + '/');
    await fresh.waitForSelector('body[data-ready="true"]');
    await fresh.waitForFunction(() => (document.getElementById('identify-threshold') as HTMLInputElement).value !== '');
    assert.equal(await fresh.inputValue('#identify-threshold'), '0.27');
    assert.equal(await fresh.inputValue('#compare-threshold'), '0.27');
    assert.equal(await fresh.inputValue('#cluster-distance'), '0.73');
    assert.match((await fresh.textContent('#threshold-basis')) ?? '', /^threshold 0\.27: known model mobilefacenet\.onnx .*Auto detection/);
    await fresh.setInputFiles('#identify-file', photo('penny', 4));
    await fresh.waitForFunction(() => /penny|unknown|no face|:/.test(document.getElementById('identify-result')!.textContent ?? ''));
    assert.match((await fresh.textContent('#identify-result')) ?? '', /^penny 0\.\d\d \(threshold 0\.27, known model\)$/);
    // an enrolment whose photos are all refused explains itself and leaves no empty person behind
    const refused = await enrolThroughPage(fresh, 'ghost', [join(SHARED, 'faces/negatives/debian/apple.jpg')]);
    assert.match(refused, /^ENROLL_REFUSED: no usable face to enrol "ghost"/);
    assert.equal((await api(s.url, 'GET', '/v1/subjects/ghost')).status, 404);
  } finally {
    await fresh.close();
  }
});

/** Pixels of pure orange (the unknown-face boxes) in a PNG screenshot. */
async function orangePixels(png: Buffer): Promise<number> {
  const { data, info } = await (await import('sharp')).default(png).raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) if (data[i] > 240 && data[i + 1] > 112 && data[i + 1] < 144 && data[i + 2] < 16) n++;
  return n;
}

test('identify: matches green, unknown faces dashed orange; a new threshold updates the result; an error clears the drawing; drop a photo', async () => {
  assert.equal(await page.getAttribute('#mode-server', 'aria-pressed'), 'true', 'the mode switch shows which mode is on');
  await showView(page, 'identify');
  await page.fill('#identify-threshold', '0.3');
  await page.setInputFiles('#identify-file', photo('penny', 4));
  await page.waitForFunction(() => /^penny .*0\.30/.test(document.getElementById('identify-result')!.textContent ?? ''));
  let shot = await page.locator('#identify-canvas').screenshot();
  const matched = { green: await greenPixels(shot), orange: await orangePixels(shot) };
  assert.ok(matched.green > 300, 'a match is green');
  // a threshold no one reaches: the same photo, re-identified at once, is unknown and drawn orange
  await page.fill('#identify-threshold', '0.99');
  await page.dispatchEvent('#identify-threshold', 'change');
  await page.waitForFunction(() => /^unknown \(threshold 0\.99, given\)$/.test(document.getElementById('identify-result')!.textContent ?? ''));
  shot = await page.locator('#identify-canvas').screenshot();
  const unknown = { green: await greenPixels(shot), orange: await orangePixels(shot) };
  assert.ok(unknown.orange > matched.orange + 200 && unknown.green < matched.green - 200, `an unknown face is orange, not green: ${JSON.stringify({ matched, unknown })}`);
  // an error leaves no stale drawing
  await page.setInputFiles('#identify-file', { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a picture') });
  await page.waitForFunction(() => document.getElementById('identify-result')!.classList.contains('error'));
  assert.equal(await page.evaluate(() => (document.getElementById('identify-canvas') as HTMLCanvasElement).width), 0);
  // a photo dropped on the panel is identified like a chosen one
  const bytes = [...readFileSync(photo('penny', 5))];
  await page.fill('#identify-threshold', '0.3');
  await page.evaluate((data) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], 'dropped.png', { type: 'image/png' }));
    document.getElementById('identify')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, bytes);
  await page.waitForFunction(() => /^penny /.test(document.getElementById('identify-result')!.textContent ?? ''));
  // every control has a name for screen readers
  const unnamed = await page.$$eval('input, button', (els) => els.filter((el) => {
    const id = el.id;
    const labelled = el.getAttribute('aria-label') || el.closest('label') || (id && document.querySelector(`label[for="${id}"]`)) || (el.tagName === 'BUTTON' && el.textContent?.trim());
    return !labelled && !(el as HTMLElement).hidden && (el as HTMLInputElement).type !== 'hidden';
  }).map((el) => el.id || el.outerHTML.slice(0, 60)));
  assert.deepEqual(unnamed, []);
});

test('group unknown photos into people, name a group', async () => {
  const people = ['howard', 'raj', 'sheldon'];
  await showView(page, 'group');
  await page.fill('#cluster-distance', '0.6');
  await page.setInputFiles('#cluster-files', people.flatMap((p) => [1, 2, 3, 4, 5].map((n) => photo(p, n))));
  await page.click('#cluster-submit');
  await page.waitForFunction(() => /groups?,|:/.test(document.getElementById('cluster-result')!.textContent ?? ''));
  assert.match((await page.textContent('#cluster-result')) ?? '', /^3 groups, 0 faces on their own$/);
  const first = page.locator('#clusters-list li').first();
  assert.match((await first.textContent()) ?? '', /^person 1: 5 faces \((howard|raj|sheldon)\d\.png/);
  await first.locator('input').fill('first-group');
  await first.locator('button').click();
  await page.waitForFunction(() => /first-group: 5 faces/.test(document.getElementById('cluster-result')!.textContent ?? ''));
  await page.waitForFunction(() => document.querySelectorAll('#clusters-list li').length === 2);
  assert.ok((await page.$$eval('#subjects-list li', (lis) => lis.map((li) => (li as HTMLElement).dataset.subject))).includes('first-group'));
});

test('errors are shown, not thrown: a non-image upload', async () => {
  await page.setInputFiles('#analyze-file', { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a picture') });
  await page.waitForFunction(() => document.getElementById('analyze-result')!.classList.contains('error'));
  assert.match((await page.textContent('#analyze-result')) ?? '', /^IMAGE_UNSUPPORTED: /);
});

test('a server with keys: the page asks for one; without it calls fail with UNAUTHORIZED, with a write key they work', async () => {
  const keyed = await startTestServer();
  const p = await browser.newPage();
  try {
    await p.goto(keyed.url + '/');
    await p.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    assert.equal(await p.isVisible('#key-box'), true);
    assert.doesNotMatch((await p.textContent('#status')) ?? '', /single-user/);
    await p.setInputFiles('#analyze-file', photo('amy', 1));
    await p.waitForFunction(() => document.getElementById('analyze-result')!.classList.contains('error'));
    assert.match((await p.textContent('#analyze-result')) ?? '', /^UNAUTHORIZED: /);
    await p.fill('#api-key', keyed.key.write);
    await p.dispatchEvent('#api-key', 'change');
    assert.match(await enrolThroughPage(p, 'amy', [1, 2].map((n) => photo('amy', n))), /^enrolled 2 photos of amy/);
    // the key lives as long as the tab: sessionStorage, never localStorage
    assert.equal(await p.evaluate(() => sessionStorage.getItem('faceprint.apiKey')), keyed.key.write);
    assert.equal(await p.evaluate(() => localStorage.getItem('faceprint.apiKey')), null);
  } finally {
    await p.close();
    await keyed.close();
  }
});

test('on-device mode on the served page works under its Content-Security-Policy: no violation, WASM threads on', async () => {
  const p = await browser.newPage();
  const violations: string[] = [];
  p.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  try {
    await p.goto(s.url + '/');
    await p.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    await p.evaluate(() => document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to: ${e.violatedDirective} ${e.blockedURI}`)));
    await p.click('#mode-device');
    await p.setInputFiles('#model-detector-file', DET_500M);
    await p.setInputFiles('#model-recognizer-file', MOBILEFACENET);
    await p.click('#models-load');
    await p.waitForFunction(() => /loaded in|Error|error/.test(document.getElementById('models-result')!.textContent ?? ''), undefined, { timeout: 60_000 });
    assert.match((await p.textContent('#models-result')) ?? '', /loaded in .*WASM threads on/);
    assert.equal(await p.textContent('#mode'), 'on-device');
    await p.setInputFiles('#analyze-file', GROUP);
    await p.waitForFunction(() => /faces? in/.test(document.getElementById('analyze-result')!.textContent ?? ''), undefined, { timeout: 60_000 });
    assert.equal(await p.textContent('#analyze-result'), '6 faces in 1280×886');
    assert.deepEqual(violations, []);
  } finally {
    await p.close();
  }
});
