import type { RgbImage } from '../image.js';

const BINS = 8; // per channel: 512 colour cells

/**
 * A frame's colour histogram on a sparse grid of pixels (about 4,000 samples whatever the frame size): cheap
 * enough for every frame.
 */
export function frameHistogram(image: RgbImage): Float32Array {
  const hist = new Float32Array(BINS * BINS * BINS);
  const step = Math.max(1, Math.floor(Math.sqrt((image.width * image.height) / 4096)));
  let n = 0;
  const { data, width, height } = image;
  for (let y = step >> 1; y < height; y += step) {
    for (let x = step >> 1; x < width; x += step) {
      const o = (y * width + x) * 3;
      hist[((data[o] >> 5) << 6) | ((data[o + 1] >> 5) << 3) | (data[o + 2] >> 5)]++;
      n++;
    }
  }
  for (let i = 0; i < hist.length; i++) hist[i] /= n;
  return hist;
}

/** Half the L1 distance between two normalised histograms: 0 the same colours, 1 none in common. */
export function histogramDistance(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i] - b[i]);
  return d / 2;
}
