import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { decodeImage, estimateNorm, letterbox, warpAffine, resizeLinear, type Affine2x3 } from '../src/node/index.js';
import { GOLDEN_DIR, golden, sha256 } from './fixtures.js';

const decodedPng = (p: string) => decodeImage(join(GOLDEN_DIR, p));

function toBgrCanvas(resized: { width: number; height: number; data: Uint8Array }, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < resized.height; y++) {
    for (let x = 0; x < resized.width; x++) {
      const s = (y * resized.width + x) * 3;
      const o = (y * w + x) * 3;
      out[o] = resized.data[s + 2];
      out[o + 1] = resized.data[s + 1];
      out[o + 2] = resized.data[s];
    }
  }
  return out;
}

test('letterbox is bit-exact with OpenCV for all 40 golden images', async () => {
  const wrong: string[] = [];
  for (const g of golden.images) {
    const img = await decodedPng(g.decoded.png);
    const box = letterbox(img, 640, 640);
    assert.deepEqual([box.resized.width, box.resized.height], g.det_input.resized_wh, g.id);
    assert.equal(box.scale, g.det_input.det_scale, g.id);
    if (sha256(toBgrCanvas(box.resized, 640, 640)) !== g.det_input.sha256_bgr) wrong.push(g.id);
  }
  assert.deepEqual(wrong, []);
});

test('resize: identity is a copy, exact 2× takes the area path, and upscaling stays in range', () => {
  const data = new Uint8Array(4 * 2 * 3).map((_, i) => (i * 37) % 256);
  const img = { width: 4, height: 2, data };
  assert.deepEqual(resizeLinear(img, 4, 2).data, data);
  const half = resizeLinear(img, 2, 1);
  // (a + b + c + d + 2) >> 2 over each 2×2 block, per channel
  const expect0 = (data[0] + data[3] + data[12] + data[15] + 2) >> 2;
  assert.equal(half.data[0], expect0);
  const up = resizeLinear(img, 9, 5);
  assert.equal(up.data.length, 9 * 5 * 3);
  // bilinear weights are convex: every output value lies within its channel's input range, and the corner
  // pixels (whose source coordinates clamp to the corners) are copied
  for (let c = 0; c < 3; c++) {
    const channel = (d: Uint8Array) => Array.from(d).filter((_, i) => i % 3 === c);
    const [lo, hi] = [Math.min(...channel(data)), Math.max(...channel(data))];
    for (const v of channel(up.data)) assert.ok(v >= lo && v <= hi, `channel ${c}: ${v} outside ${lo}..${hi}`);
    assert.equal(up.data[c], data[c], 'top-left corner');
  }
});

test('warpAffine with the golden matrices gives the golden crops bit for bit (63 faces)', async () => {
  let n = 0;
  for (const g of golden.images) {
    if (!g.faces.length) continue;
    const img = await decodedPng(g.decoded.png);
    for (const f of g.faces) {
      const m = f.align_M.flat() as unknown as Affine2x3;
      assert.equal(sha256(warpAffine(img, m, 112, 112).data), f.crop.sha256_rgb, `${g.id} crop`);
      n++;
    }
  }
  assert.equal(n, 63);
});

test('estimateNorm reproduces the golden alignment matrices (skimage float32 Umeyama)', () => {
  let worst = 0;
  let exact = 0;
  for (const g of golden.images) {
    for (const f of g.faces) {
      const m = estimateNorm(f.kps as [number, number][]);
      const d = Math.max(...f.align_M.flat().map((v, i) => Math.abs(v - m[i])));
      worst = Math.max(worst, d);
      if (d < 1e-9) exact++;
    }
  }
  assert.ok(worst < 2e-4, `worst |ΔM| ${worst}`);
  // Not only within tolerance: the same float32 arithmetic gives the same matrix.
  assert.equal(exact, 63);
});

test('estimateNorm supports 112·k and 128·k crops and rejects other sizes', () => {
  const kps = golden.images[0].faces[0].kps as [number, number][];
  const m112 = estimateNorm(kps, 112);
  const m224 = estimateNorm(kps, 224);
  assert.ok(Math.abs(m224[0] / m112[0] - 2) < 1e-6);
  const m128 = estimateNorm(kps, 128);
  assert.ok(Math.abs(m128[2] - m112[2] - 8) < 1e-3);
  assert.throws(() => estimateNorm(kps, 100), { name: 'FaceprintError', code: 'INVALID_INPUT' });
});

test('the fused detector blob equals letterbox + blob for every golden image', async () => {
  const { letterboxBlob, letterboxToBlob, normalisationLut } = await import('../src/core/detection/letterbox.js');
  const lut = normalisationLut(127.5, 128);
  let fused = 0;
  for (const g of golden.images) {
    const img = await decodedPng(g.decoded.png);
    const box = letterbox(img, 640, 640);
    const direct = letterboxToBlob(img, 640, 640, lut, new Float32Array(640 * 640 * 3).fill(NaN));
    assert.equal(direct.scale, box.scale);
    assert.deepEqual(direct.blob, letterboxBlob(box, lut), g.id);
    if (img.width === 2 * box.resized.width && img.height === 2 * box.resized.height) fused++;
  }
  assert.ok(fused >= 1, 'at least one golden image takes the exact-2× path');
});
