// The enrolment review's limits, measured: crop statistics of real photos (bbt, 400 LFW people) and of blurred,
// dark, washed-out and flat versions of them (docs/gallery.md).   node --import tsx bench/review-limits.ts
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { FaceAnalyzer } from '../src/node/index.js';
import { cropStatistics, DEFAULT_REVIEW_LIMITS as L } from '../src/core/gallery/review.js';
import { DET_500M, MOBILEFACENET, SHARED } from '../test/fixtures.js';
const a = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
const files: string[] = [];
const bbt = join(SHARED, 'faces/identities/bbt');
for (const p of readdirSync(bbt)) for (const f of readdirSync(join(bbt, p))) files.push(join(bbt, p, f));
const lfw = join(SHARED, 'lfw/images');
for (const p of readdirSync(lfw).slice(0, 400)) for (const f of readdirSync(join(lfw, p)).slice(0, 1)) files.push(join(lfw, p, f));
const stats: Record<string, number[][]> = { orig: [], blur2: [], blur4: [], dark: [], bright: [], flat: [] };
for (const f of files) {
  const variants: Record<string, Buffer> = {
    orig: await sharp(f).png().toBuffer(),
    blur2: await sharp(f).blur(2).png().toBuffer(),
    blur4: await sharp(f).blur(4).png().toBuffer(),
    dark: await sharp(f).linear(0.15, 0).png().toBuffer(),
    bright: await sharp(f).linear(0.3, 200).png().toBuffer(),
    flat: await sharp(f).linear(0.12, 110).png().toBuffer(),
  };
  for (const [k, buf] of Object.entries(variants)) {
    const faces = await a.analyze(buf, { includeCrops: true, padRetry: true } as never);
    if (!faces[0]?.crop) continue;
    const s = cropStatistics(faces[0].crop);
    stats[k].push([s.sharpness, s.brightness, s.contrast]);
  }
}
const pct = (xs: number[], p: number) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor((s.length - 1) * p)]; };
for (const [k, rows] of Object.entries(stats)) {
  const col = (i: number) => rows.map((r) => r[i]);
  const refused = rows.filter(([sh, br, co]) => sh < L.minSharpness || br < L.minBrightness || br > L.maxBrightness || co < L.minContrast).length;
  console.log(k, rows.length, `refused by the standard limits ${refused} (${((100 * refused) / rows.length).toFixed(1)}%)`, 'sharp p1/p5/p50', [0.01, 0.05, 0.5].map((p) => pct(col(0), p).toFixed(1)).join('/'), 'bright p1/p50/p99', [0.01, 0.5, 0.99].map((p) => pct(col(1), p).toFixed(1)).join('/'), 'contrast p1/p5/p50', [0.01, 0.05, 0.5].map((p) => pct(col(2), p).toFixed(1)).join('/'));
}
await a.close();
