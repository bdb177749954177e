// The console walked view by view, as a newcomer would use it (issue: "The page becomes a console"): a desktop
// (1280 px) and a phone (390 px), light and dark, the server's mode and this device's. Each view is asserted on
// what it shows (names, faces, the threshold in force) and on fitting the screen; screenshots go to
// scratch/screens/console-*.png.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ROOT } from './helpers/cli.js';
import { ENROL_DONE, greenPixels, launchChromium, showView, type ViewName } from './helpers/chromium.js';
import { MODELS, SHARED } from './fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const BBT = join(SHARED, 'faces/identities/bbt');
const BBT_PEOPLE = readdirSync(BBT).sort();
const CELEBS = join(SHARED, 'faces/identities/five_celebrity');
const photo = (person: string, n: number) => join(BBT, person, `${person}${n}.png`);
const celeb = (person: string) => readdirSync(join(CELEBS, person)).filter((f) => f.startsWith('train_')).sort().slice(0, 4).map((f) => join(CELEBS, person, f));
const CAST = join(SHARED, 'faces/groups/faceapi_bbt/bbt1.jpg');
const T1 = join(SHARED, 'faces/groups/insightface/t1.jpg');
const HEADS = ['1k3d68_replica.onnx', '2d106det_replica.onnx', 'genderage_replica.onnx'].map((f) => join(MODELS, 'heads', f));
const SHOTS = join(ROOT, 'scratch/screens');
mkdirSync(SHOTS, { recursive: true });
const EVERY_VIEW: ViewName[] = ['overview', 'detect', 'compare', 'people', 'identify', 'group', 'cameras', 'system', 'models'];

let s: TestServer;
let browser: Browser;
/** One browser profile for the desktop and the phone: they share IndexedDB (the thumbnails), as a user's tabs do. */
let profile: BrowserContext;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'faceprint-console-'));
  s = await startTestServer({ singleUser: true, headModels: HEADS, monitors: { secretFile: join(dir, 'monitor.key') } });
  browser = await launchChromium();
  profile = await browser.newContext();
});
after(async () => {
  await browser?.close();
  await s?.close();
});

async function open(width: number, scheme: 'light' | 'dark', path = '/'): Promise<Page> {
  const p = await profile.newPage();
  await p.setViewportSize({ width, height: width > 800 ? 900 : 844 });
  await p.emulateMedia({ colorScheme: scheme });
  await p.goto(s.url + path);
  await p.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return p;
}

const text = async (p: Page, selector: string) => (await p.textContent(selector)) ?? '';
const waitText = (p: Page, id: string, pattern: RegExp, timeout = 30_000) =>
  p.waitForFunction(([el, src]) => new RegExp(src).test(document.getElementById(el)!.textContent ?? ''), [id, pattern.source] as const, { timeout });

/** Nothing wider than the screen, in the view shown; a screenshot of it for people to look at. */
async function fits(p: Page, width: number, name: string): Promise<void> {
  const widths = await p.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    widest: Math.max(...[...document.querySelectorAll('section.view:not([hidden]) *')].map((e) => e.getBoundingClientRect().right)),
  }));
  assert.ok(widths.page <= width && widths.widest <= width + 0.5, `${name}: ${JSON.stringify(widths)} within ${width} px`);
  await p.evaluate(() => window.scrollTo(0, 0));
  await p.screenshot({ path: join(SHOTS, `console-${name}.png`), fullPage: true });
}

