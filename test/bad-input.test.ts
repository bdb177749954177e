import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { FaceAnalyzer, FaceprintError, decodeImage, cosine } from '../src/node/index.js';
import { DET_500M, MOBILEFACENET, SHARED } from './fixtures.js';

const FACE = join(SHARED, 'lfw/images/Lindsay_Davenport/Lindsay_Davenport_0005.jpg');
const tmp = mkdtempSync(join(tmpdir(), 'faceprint-bad-'));
let fa: FaceAnalyzer;
let reference: Float32Array;

before(async () => {
  fa = await FaceAnalyzer.create({ detector: DET_500M, recognizer: MOBILEFACENET });
  reference = (await fa.analyze(FACE))[0].embedding!;
});
after(() => fa.close());

async function expectCode(input: string | Uint8Array, code: string): Promise<void> {
  await assert.rejects(fa.analyze(input), (e: unknown) => {
    assert.ok(e instanceof FaceprintError, `not a FaceprintError: ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** CRC-32 (PNG chunks), for hand-built headers. */
function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

test('zero bytes → IMAGE_EMPTY', async () => {
  await expectCode(new Uint8Array(0), 'IMAGE_EMPTY');
  const p = join(tmp, 'empty.jpg');
  writeFileSync(p, '');
  await expectCode(p, 'IMAGE_EMPTY');
});

test('a missing file → IMAGE_NOT_FOUND', async () => {
  await expectCode(join(tmp, 'nope.jpg'), 'IMAGE_NOT_FOUND');
});

test('a text file → IMAGE_UNSUPPORTED', async () => {
  const p = join(tmp, 'notes.jpg');
  writeFileSync(p, 'these are not the pixels you are looking for\n'.repeat(20));
  await expectCode(p, 'IMAGE_UNSUPPORTED');
});

test('a truncated JPEG → IMAGE_CORRUPT', async () => {
  const bytes = readFileSync(FACE);
  await expectCode(bytes.subarray(0, Math.floor(bytes.length / 2)), 'IMAGE_CORRUPT');
});

test('a 1×1 image → no faces, no crash', async () => {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer();
  assert.deepEqual(await fa.analyze(png), []);
  const sliver = await sharp({ create: { width: 3000, height: 1, channels: 3, background: '#808080' } }).png().toBuffer();
  assert.deepEqual(await fa.analyze(sliver), []);
});

test('a PNG whose header claims 30000×30000 → IMAGE_TOO_LARGE before any decoding', async () => {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(30000, 0);
  ihdr.writeUInt32BE(30000, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
  const rssBefore = process.memoryUsage().rss;
  await expectCode(png, 'IMAGE_TOO_LARGE');
  assert.ok(process.memoryUsage().rss - rssBefore < 200 * 2 ** 20, 'memory stayed bounded');
});

test('an animated GIF → its first frame is analysed', async () => {
  const face = await sharp(FACE).resize(250, 250).png().toBuffer();
  const gray = await sharp({ create: { width: 250, height: 250, channels: 3, background: '#777' } }).png().toBuffer();
  const gif = await sharp([face, gray], { join: { animated: true } }).gif().toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 2);
  const faces = await fa.analyze(gif);
  assert.equal(faces.length, 1);
  // GIF palette quantisation changes pixels, yet it is still the same person.
  assert.ok(cosine(faces[0].embedding!, reference) > 0.6);
});

test('a CMYK JPEG → converted to RGB and analysed', async () => {
  const cmyk = await sharp(FACE).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const img = await decodeImage(cmyk);
  assert.equal(img.data.length, 250 * 250 * 3);
  const faces = await fa.analyze(img);
  assert.equal(faces.length, 1);
  assert.ok(cosine(faces[0].embedding!, reference) > 0.9);
});

test('a 16-bit PNG → reduced to 8 bits by the high byte, as OpenCV does', async () => {
  const eight = await decodeImage(FACE);
  // Hand-built RGB 16-bit PNG: sample = v·256 + (low byte noise), so the high byte is the 8-bit image.
  const rows: Buffer[] = [];
  for (let y = 0; y < 250; y++) {
    const row = Buffer.alloc(1 + 250 * 6);
    for (let i = 0; i < 250 * 3; i++) row.writeUInt16BE(eight.data[y * 750 + i] * 256 + ((i * 89) & 255), 1 + 2 * i);
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(250, 0);
  ihdr.writeUInt32BE(250, 4);
  ihdr[8] = 16;
  ihdr[9] = 2;
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
  assert.equal((await sharp(png).metadata()).depth, 'ushort');
  const decoded = await decodeImage(png);
  assert.deepEqual(decoded.data, eight.data);
  const faces = await fa.analyze(png);
  assert.ok(cosine(faces[0].embedding!, reference) > 0.99999);
});

test('RGBA and gray inputs become 3-channel RGB; raw pixels are accepted', async () => {
  const rgba = await sharp(FACE).ensureAlpha(0.5).png().toBuffer();
  const fromRgba = await decodeImage(rgba);
  assert.deepEqual(fromRgba.data, (await decodeImage(FACE)).data);
  const gray = await sharp(FACE).grayscale().png().toBuffer();
  const g = await decodeImage(gray);
  assert.equal(g.data[0], g.data[1]);
  assert.equal(g.data[1], g.data[2]);
  const raw = await decodeImage(FACE);
  const faces = await fa.analyze({ width: raw.width, height: raw.height, data: raw.data, channels: 3 });
  assert.equal(faces.length, 1);
  await assert.rejects(fa.analyze({ width: 10, height: 10, data: new Uint8Array(7) }), { code: 'INVALID_INPUT' });
});

test('a configurable pixel limit', async () => {
  const small = await FaceAnalyzer.create({ detector: DET_500M, pixelLimit: 10_000 });
  try {
    await assert.rejects(small.analyze(FACE), { code: 'IMAGE_TOO_LARGE' });
  } finally {
    await small.close();
  }
});
