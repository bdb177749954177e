// The README's pictures of the page: a real server (fixture models, single-user), the bbt people
// enrolled from their folder through the People view, the cast photo identified; captured by Debian's Chromium
// at desktop width into docs/page.png and at phone width (dark) into docs/page-phone.png.
//   node --import tsx scripts/screenshot.ts
import { join } from 'node:path';
import { ENROL_DONE, launchChromium, showView } from '../test/helpers/chromium.js';
import { startTestServer } from '../test/helpers/server.js';
import { ROOT } from '../test/helpers/cli.js';
import { SHARED } from '../test/fixtures.js';

// no heads: the fixtures' heads are random-weight replicas, whose landmarks and ages would mislead in a picture
const server = await startTestServer({ singleUser: true });
const browser = await launchChromium();
try {
  const profile = await browser.newContext();
  const page = await profile.newPage();
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.goto(server.url + '/');
  await page.waitForSelector('body[data-ready="true"]');
  await showView(page, 'people');
  await page.setInputFiles('#enrol-folder', join(SHARED, 'faces/identities/bbt'));
  await page.click('#enrol-submit');
  await page.waitForFunction((done) => new RegExp(done).test(document.getElementById('enrol-result')!.textContent ?? ''), ENROL_DONE.source, { timeout: 120_000 });
  await showView(page, 'identify');
  await page.setInputFiles('#identify-file', join(SHARED, 'faces/groups/faceapi_bbt/bbt1.jpg'));
  await page.waitForFunction(() => /threshold/.test(document.getElementById('identify-result')!.textContent ?? ''));
  await page.screenshot({ path: join(ROOT, 'docs/page.png') });
  // the phone: same profile (the faces' thumbnails), dark theme, the People view
  const phone = await profile.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.emulateMedia({ colorScheme: 'dark' });
  await phone.goto(server.url + '/#/people');
  await phone.waitForSelector('body[data-ready="true"]');
  await phone.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#subjects-list img.avatar')].filter((i) => i.naturalWidth > 0).length === 8);
  await phone.screenshot({ path: join(ROOT, 'docs/page-phone.png') });
  console.log('docs/page.png and docs/page-phone.png written');
} finally {
  await browser.close();
  await server.close();
}
