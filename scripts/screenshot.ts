// The README's picture of the page: a real server (fixture models, single-user), two people enrolled through the
// page, a group photo analysed and a photo identified, captured by Debian's Chromium into docs/page.png.
//   node --import tsx scripts/screenshot.ts
import { join } from 'node:path';
import { launchChromium, enrolThroughPage } from '../test/helpers/chromium.js';
import { startTestServer } from '../test/helpers/server.js';
import { ROOT } from '../test/helpers/cli.js';
import { SHARED } from '../test/fixtures.js';

const BBT = join(SHARED, 'faces/identities/bbt');
const photo = (p: string, n: number) => join(BBT, p, `${p}${n}.png`);
const server = await startTestServer({ singleUser: true });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(server.url + '/');
  await page.waitForSelector('body[data-ready="true"]');
  for (const person of ['amy', 'penny']) await enrolThroughPage(page, person, [1, 2, 3].map((n) => photo(person, n)));
  await page.setInputFiles('#identify-file', photo('penny', 5));
  await page.waitForFunction(() => /penny|unknown/.test(document.getElementById('identify-result')!.textContent ?? ''));
  await page.setInputFiles('#analyze-file', join(SHARED, 'faces/groups/insightface/t1.jpg'));
  await page.waitForFunction(() => /faces? in/.test(document.getElementById('analyze-result')!.textContent ?? ''));
  await page.screenshot({ path: join(ROOT, 'docs/page.png'), fullPage: false });
  console.log('docs/page.png written');
} finally {
  await browser.close();
  await server.close();
}
