// Debian's Chromium (apt-get install chromium; `.ci/run` installs it), driven by playwright-core: never a
// downloaded browser. The flags keep it off this machine's closed network.
import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';

export const CHROMIUM = process.env.FACEPRINT_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium (or set FACEPRINT_CHROMIUM)`);
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
}

/** Pixels of the box colour (pure green, give or take the browser's scaling and antialiasing) in a PNG screenshot. */
export async function greenPixels(png: Buffer): Promise<number> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) if (data[i] < 40 && data[i + 1] > 215 && data[i + 2] < 40) n++;
  return n;
}

/** The page's views by route: #/detect shows the section #analyze, and so on. */
const SECTIONS = { overview: 'overview', detect: 'analyze', compare: 'compare', people: 'people', identify: 'identify', group: 'clusters', cameras: 'cameras', system: 'system', models: 'models' } as const;
export type ViewName = keyof typeof SECTIONS;

/** Opens a view of the page by its URL (#/people, …) and waits until it is the one shown. */
export async function showView(page: Page, view: ViewName, ...args: string[]): Promise<void> {
  await page.evaluate((hash) => { location.hash = hash; }, `#/${[view, ...args].join('/')}`);
  await page.waitForSelector(`section#${SECTIONS[view]}:not([hidden])`);
}

/** The outcome of an enrolment: its summary, or an error (CODE: words); not the progress line. */
export const ENROL_DONE = /^(enrolled |[A-Z_]+: |give a name)/;

/** Enrols a person through the People view's form and waits for the outcome line; returns it. */
export async function enrolThroughPage(page: Page, person: string, photos: string[]): Promise<string> {
  await showView(page, 'people');
  await page.fill('#enrol-name', person);
  await page.setInputFiles('#enrol-files', photos);
  await page.click('#enrol-submit');
  await page.waitForFunction((done) => new RegExp(done).test(document.getElementById('enrol-result')!.textContent ?? ''), ENROL_DONE.source);
  return (await page.textContent('#enrol-result')) ?? '';
}