test('server, desktop, light: enrol the bbt people from a folder, open a person, identify the cast, detect, compare, group, cameras, system', async () => {
  const p = await open(1280, 'light');
  try {
    // the frame: the views of server mode in the sidebar, Overview first, the threshold in force above every view
    assert.deepEqual(await p.$$eval('#nav a:not([hidden])', (as) => as.map((a) => a.textContent)), ['Overview', 'Detect', 'Compare', 'People', 'Identify', 'Group', 'Cameras', 'System']);
    assert.equal(await p.getAttribute('#nav a[href="#/overview"]', 'aria-current'), 'page');
    assert.match(await text(p, '#threshold-basis'), /^threshold 0\.27: known model mobilefacenet\.onnx/);
    assert.match(await text(p, '#overview-state'), /statereadyaccesssingle-user \(no keys\)recognizermobilefacenet\.onnx/);
    assert.match(await text(p, '#overview-state'), /detector: det_500m\.onnx .*sha256 [0-9a-f]{16}…/);
    assert.match(await text(p, '#overview-state'), /execution providerscpu.*storesqlite.*detectionAuto: 128 \+ 640 px.*threshold in forcethreshold 0\.27/);
    assert.deepEqual(await p.$$eval('#overview-counts .tile', (ts) => ts.map((t) => t.textContent)), ['0people', '0faces', '0groups', '0cameras']);
    await fits(p, 1280, 'server-1280-overview');

    // People: a folder with one sub-folder per person enrols everyone, with progress, person by person
    await showView(p, 'people');
    await p.setInputFiles('#enrol-folder', BBT);
    assert.equal(await text(p, '#enrol-result'), `8 people from the folder: ${BBT_PEOPLE.map((n) => `${n} (5)`).join(', ')}`);
    await p.click('#enrol-submit');
    await waitText(p, 'enrol-result', ENROL_DONE, 120_000);
    assert.equal(await text(p, '#enrol-result'), 'enrolled 40 photos of 8 people');
    await p.waitForFunction(() => document.querySelectorAll('#subjects-list li').length === 8);
    assert.deepEqual(await p.$$eval('#subjects-list li', (lis) => lis.map((li) => li.textContent)), BBT_PEOPLE.map((n) => `${n}5 faces`));
    // each person's picture is one of their faces, cut from the photos the page sent
    await p.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#subjects-list img.avatar')].filter((i) => i.complete && i.naturalWidth === 96).length === 8);
    await p.fill('#people-search', 'ra');
    // the grid is drawn again with its pictures: wait for it, then look
    await p.waitForFunction(() => document.querySelectorAll('#subjects-list li').length === 1);
    assert.deepEqual(await p.$$eval('#subjects-list li', (lis) => lis.map((li) => li.dataset.subject)), ['raj']);
    await p.fill('#people-search', '');
    await p.waitForFunction(() => document.querySelectorAll('#subjects-list li').length === 8);
    // photos dropped on a person go to that person; a refused one is shown with its reason and the photo itself
    const apple = [...readFileSync(join(SHARED, 'faces/negatives/debian/apple.jpg'))];
    await p.evaluate((data) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(data)], 'apple.jpg', { type: 'image/jpeg' }));
      document.querySelector('#subjects-list li[data-subject="penny"]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, apple);
    await waitText(p, 'enrol-refused', /apple\.jpg/);
    assert.match(await text(p, '#enrol-refused li'), /^apple\.jpg: NO_FACE — /);
    // its picture stays whole after the grid is drawn again
    await p.waitForFunction(() => (document.querySelector<HTMLImageElement>('#enrol-refused li img[alt="apple.jpg"]')?.naturalWidth ?? 0) > 0);
    await fits(p, 1280, 'server-1280-people');

    // a person's page: their five faces, one removed, a rename; stuart deleted after the page's own confirmation
    await p.click('#subjects-list li[data-subject="amy"] a');
    await p.waitForSelector('#person:not([hidden])');
    await p.waitForFunction(() => document.querySelectorAll('#person-faces li img').length === 5);
    assert.match(p.url(), /#\/people\/[^/]+$/, 'a person has a URL');
    await p.click('#person-faces li:first-child button');
    await waitText(p, 'person-result', /^face removed/);
    assert.equal(await text(p, '#person-result'), 'face removed (now 4)');
    await p.waitForFunction(() => document.querySelectorAll('#person-faces li').length === 4);
    await p.fill('#person-rename', 'Amy Farrah Fowler');
    await p.click('#person-rename-submit');
    await waitText(p, 'person-result', /^renamed/);
    assert.equal(await text(p, '#person-name'), 'Amy Farrah Fowler — 4 faces');
    await fits(p, 1280, 'server-1280-person');
    await showView(p, 'people');
    await p.click('#subjects-list li[data-subject="stuart"] a');
    await p.waitForFunction(() => /^stuart — 5 faces$/.test(document.getElementById('person-name')!.textContent ?? ''));
    await p.click('#person-delete');
    await p.waitForSelector('#confirm[open]');
    assert.match(await text(p, '#confirm-text'), /^Delete stuart and 5 faces\?/);
    await p.click('#confirm button[value="ok"]');
    await p.waitForSelector('#people-all:not([hidden])');
    await p.waitForFunction(() => document.querySelectorAll('#subjects-list li').length === 7);
    assert.equal((await fetch(`${s.url}/v1/subjects/stuart`)).status, 404);

    // Identify: the cast photo, every enrolled face named in green, candidates per face
    await showView(p, 'identify');
    assert.equal(await p.inputValue('#identify-threshold'), '0.27');
    await p.setInputFiles('#identify-file', CAST);
    await waitText(p, 'identify-result', /threshold/);
    assert.match(await text(p, '#identify-result'), /^sheldon 0\.\d\d, leonard 0\.\d\d, raj 0\.\d\d, howard 0\.\d\d, unknown \(threshold 0\.27, known model\)$/);
    assert.equal(await p.locator('#identify-faces li.face-card').count(), 5);
    assert.deepEqual(await p.$$eval('#identify-faces li.face-card', (cs) => cs.map((c) => c.querySelectorAll('.candidates li').length)), [3, 3, 3, 3, 3]);
    assert.match(await text(p, '#identify-faces li.face-card:first-child .candidates li:first-child'), /^sheldon 0\.\d{3}$/);
    assert.ok((await greenPixels(await p.locator('#identify-canvas').screenshot())) > 4 * 300, 'four green boxes');
    await fits(p, 1280, 'server-1280-identify');
    // stuart is no one now: named from here, his face cut from the photo and enrolled
    await p.setInputFiles('#identify-file', photo('stuart', 5));
    await waitText(p, 'identify-result', /^unknown \(threshold/);
    await p.fill('#identify-faces li.face-card:first-child input', 'stuart');
    await p.click('#identify-faces li.face-card:first-child button');
    await waitText(p, 'identify-faces', /enrolled this face as stuart/);
    assert.match(await text(p, '#identify-faces li.face-card:first-child'), /enrolled this face as stuart \(now 1 face\)/);
    assert.equal((await (await fetch(`${s.url}/v1/subjects/stuart`)).json() as { faceCount: number }).faceCount, 1);

    // Detect: boxes, and per face its aligned crop, score and the heads' outputs; the JSON one click away
    await showView(p, 'detect');
    await p.setInputFiles('#analyze-file', T1);
    await waitText(p, 'analyze-result', /faces? in/);
    assert.equal(await text(p, '#analyze-result'), '6 faces in 1280×886');
    const cards = await p.$$eval('#analyze-faces li.face-card', (cs) => cs.map((c) => {
      const crop = c.querySelector('canvas')!;
      const px = crop.getContext('2d')!.getImageData(0, 0, crop.width, crop.height).data;
      let lo = 255;
      let hi = 0;
      for (let i = 0; i < px.length; i += 4) { lo = Math.min(lo, px[i + 1]); hi = Math.max(hi, px[i + 1]); }
      return { size: `${crop.width}×${crop.height}`, contrast: hi - lo, words: c.textContent };
    }));
    assert.equal(cards.length, 6);
    for (const c of cards) {
      assert.equal(c.size, '112×112');
      assert.ok(c.contrast > 80, `an aligned crop shows a face, not a blank (${c.contrast})`);
      assert.match(c.words ?? '', /^#\d  score 0\.\d\d  ·  [FM] \d+ · yaw -?\d+° pitch -?\d+° roll -?\d+° · 106 points$/);
    }
    await p.click('#analyze-json-box summary');
    const answer = JSON.parse(await text(p, '#analyze-json')) as { width: number; faces: { landmark2d106: unknown[] }[] };
    assert.equal(answer.faces.length, 6);
    assert.equal(answer.faces[0].landmark2d106.length, 106);
    await fits(p, 1280, 'server-1280-detect');

    // Compare: both photos, both crops, the score on a bar with the threshold marked, the decision in words
    await showView(p, 'compare');
    await p.setInputFiles('#compare-a', photo('penny', 4));
    await p.setInputFiles('#compare-b', photo('penny', 5));
    await waitText(p, 'compare-result', /person|people/);
    assert.match(await text(p, '#compare-result'), /^same person: cosine 0\.\d{3} \(threshold 0\.270, known model/);
    assert.equal(await p.getAttribute('#compare-meter', 'aria-label'), 'Same person');
    assert.equal(await text(p, '#compare-decision'), 'Same person');
    assert.equal(await p.$eval('#compare-meter .meter-mark', (m) => (m as HTMLElement).style.left), '27%');
    await p.waitForFunction(() => document.querySelectorAll('#compare-crops canvas').length === 2);
    await fits(p, 1280, 'server-1280-compare');

    // Group: photos of two people no one enrolled; each group a grid of its faces, one made a person
    await showView(p, 'group');
    await p.fill('#cluster-distance', '0.6');
    await p.setInputFiles('#cluster-files', [...celeb('madonna'), ...celeb('mindy_kaling')]);
    await p.click('#cluster-submit');
    await waitText(p, 'cluster-result', /groups?,|: /);
    assert.match(await text(p, '#cluster-result'), /^2 groups, 0 faces on their own$/);
    const groups = await p.$$eval('#clusters-list > li', (lis) => lis.map((li) => [...li.querySelectorAll('canvas')].map((c) => c.getAttribute('aria-label')!)));
    assert.deepEqual(groups.map((g) => g.length), [4, 4]);
    for (const g of groups) assert.equal(new Set(g.map((name) => celeb('madonna').some((f) => f.endsWith(name)) ? 'madonna' : 'mindy')).size, 1, 'one person a group');
    await p.fill('#clusters-list > li:first-child input', 'first group');
    await p.click('#clusters-list > li:first-child button');
    await waitText(p, 'cluster-result', /^first group: 4 faces$/);
    await fits(p, 1280, 'server-1280-group');

    // Cameras and System, in the same frame
    await showView(p, 'cameras');
    await waitText(p, 'cameras-result', /^no cameras yet/);
    await fits(p, 1280, 'server-1280-cameras');
    await showView(p, 'system');
    await waitText(p, 'system-facts', /up for/);
    assert.match(await text(p, '#system-facts'), /versionsfaceprint 0\.1\.0Node v\d+\.\d+\.\d+ONNX Runtime 1\.30\.0ffmpeg \S+/);
    assert.match(await text(p, '#system-facts'), /modelsdetector: det_500m\.onnx .*recognizer: mobilefacenet\.onnx .*head: /);
    assert.match(await text(p, '#system-facts'), /storesqlite: 9 people, \d+ KiB/);
    await fits(p, 1280, 'server-1280-system');
    // an error on the way (a file that is no picture) is said in words with its code, and listed on the Overview
    await showView(p, 'detect');
    await p.setInputFiles('#analyze-file', { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a picture') });
    await p.waitForSelector('#analyze-result.error code.code');
    assert.match(await text(p, '#analyze-result'), /^IMAGE_UNSUPPORTED: /);
    // the overview counts what was done
    await showView(p, 'overview');
    assert.match(await text(p, '#overview-errors li'), /^\d.*IMAGE_UNSUPPORTED: /);
    await p.waitForFunction(() => document.querySelector('#overview-counts .tile')?.textContent === '9people');
    assert.deepEqual(await p.$$eval('#overview-counts .tile', (ts) => ts.map((t) => t.textContent)), ['9people', '39faces', '1groups', '0cameras']);
  } finally {
    await p.close();
  }
});

test('server, phone, dark: the menu collapses, every view fits 390 px, the same people with their faces', async () => {
  const p = await open(390, 'dark');
  try {
    assert.equal(await p.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(15, 18, 23)', 'the dark theme follows the system');
    assert.equal(await p.isVisible('#nav'), false, 'the views are behind the menu on a phone');
    await p.click('#nav-toggle');
    assert.equal(await p.getAttribute('#nav-toggle', 'aria-expanded'), 'true');
    await p.click('#nav a[href="#/people"]');
    await p.waitForSelector('section#people:not([hidden])');
    assert.equal(await p.isVisible('#nav'), false, 'choosing a view closes the menu');
    await p.waitForFunction(() => document.querySelectorAll('#subjects-list li').length === 9);
    await p.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#subjects-list img.avatar')].filter((i) => i.naturalWidth === 96).length === 9);
    for (const view of EVERY_VIEW.filter((v) => v !== 'models')) {
      await showView(p, view);
      if (view === 'identify') {
        await p.setInputFiles('#identify-file', CAST);
        await waitText(p, 'identify-result', /threshold/);
        assert.match(await text(p, '#identify-result'), /^sheldon 0\.\d\d, leonard/);
      }
      await fits(p, 390, `server-390-${view}`);
    }
  } finally {
    await p.close();
  }
});

test('on this device, desktop dark and phone light: models loaded from the server\'s offer, people enrolled and identified in the page, no server-only views', async () => {
  const p = await open(1280, 'dark');
  try {
    await p.click('#mode-device');
    await p.waitForSelector('section#models:not([hidden])');
    await p.click('#models-load');
    await waitText(p, 'models-result', /loaded in|: /, 60_000);
    assert.match(await text(p, '#models-result'), /^loaded in .* mobilefacenet\.onnx, 128-d/);
    assert.deepEqual(await p.$$eval('#nav a:not([hidden])', (as) => as.map((a) => a.textContent)), ['Overview', 'Detect', 'Compare', 'People', 'Identify', 'Group', 'Models']);
    await showView(p, 'people');
    assert.equal(await p.locator('#subjects-list li').count(), 0, 'the server\'s people are not this device\'s');
    await p.setInputFiles('#enrol-folder', join(BBT, 'penny'));
    assert.equal(await p.inputValue('#enrol-name'), 'penny', 'a folder of one person names them');
    await p.click('#enrol-submit');
    await waitText(p, 'enrol-result', ENROL_DONE, 60_000);
    assert.equal(await text(p, '#enrol-result'), 'enrolled 5 photos of penny (now 5)');
    await p.waitForFunction(() => (document.querySelector<HTMLImageElement>('#subjects-list li[data-subject="penny"] img.avatar')?.naturalWidth ?? 0) === 96);
    await fits(p, 1280, 'device-1280-people');
    await showView(p, 'identify');
    await p.setInputFiles('#identify-file', photo('penny', 5));
    await waitText(p, 'identify-result', /threshold/, 60_000);
    assert.match(await text(p, '#identify-result'), /^penny 0\.\d\d \(threshold 0\.27, known model\)$/);
    await fits(p, 1280, 'device-1280-identify');
    await showView(p, 'detect');
    await p.setInputFiles('#analyze-file', T1);
    await waitText(p, 'analyze-result', /faces? in/, 60_000);
    assert.equal(await p.locator('#analyze-faces li.face-card canvas').count(), 6);
    await fits(p, 1280, 'device-1280-detect');
    await showView(p, 'overview');
    await waitText(p, 'overview-state', /mobilefacenet/);
    assert.match(await text(p, '#overview-state'), /^stateOn this device: .*recognizermobilefacenet\.onnxembedding128-dthreshold in forcethreshold 0\.27/);
    assert.deepEqual(await p.$$eval('#overview-counts .tile', (ts) => ts.map((t) => t.textContent)), ['1people', '5faces', '0groups']);
    // a server-only view asked for by URL falls back to the overview
    await p.evaluate(() => { location.hash = '#/cameras'; });
    await p.waitForSelector('section#overview:not([hidden])');

    // the phone, light, in the same mode
    await p.setViewportSize({ width: 390, height: 844 });
    await p.emulateMedia({ colorScheme: 'light' });
    assert.equal(await p.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(244, 245, 247)');
    for (const view of ['overview', 'detect', 'compare', 'people', 'identify', 'group', 'models'] as const) {
      await showView(p, view);
      await fits(p, 390, `device-390-${view}`);
    }
    assert.equal(await p.getAttribute('#mode-device', 'aria-pressed'), 'true', 'the mode switch stays in sight on a phone');
    assert.equal(await p.isVisible('#mode-device'), true);
  } finally {
    await p.close();
  }
});

test('every control is reachable by keyboard and named for screen readers; every word comes from the strings module', async () => {
  const p = await open(1280, 'light', '/#/people');
  try {
    // tabbing from the top reaches the mode switch, the views and the People view's drop zone
    const reached = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await p.keyboard.press('Tab');
      reached.add(await p.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute('href') || ''));
    }
    for (const id of ['mode-server', 'mode-device', '#/overview', '#/identify', 'enrol-name', 'enrol-files', 'enrol-folder', 'enrol-submit']) assert.ok(reached.has(id), `${id} reached by Tab: ${[...reached].join(' ')}`);
    const unnamed = await p.$$eval('input, button, a, canvas[role="img"]', (els) => els.filter((el) => {
      const id = el.id;
      return !(el.getAttribute('aria-label') || el.closest('label') || (id && document.querySelector(`label[for="${id}"]`)) || el.textContent?.trim());
    }).map((el) => el.id || el.outerHTML.slice(0, 60)));
    assert.deepEqual(unnamed, []);
    // the HTML names its words by key: no text of its own, and its only literal attributes are examples of input
    const html = await (await fetch(`${s.url}/`)).text();
    const body = html.slice(html.indexOf('<body>'), html.indexOf('</body>')).replace(/<!--[\s\S]*?-->/g, '');
    assert.deepEqual(body.replace(/<[^>]+>/g, ' ').trim().split(/\s+/).filter(Boolean), [], 'text in index.html');
    const literal = [...body.matchAll(/\s(placeholder|aria-label|title|alt)="([^"]*)"/g)].map((m) => m[2]);
    assert.deepEqual(literal, ['fp_…', './models/2d106det.onnx, ./models/1k3d68.onnx, ./models/genderage.onnx', 'rtsp://user:password@camera/stream']);
    // and every key the HTML names has its words in the module
    assert.deepEqual(await p.$$eval('[data-t], [data-t-placeholder], [data-t-aria-label], [data-t-title], [data-t-alt]', (els) => els.filter((el) => {
      const e = el as HTMLElement;
      return (e.dataset.t && !e.textContent) || (e.dataset.tPlaceholder && !e.getAttribute('placeholder')) || (e.dataset.tAriaLabel && !e.getAttribute('aria-label'));
    }).map((el) => el.outerHTML.slice(0, 80))), []);
  } finally {
    await p.close();
  }
});

test('the header picks a collection: its people, with the thumbnails the server kept, and its threshold', async () => {
  const { FaceprintClient } = await import('../src/client/index.js');
  const client = new FaceprintClient({ baseUrl: s.url });
  await client.createCollection('badges', { thumbnails: true, threshold: 0.35 });
  await client.enroll('howard', [1, 2].map((n) => ({ data: readFileSync(photo('howard', n)), name: `howard${n}.png` })), { create: true, collection: 'badges' });
  const p = await open(1280, 'light', '/#/people');
  try {
    assert.equal(await p.isVisible('#collection'), true);
    assert.deepEqual(await p.$$eval('#collection option', (os) => os.map((o) => o.textContent)), ['badges', 'default']);
    assert.equal(await p.inputValue('#collection'), 'default');
    await p.selectOption('#collection', 'badges');
    await p.waitForFunction(() => document.querySelectorAll('#subjects-list li').length === 1);
    // enrolled through the API, so this browser cut no picture: the one shown is the server's (112 px, not the page's 96)
    await p.waitForFunction(() => document.querySelector<HTMLImageElement>('#subjects-list li[data-subject="howard"] img.avatar')?.naturalWidth === 112);
    assert.match(await text(p, '#threshold-basis'), /^threshold 0\.35: collection badges's threshold/);
    await showView(p, 'identify');
    await p.setInputFiles('#identify-file', photo('howard', 3));
    await waitText(p, 'identify-result', /threshold/);
    assert.match(await text(p, '#identify-result'), /^howard 0\.\d\d \(threshold 0\.35, collection\)$/);
    // the choice lasts as long as the tab: a reload keeps it
    await p.reload();
    await p.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    assert.equal(await p.inputValue('#collection'), 'badges');
    await fits(p, 1280, 'server-1280-collection');
  } finally {
    await p.close();
  }
});
