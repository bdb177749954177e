import type { PageFace } from './backend.js';

/** Box colour: pure green, so a screenshot test can find the boxes by colour. */
export const BOX_COLOUR = 'rgb(0, 255, 0)';
/** A face identify found no one for: pure orange and dashed, unlike a match. */
export const UNKNOWN_COLOUR = 'rgb(255, 128, 0)';
const LANDMARK_COLOURS = ['#ff3b30', '#ff9500', '#ffcc00', '#5ac8fa', '#af52de'];
/** The 106 landmarks: pure magenta, so a screenshot test can count their pixels. */
export const LANDMARK_106_COLOUR = 'rgb(255, 0, 255)';

/** How wide a picture may be drawn in its view: the view's width, up to 960 px. */
export const fitWidth = (canvas: HTMLCanvasElement): number => Math.min(960, canvas.parentElement?.clientWidth || 640);

/** Draws the image scaled to fit `maxWidth`, with every face's box, landmarks and an optional label. */
export async function drawFaces(canvas: HTMLCanvasElement, image: Blob | ImageBitmap, faces: readonly Pick<PageFace, 'bbox' | 'kps' | 'landmark2d106'>[], labels: string[] = [], maxWidth = 640, unknown: boolean[] = []): Promise<void> {
  const bitmap = image instanceof Blob ? await createImageBitmap(image, { imageOrientation: 'from-image' }) : image;
  const scale = Math.min(1, maxWidth / bitmap.width);
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const g = canvas.getContext('2d')!;
  g.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  g.lineWidth = 3;
  g.font = 'bold 15px system-ui, sans-serif';
  faces.forEach((f, i) => {
    const [x1, y1, x2, y2] = f.bbox.map((v) => v * scale);
    const colour = unknown[i] ? UNKNOWN_COLOUR : BOX_COLOUR;
    g.strokeStyle = colour;
    g.setLineDash(unknown[i] ? [8, 5] : []);
    g.strokeRect(x1, y1, x2 - x1, y2 - y1);
    g.setLineDash([]);
    f.kps.forEach(([x, y], p) => {
      g.fillStyle = LANDMARK_COLOURS[p % LANDMARK_COLOURS.length];
      g.beginPath();
      g.arc(x * scale, y * scale, 3, 0, 2 * Math.PI);
      g.fill();
    });
    // the 106-point head's landmarks: small dots, one colour
    g.fillStyle = LANDMARK_106_COLOUR;
    for (const [x, y] of f.landmark2d106 ?? []) g.fillRect(Math.round(x * scale) - 1, Math.round(y * scale) - 1, 2, 2);
    const label = labels[i];
    if (label) {
      const w = g.measureText(label).width + 8;
      const lx = labelLeft(x1, w, canvas.width);
      g.fillStyle = colour;
      g.fillRect(lx, Math.max(0, y1 - 20), w, 20);
      g.fillStyle = '#000';
      g.fillText(label, lx + 4, Math.max(15, y1 - 5));
    }
  });
}

/**
 * Where a face's label starts: above its box, moved left as far as needed to stay inside the picture (a face at
 * the right edge had its label cut: "unknow").
 *   labelLeft(600, 72, 640) === 568; labelLeft(100, 72, 640) === 100
 */
export function labelLeft(boxLeft: number, labelWidth: number, canvasWidth: number): number {
  return Math.max(0, Math.min(boxLeft, canvasWidth - labelWidth));
}

/** A photo scaled to fit `maxWidth`, with nothing drawn on it. */
export async function drawPhoto(canvas: HTMLCanvasElement, image: Blob, maxWidth: number): Promise<void> {
  await drawFaces(canvas, image, [], [], maxWidth);
}

/** Empties a canvas (an error must not leave the previous result on screen). */
export function clearCanvas(canvas: HTMLCanvasElement): void {
  canvas.width = 0;
  canvas.height = 0;
}
