import sharp from 'sharp';
import type { RgbImage } from '../../core/image.js';
import type { TrackedFace } from '../../core/video/video-analyzer.js';

type Rgb = [number, number, number];
const KNOWN: Rgb = [40, 200, 60];
const UNKNOWN: Rgb = [255, 150, 0];

/** A rendered label: white text on the box's colour, as RGBA rows. */
interface Label {
  width: number;
  height: number;
  rgba: Buffer;
}

/**
 * Draws tracked faces onto frames: a box per track (green: named, orange: unknown; thinner while predicted) and
 * a label with the track id, name and score. Labels are rendered once by sharp (Pango) and cached: they change
 * only when a track's label does.
 */
export class FrameAnnotator {
  private readonly labels = new Map<string, Promise<Label>>();

  async draw(image: RgbImage, faces: readonly TrackedFace[]): Promise<void> {
    for (const f of faces) {
      const colour = f.subject ? KNOWN : UNKNOWN;
      drawBox(image, f.bbox, colour, f.detected ? 3 : 1);
      const text = `#${f.trackId} ${f.subject ? f.subject.name : 'unknown'}${f.score !== null ? ` ${f.score.toFixed(2)}` : ''}`;
      const label = await this.label(text);
      blitLabel(image, label, Math.round(f.bbox[0]), Math.round(f.bbox[1]) - label.height - 2, colour);
    }
  }

  label(text: string): Promise<Label> {
    let l = this.labels.get(text);
    if (!l) {
      l = sharp({ text: { text: escapeMarkup(text), font: 'sans bold', dpi: 110, rgba: true } })
        .raw()
        .toBuffer({ resolveWithObject: true })
        .then(({ data, info }) => ({ width: info.width, height: info.height, rgba: data }));
      this.labels.set(text, l);
    }
    return l;
  }
}

/** Pango markup: names are text, not markup. */
function escapeMarkup(text: string): string {
  return text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

export function drawBox(image: RgbImage, bbox: readonly number[], colour: Rgb, thickness: number): void {
  const { width, height, data } = image;
  const x1 = Math.max(0, Math.round(bbox[0]));
  const y1 = Math.max(0, Math.round(bbox[1]));
  const x2 = Math.min(width - 1, Math.round(bbox[2]));
  const y2 = Math.min(height - 1, Math.round(bbox[3]));
  const fill = (xa: number, ya: number, xb: number, yb: number) => {
    for (let y = Math.max(0, ya); y <= Math.min(height - 1, yb); y++) {
      for (let x = Math.max(0, xa); x <= Math.min(width - 1, xb); x++) {
        const o = (y * width + x) * 3;
        data[o] = colour[0];
        data[o + 1] = colour[1];
        data[o + 2] = colour[2];
      }
    }
  };
  if (x2 < x1 || y2 < y1) return;
  fill(x1, y1, x2, y1 + thickness - 1);
  fill(x1, y2 - thickness + 1, x2, y2);
  fill(x1, y1, x1 + thickness - 1, y2);
  fill(x2 - thickness + 1, y1, x2, y2);
}

/** The label on a band of the box's colour, clipped to the frame (below the box's top edge when above is off-frame). */
function blitLabel(image: RgbImage, label: Label, x0: number, y0: number, colour: Rgb): void {
  const { width, height, data } = image;
  const top = y0 < 0 ? y0 + label.height + 4 : y0;
  for (let y = 0; y < label.height; y++) {
    const fy = top + y;
    if (fy < 0 || fy >= height) continue;
    for (let x = -2; x < label.width + 2; x++) {
      const fx = x0 + x;
      if (fx < 0 || fx >= width) continue;
      const o = (fy * width + fx) * 3;
      const a = x >= 0 && x < label.width ? label.rgba[(y * label.width + x) * 4 + 3] / 255 : 0;
      for (let c = 0; c < 3; c++) data[o + c] = Math.round(colour[c] * (1 - a) + 255 * a);
    }
  }
}

/**
 * The square around a face's box, widened by `widen` (1.2: a fifth more) and clipped to the image: what a
 * contact sheet tile or an event's face is cut from.
 */
export function faceSquare(width: number, height: number, bbox: readonly number[], widen: number): { left: number; top: number; width: number; height: number } {
  const side = Math.max(bbox[2] - bbox[0], bbox[3] - bbox[1]) * widen;
  const left = Math.max(0, Math.round((bbox[0] + bbox[2]) / 2 - side / 2));
  const top = Math.max(0, Math.round((bbox[1] + bbox[3]) / 2 - side / 2));
  return { left, top, width: Math.max(1, Math.min(width - left, Math.round(side))), height: Math.max(1, Math.min(height - top, Math.round(side))) };
}
