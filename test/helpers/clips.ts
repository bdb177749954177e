// Test clips made from the fixture photos: faces placed on a background frame by frame (ground truth known by
// construction), encoded by the system's ffmpeg into H.264 MP4.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import sharp from 'sharp';
import { SHARED } from '../fixtures.js';

export const WIDTH = 640;
export const HEIGHT = 360;
export const FPS = 30;

/** A face on a frame: whose photo, where its top-left corner is, how tall it is drawn. */
export interface Placement {
  person: string;
  x: number;
  y: number;
  size: number;
}

/** A frame: its background colour and faces (later ones drawn over earlier ones), and boxes hiding parts. */
export interface FrameSpec {
  background: [number, number, number];
  faces: Placement[];
  occluders?: { x: number; y: number; w: number; h: number }[];
}

const PHOTO: Record<string, string> = {
  amy: 'faces/identities/bbt/amy/amy5.png',
  penny: 'faces/identities/bbt/penny/penny5.png',
  raj: 'faces/identities/bbt/raj/raj5.png',
};

const rendered = new Map<string, Promise<{ data: Buffer; width: number; height: number }>>();

/** A photo scaled to a height, cached by size. */
function photo(person: string, size: number): Promise<{ data: Buffer; width: number; height: number }> {
  const key = `${person}@${size}`;
  let p = rendered.get(key);
  if (!p) {
    p = sharp(join(SHARED, PHOTO[person])).removeAlpha().resize({ height: size }).raw().toBuffer({ resolveWithObject: true })
      .then(({ data, info }) => ({ data, width: info.width, height: info.height }));
    rendered.set(key, p);
  }
  return p;
}

export async function renderFrame(spec: FrameSpec): Promise<Buffer> {
  const frame = Buffer.alloc(WIDTH * HEIGHT * 3);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      // a gentle gradient: a real background, not a flat field
      const o = (y * WIDTH + x) * 3;
      const shade = (x + y) / (WIDTH + HEIGHT) - 0.5;
      for (let c = 0; c < 3; c++) frame[o + c] = Math.max(0, Math.min(255, Math.round(spec.background[c] * (1 + 0.3 * shade))));
    }
  }
  for (const f of spec.faces) {
    const p = await photo(f.person, Math.round(f.size));
    const x0 = Math.round(f.x);
    const y0 = Math.round(f.y);
    for (let y = 0; y < p.height; y++) {
      const fy = y0 + y;
      if (fy < 0 || fy >= HEIGHT) continue;
      for (let x = 0; x < p.width; x++) {
        const fx = x0 + x;
        if (fx < 0 || fx >= WIDTH) continue;
        p.data.copy(frame, (fy * WIDTH + fx) * 3, (y * p.width + x) * 3, (y * p.width + x) * 3 + 3);
      }
    }
  }
  for (const o of spec.occluders ?? []) {
    for (let y = Math.max(0, o.y); y < Math.min(HEIGHT, o.y + o.h); y++) frame.fill(90, (y * WIDTH + Math.max(0, o.x)) * 3, (y * WIDTH + Math.min(WIDTH, o.x + o.w)) * 3);
  }
  return frame;
}

/** Encodes the frames as an MP4 (libx264, yuv420p) at 30 fps. */
export async function makeClip(path: string, frames: readonly FrameSpec[]): Promise<void> {
  const proc = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${WIDTH}x${HEIGHT}`, '-r', String(FPS), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', path], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => { err += d; });
  const done = new Promise<void>((resolve, reject) => proc.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg: ${err}`)))));
  for (const f of frames) {
    if (!proc.stdin!.write(await renderFrame(f))) await new Promise<void>((r) => proc.stdin!.once('drain', () => r()));
  }
  proc.stdin!.end();
  await done;
}

const GREY: [number, number, number] = [120, 130, 140];
const lerp = (a: number, b: number, t: number) => a + (b - a) * t;

/** The test scenes, frame by frame. */
export const SCENES = {
  /** amy walks left to right and comes closer (120 → 170 px). */
  walk: (): FrameSpec[] => Array.from({ length: 90 }, (_, i) => ({ background: GREY, faces: [{ person: 'amy', x: lerp(30, 430, i / 89), y: lerp(110, 90, i / 89), size: lerp(120, 170, i / 89) }] })),
  /** amy left → right, penny right → left, crossing at frame 45 (penny in front). */
  cross: (): FrameSpec[] => Array.from({ length: 90 }, (_, i) => ({
    background: GREY,
    faces: [{ person: 'amy', x: lerp(20, 500, i / 89), y: 110, size: 130 }, { person: 'penny', x: lerp(500, 20, i / 89), y: 120, size: 130 }],
  })),
  /** amy leaves on the right (frame ~40), is gone, comes back from the right at frame 75. */
  leaveAndReturn: (): FrameSpec[] => Array.from({ length: 120 }, (_, i) => ({
    background: GREY,
    faces: i < 45 ? [{ person: 'amy', x: lerp(300, 700, i / 44), y: 110, size: 130 }] : i < 75 ? [] : [{ person: 'amy', x: lerp(700, 300, (i - 75) / 44), y: 110, size: 130 }],
  })),
  /** A hard cut at frame 45: amy in a grey room, then penny in a blue one, same place on screen. */
  cut: (): FrameSpec[] => Array.from({ length: 90 }, (_, i) => (i < 45
    ? { background: GREY, faces: [{ person: 'amy', x: 250, y: 110, size: 140 }] }
    : { background: [40, 60, 170] as [number, number, number], faces: [{ person: 'penny', x: 250, y: 110, size: 140 }] })),
  /**
   * amy drifts slowly; a board passes in front at walking pace (30 px a frame: in over frames 25–39 from the
   * left, out over 50–64 to the right) and hides her face completely for frames 40–49 — as something passing in
   * front of a camera does (a board covering a third of the picture from one frame to the next is, by content, a
   * shot cut).
   */
  occlusion: (): FrameSpec[] => Array.from({ length: 90 }, (_, i) => {
    const x = i < 40 ? lerp(-300, 150, (i - 24) / 15) : i < 50 ? 150 : lerp(150, 640, (i - 49) / 15);
    return {
      background: GREY,
      faces: [{ person: 'amy', x: lerp(200, 300, i / 89), y: 110, size: 140 }],
      occluders: i >= 25 && i < 65 ? [{ x: Math.round(x), y: 60, w: 300, h: 260 }] : [],
    };
  }),
};
