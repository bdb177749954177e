// Pictures of faces for the page: the aligned crop the recognizer sees, and small thumbnails of enrolled faces cut
// from the photos this page itself sent (the server keeps no pictures). Thumbnails stay in this browser's
// IndexedDB, by mode and face id, and go when the face or its person is removed here.
import { estimateNorm } from '../../src/core/alignment/norm-crop.js';
import { say } from './strings.js';

const bitmaps = new WeakMap<Blob, Promise<ImageBitmap>>();
/** One decode per photo, however many faces are cut from it. */
export function bitmapOf(photo: Blob): Promise<ImageBitmap> {
  let b = bitmaps.get(photo);
  if (!b) bitmaps.set(photo, (b = createImageBitmap(photo, { imageOrientation: 'from-image' })));
  return b;
}

/** The 112×112 crop ArcFace sees: the photo warped so the five landmarks sit on its template. */
export function alignedCanvas(photo: ImageBitmap, kps: readonly (readonly number[])[], size = 112): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const m = estimateNorm(kps.map(([x, y]) => [x, y] as const), size);
  const g = canvas.getContext('2d')!;
  // the core's matrix is [[a b c], [d e f]]; the canvas's setTransform takes (a, d, b, e, c, f)
  g.setTransform(m[0], m[3], m[1], m[4], m[2], m[5]);
  g.drawImage(photo, 0, 0);
  return canvas;
}

/** A square around a face's box, `widen` times its longer side, scaled to `size` (clamped to the photo). */
export function squareCanvas(photo: ImageBitmap, bbox: readonly number[], size = 96, widen = 1.3): HTMLCanvasElement {
  const [x1, y1, x2, y2] = bbox;
  const side = Math.max(x2 - x1, y2 - y1) * widen;
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const g = canvas.getContext('2d')!;
  g.fillStyle = '#808080';
  g.fillRect(0, 0, size, size);
  g.drawImage(photo, cx - side / 2, cy - side / 2, side, side, 0, 0, size, size);
  return canvas;
}

export const canvasBlob = (c: HTMLCanvasElement, quality = 0.85): Promise<Blob> =>
  new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error(say.noImage))), 'image/jpeg', quality));

/** A face cut widely enough from its photo that the detector finds it again (to enrol a face of a group photo). */
export async function faceFile(photo: Blob, bbox: readonly number[], name: string): Promise<File> {
  const c = squareCanvas(await bitmapOf(photo), bbox, 320, 2.2);
  return new File([await canvasBlob(c, 0.95)], name, { type: 'image/jpeg' });
}

interface Thumb {
  key: string;
  scope: string;
  subjectId: string;
  faceId: string;
  image: Blob;
}

let db: Promise<IDBDatabase> | null = null;
function open(): Promise<IDBDatabase> {
  db ??= new Promise((resolve, reject) => {
    const r = indexedDB.open('faceprint-page-thumbnails', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('thumbs', { keyPath: 'key' }).createIndex('subject', ['scope', 'subjectId']);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  return db;
}
function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
const store = async (mode: IDBTransactionMode) => (await open()).transaction('thumbs', mode).objectStore('thumbs');

/** Thumbnails of faces of one store: the server's (by origin) or this device's gallery. */
export class Thumbnails {
  constructor(readonly scope: string) {}

  /** Cuts and keeps each enrolled face's thumbnail from the photo that was sent. */
  async keep(subjectId: string, faces: { faceId: string; photo: Blob; bbox: readonly number[] }[]): Promise<void> {
    const cut = await Promise.all(faces.map(async (f) => ({ ...f, image: await canvasBlob(squareCanvas(await bitmapOf(f.photo), f.bbox)) })));
    const s = await store('readwrite');
    await Promise.all(cut.map((f) => request(s.put({ key: `${this.scope}|${f.faceId}`, scope: this.scope, subjectId, faceId: f.faceId, image: f.image } satisfies Thumb))));
  }
  async ofSubject(subjectId: string): Promise<Map<string, Blob>> {
    const all = await request((await store('readonly')).index('subject').getAll([this.scope, subjectId])) as Thumb[];
    return new Map(all.map((t) => [t.faceId, t.image]));
  }
  async forgetFace(faceId: string): Promise<void> {
    await request((await store('readwrite')).delete(`${this.scope}|${faceId}`));
  }
  async forgetSubject(subjectId: string): Promise<void> {
    const s = await store('readwrite');
    const keys = await request(s.index('subject').getAllKeys([this.scope, subjectId]));
    await Promise.all(keys.map((k) => request(s.delete(k))));
  }
}
